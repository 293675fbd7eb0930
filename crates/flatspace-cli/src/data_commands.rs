//! `import`, `ls`, `export`: moving tables in and out of the store.
//!
//! An import reads and checks the whole file before it touches the store, so bad input never
//! changes what is stored; the store's commit protocol covers a crash while writing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, Float32Array};
use flatspace_store::{ProjectionStatus, Store};
use flatspace_table::{
    ImportOptions, append_columns, export_csv, export_parquet, import_path, infer_schema,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file to import: .csv, .tsv, .parquet, .npy, a TensorBoard tensor .tsv, a
    /// projector_config.pbtxt, or a folder holding one.
    pub file: PathBuf,
    /// Labels for a .npy or tensor .tsv: a 1-D .npy, or a text file with one label per line (or a
    /// header line and tab-separated columns, as TensorBoard metadata).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Project to import into (created if new).
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Run to import into (created if new).
    #[arg(long, default_value = "import")]
    pub run: String,
    /// Table key [default: the file name without its extension].
    #[arg(long)]
    pub key: Option<String>,
    /// Step to log the table at; importing the same key and step again makes a new version.
    #[arg(long, default_value_t = 0)]
    pub step: i64,
}

#[derive(clap::Args, Debug)]
pub struct LsArgs {
    /// Print JSON (projects with their runs and tables) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Parquet,
    Csv,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The table version to export: its id (see `flatspace ls`) or its key (the newest version).
    #[arg(required_unless_present = "table", conflicts_with = "table")]
    pub table_id: Option<String>,
    /// The table version to export, as an id or a key (same as the positional argument).
    #[arg(long, value_name = "KEY_OR_ID")]
    pub table: Option<String>,
    /// Output format [default: from the output file's extension].
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// File to write.
    #[arg(short, long, visible_alias = "out")]
    pub output: PathBuf,
    /// Leave out the coordinates of finished projections (added as `<algorithm>_<id>_x`, `_y`, ...
    /// columns by default, when neither --selection nor --projection is given).
    #[arg(long)]
    pub no_projections: bool,
    /// Export only the rows of this saved selection (saved in the UI); the columns are then
    /// `row_id`, the coordinates of --projection if given, and every table column.
    #[arg(long, value_name = "NAME")]
    pub selection: Option<String>,
    /// Add this projection's coordinates as `x`, `y`[, `z`] after `row_id` (and export with a
    /// `row_id` column, as --selection does).
    #[arg(long, value_name = "ID")]
    pub projection: Option<i64>,
}

/// A progress bar that stays hidden unless the work takes longer than a second.
fn delayed_bar(len: Option<u64>, message: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden())
            .with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(message.to_string());
    let shown = bar.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if shown.is_finished() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(120));
        }
    });
    bar
}

fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    Store::open(data_dir).with_context(|| format!("opening the store at {}", data_dir.display()))
}

fn default_key(file: &Path) -> String {
    let file = if file
        .file_name()
        .is_some_and(|n| n == "projector_config.pbtxt")
    {
        file.parent().unwrap_or(file)
    } else {
        file
    };
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "table".into())
}

pub fn import(data_dir: &Path, args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = delayed_bar(Some(0), &format!("reading {}", args.file.display()));
    let report = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let options = ImportOptions {
        labels: args.labels.as_deref(),
        progress: Some(&report),
    };
    let imported = import_path(&args.file, &options);
    bar.finish_and_clear();
    let imported = imported.context("import failed")?;
    let schema = infer_schema(&imported.batch);
    let kinds: Vec<_> = schema.columns.iter().map(|c| c.kind).collect();
    let key = args.key.clone().unwrap_or_else(|| default_key(&args.file));

    let spinner = delayed_bar(None, "writing to the store");
    let result = (|| -> anyhow::Result<_> {
        let store = open_store(data_dir)?;
        let items: Vec<(&[u8], &str)> = imported
            .media
            .iter()
            .map(|blob| (blob.bytes.as_slice(), blob.content_type.as_str()))
            .collect();
        let hashes = store.put_media_many(&items)?;
        for (blob, hash) in imported.media.iter().zip(&hashes) {
            if *hash != blob.hash {
                bail!(
                    "the store hashed a media file as {hash}, the importer as {}",
                    blob.hash
                );
            }
        }
        let project = store.get_or_create_project(&args.project)?;
        let run = store.get_or_create_run(project, &args.run, &serde_json::json!({}))?;
        let info = store.write_table(
            run,
            &key,
            args.step,
            std::slice::from_ref(&imported.batch),
            &kinds,
        )?;
        Ok(info)
    })();
    spinner.finish_and_clear();
    let info = result.with_context(|| {
        format!(
            "cannot store the table imported from {}",
            args.file.display()
        )
    })?;

    let embedding = match &schema.defaults.embedding {
        Some(fields) if fields.columns.len() == 1 => format!(
            ", embedding '{}'{}",
            fields.columns[0],
            schema
                .column(&fields.columns[0])
                .and_then(|c| match c.kind {
                    flatspace_table::ColumnKind::Embedding { dim } =>
                        Some(format!(" ({dim} dims)")),
                    _ => None,
                })
                .unwrap_or_default()
        ),
        Some(fields) => format!(", embedding of {} numeric columns", fields.columns.len()),
        None => ", no embedding found".into(),
    };
    println!(
        "imported {} as table {} ({}/{}/{} step {} v{}): {} rows × {} columns{embedding}{}{} in {:.1}s",
        args.file.display(),
        info.id,
        args.project,
        args.run,
        key,
        info.step,
        info.version,
        info.n_rows,
        imported.batch.num_columns(),
        schema
            .defaults
            .color_by
            .as_ref()
            .map(|c| format!(", colour by '{c}'"))
            .unwrap_or_default(),
        if imported.media.is_empty() {
            String::new()
        } else {
            format!(", {} images", imported.media.len())
        },
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

pub fn ls(data_dir: &Path, args: LsArgs) -> anyhow::Result<()> {
    if !data_dir.exists() {
        bail!(
            "no store at {}: import a file first (flatspace import FILE) or pass --data-dir",
            data_dir.display()
        );
    }
    let store = open_store(data_dir)?;
    let mut listing = Vec::new();
    for project in store.list_projects()? {
        let mut runs = Vec::new();
        for run in store.list_runs(project.id)? {
            let tables = store.list_tables(run.id)?;
            runs.push((run, tables));
        }
        listing.push((project, runs));
    }
    if args.json {
        let json: Vec<_> = listing
            .iter()
            .map(|(project, runs)| {
                serde_json::json!({
                    "id": project.id,
                    "name": project.name,
                    "runs": runs.iter().map(|(run, tables)| serde_json::json!({
                        "id": run.id,
                        "name": run.name,
                        "tables": tables,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    if listing.is_empty() {
        println!("the store at {} holds no tables yet", data_dir.display());
        return Ok(());
    }
    for (project, runs) in &listing {
        println!("project {} (id {})", project.name, project.id);
        for (run, tables) in runs {
            println!("  run {} (id {})", run.name, run.id);
            for t in tables {
                let dims = t
                    .embeddings
                    .iter()
                    .map(|e| format!("{}: {} dims", e.column, e.dim))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "    table {:>4}  {}  step {}  v{}  {} rows × {} columns{}",
                    t.id,
                    t.key,
                    t.step,
                    t.version,
                    t.n_rows,
                    t.n_columns,
                    if dims.is_empty() {
                        String::new()
                    } else {
                        format!("  ({dims})")
                    }
                );
            }
        }
    }
    Ok(())
}

pub fn export(data_dir: &Path, args: ExportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(f) => f,
        None => match args
            .output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet" | "pq") => ExportFormat::Parquet,
            Some("csv") => ExportFormat::Csv,
            _ => bail!(
                "cannot tell the format of {}: pass --format parquet or --format csv",
                args.output.display()
            ),
        },
    };
    if !data_dir.exists() {
        bail!("no store at {}: pass --data-dir", data_dir.display());
    }
    let spinner = delayed_bar(None, &format!("writing {}", args.output.display()));
    let named = args
        .table
        .as_deref()
        .or(args.table_id.as_deref())
        .unwrap_or_default()
        .to_owned();
    let result = (|| -> anyhow::Result<(i64, u64)> {
        let store = open_store(data_dir)?;
        let table_id = resolve_table(&store, &named)?;
        let batch = if args.selection.is_some() || args.projection.is_some() {
            let rows = match &args.selection {
                Some(name) => Some(selection_rows(&store, table_id, name)?),
                None => None,
            };
            store.export_rows(table_id, rows.as_deref(), args.projection)?
        } else {
            let mut batch = store.read_rows(table_id, 0, usize::MAX, None)?;
            if !args.no_projections {
                batch = with_all_projections(&store, table_id, batch)?;
            }
            batch
        };
        match format {
            ExportFormat::Parquet => export_parquet(&batch, &args.output)?,
            ExportFormat::Csv => export_csv(&batch, &args.output)?,
        }
        Ok((table_id, batch.num_rows() as u64))
    })();
    spinner.finish_and_clear();
    let (table_id, n_rows) = result.with_context(|| format!("cannot export table {named}"))?;
    println!(
        "wrote {n_rows} rows of table {table_id} to {}",
        args.output.display()
    );
    Ok(())
}

/// A table named by id, or by key (its newest version; the key must be in one run only).
fn resolve_table(store: &Store, named: &str) -> anyhow::Result<i64> {
    if let Ok(id) = named.parse::<i64>()
        && store.table_info(id).is_ok()
    {
        return Ok(id);
    }
    let mut found = Vec::new();
    for project in store.list_projects()? {
        for run in store.list_runs(project.id)? {
            if let Some(table) = store.latest_table(run.id, named, None)? {
                found.push((project.name.clone(), run.name.clone(), table.id));
            }
        }
    }
    match found.as_slice() {
        [(_, _, id)] => Ok(*id),
        [] => bail!("no table with id or key {named:?} in the store; `flatspace ls` lists them"),
        several => bail!(
            "the key {named:?} is in several runs ({}); pass the table id instead",
            several
                .iter()
                .map(|(p, r, id)| format!("project {p:?} run {r:?}: table {id}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The rows of the selection `name` of a table, or an error listing its selections.
fn selection_rows(store: &Store, table_id: i64, name: &str) -> anyhow::Result<Vec<u32>> {
    match store.find_selection(table_id, name)? {
        Some(info) => Ok(store.selection(info.id)?.1),
        None => {
            let names: Vec<String> = store
                .list_selections(table_id)?
                .into_iter()
                .map(|s| format!("{:?}", s.name))
                .collect();
            if names.is_empty() {
                bail!("table {table_id} has no saved selection named {name:?} (it has none)")
            }
            bail!(
                "table {table_id} has no saved selection named {name:?}; it has {}",
                names.join(", ")
            )
        }
    }
}

/// The batch with the coordinates of every finished whole-table projection appended.
fn with_all_projections(
    store: &Store,
    table_id: i64,
    batch: arrow_array::RecordBatch,
) -> anyhow::Result<arrow_array::RecordBatch> {
    let mut extra: Vec<(String, ArrayRef)> = Vec::new();
    for projection in store.list_projections(table_id)? {
        if projection.status != ProjectionStatus::Done || projection.rows_subset {
            continue;
        }
        let coords = store.projection_coords(projection.id)?;
        let k = projection.n_components as usize;
        if k == 0 || coords.len() != batch.num_rows() * k {
            bail!(
                "projection {} holds {} values, expected {} rows × {k} components",
                projection.id,
                coords.len(),
                batch.num_rows()
            );
        }
        for (c, axis) in ["x", "y", "z"].iter().enumerate().take(k) {
            let values: Float32Array = coords
                .iter()
                .skip(c)
                .step_by(k)
                .copied()
                .collect::<Vec<_>>()
                .into();
            extra.push((
                format!("{}_{}_{axis}", projection.algorithm, projection.id),
                Arc::new(values),
            ));
        }
    }
    if extra.is_empty() {
        return Ok(batch);
    }
    Ok(append_columns(&batch, extra)?)
}
