//! `Store`: opening a store directory, projects, runs, tables (write, list, read) and media.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use flatspace_table::ColumnKind;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::catalog::{self, CATALOG_FILE, NOW};
use crate::error::{Result, StoreError};
use crate::files::{self, MEDIA_DIR, PROJECTIONS_DIR, SEGMENTS_DIR, TMP_DIR, TempFile};
use crate::matrix::{self, F32Matrix};
use crate::media::{self, Media, is_valid_hash};
use crate::segment::{self, TableData, describe_kind};
use crate::{ProjectId, RunId, TableId};

/// Decoded segments kept in memory for repeated reads (the server pages through tables).
const CACHE_MAX_TABLES: usize = 8;
const CACHE_MAX_BYTES: u64 = 2 << 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectInfo {
    pub id: ProjectId,
    pub name: String,
    pub n_runs: u64,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub id: RunId,
    pub project_id: ProjectId,
    pub name: String,
    pub config: serde_json::Value,
    pub n_tables: u64,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbeddingInfo {
    pub column: String,
    pub dim: usize,
}

/// One committed table version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableInfo {
    pub id: TableId,
    pub run_id: RunId,
    pub key: String,
    pub step: i64,
    pub version: i64,
    pub n_rows: u64,
    pub n_columns: u64,
    pub n_bytes: u64,
    /// The embedding columns and their dimensions, in column order.
    pub embeddings: Vec<EmbeddingInfo>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    pub kind: ColumnKind,
    /// The Arrow type as Arrow writes it, e.g. `FixedSizeList(Float32, 8)` or `Utf8`.
    pub arrow_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableMeta {
    #[serde(flatten)]
    pub info: TableInfo,
    pub columns: Vec<ColumnInfo>,
}

impl TableMeta {
    fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| StoreError::UnknownColumn {
                table_id: self.info.id,
                column: name.to_string(),
                available: self
                    .columns
                    .iter()
                    .map(|c| format!("{:?}", c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A store directory. Cheap to share across threads (`&Store` is `Sync`); several processes may
/// open the same directory at once.
pub struct Store {
    root: PathBuf,
    catalog_path: PathBuf,
    conn: Mutex<Connection>,
    cache: Mutex<Vec<(TableId, u64, Arc<TableData>)>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

const TABLE_COLUMNS: &str = "id, run_id, key, step, version, n_rows, n_bytes, created_at, segment";

impl Store {
    /// Opens the store in `dir`, creating it (and migrating an older catalog) as needed, and
    /// cleans up what killed writers left behind: temp files, uncommitted segments, jobs still
    /// marked running by a process that is gone.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let root = std::path::absolute(dir.as_ref())
            .map_err(|e| StoreError::io("resolve", dir.as_ref(), e))?;
        if root.exists() && !root.is_dir() {
            return Err(StoreError::io(
                "open the store directory",
                &root,
                std::io::Error::other("it is a file, expected a directory"),
            ));
        }
        for sub in ["", TMP_DIR, SEGMENTS_DIR, MEDIA_DIR, PROJECTIONS_DIR] {
            let path = root.join(sub);
            fs::create_dir_all(&path).map_err(|e| files::map_write_error(&root, &path, e))?;
        }
        // An existing but read-only directory: fail here, naming it, before SQLite does obscurely.
        drop(TempFile::create(&root, "probe")?);

        let catalog_path = root.join(CATALOG_FILE);
        let conn = catalog::open(
            &catalog_path,
            &[root.join(SEGMENTS_DIR), root.join(PROJECTIONS_DIR)],
        )?;
        let store = Store {
            root,
            catalog_path,
            conn: Mutex::new(conn),
            cache: Mutex::new(Vec::new()),
        };
        files::clean_tmp(&store.root)?;
        store.clean_orphan_files()?;
        store.fail_stale_jobs()?;
        Ok(store)
    }

    /// The store directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection half-changed: SQLite
        // transactions roll back when dropped.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| catalog::sql_error(&self.catalog_path, e))
    }

    /// Segment and projection files with no catalog row whose writer is gone: a crash between
    /// the rename and the catalog transaction.
    fn clean_orphan_files(&self) -> Result<()> {
        for (dir, query) in [
            (SEGMENTS_DIR, "SELECT segment FROM tables"),
            (
                PROJECTIONS_DIR,
                "SELECT coords_file FROM projections WHERE coords_file IS NOT NULL",
            ),
        ] {
            let dir_path = self.root.join(dir);
            // List before querying: a file committed in between is then in the query's answer.
            let listed: Vec<PathBuf> = fs::read_dir(&dir_path)
                .map_err(|e| StoreError::io("list", &dir_path, e))?
                .flatten()
                .map(|e| e.path())
                .collect();
            let referenced: HashSet<String> = {
                let conn = self.conn();
                let mut stmt = self.sql(conn.prepare(query))?;
                let rows = self.sql(stmt.query_map([], |r| r.get::<_, String>(0)))?;
                self.sql(rows.collect::<rusqlite::Result<_>>())?
            };
            for path in listed {
                let Ok(rel) = path.strip_prefix(&self.root) else {
                    continue;
                };
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !referenced.contains(&rel) && files::is_orphan(&path) {
                    let _ = fs::remove_file(&path);
                }
            }
        }
        Ok(())
    }

    // ---- projects and runs ----

    /// The project named `name`, created if new.
    pub fn get_or_create_project(&self, name: &str) -> Result<ProjectId> {
        if name.trim().is_empty() {
            return Err(StoreError::EmptyName {
                what: "a project name",
            });
        }
        let conn = self.conn();
        self.sql(conn.execute(
            &format!(
                "INSERT INTO projects (name, created_at) VALUES (?1, {NOW}) ON CONFLICT (name) DO NOTHING"
            ),
            [name],
        ))?;
        self.sql(
            conn.query_row("SELECT id FROM projects WHERE name = ?1", [name], |r| {
                r.get(0)
            }),
        )
    }

    pub fn list_projects(&self) -> Result<Vec<ProjectInfo>> {
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(
            "SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM runs r WHERE r.project_id = p.id)
             FROM projects p ORDER BY p.id",
        ))?;
        let rows = self.sql(stmt.query_map([], project_from_row))?;
        self.sql(rows.collect())
    }

    pub fn project(&self, id: ProjectId) -> Result<ProjectInfo> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                "SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM runs r WHERE r.project_id = p.id)
                 FROM projects p WHERE p.id = ?1",
                [id],
                project_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId {
            what: "project",
            id,
        })
    }

    pub fn find_project(&self, name: &str) -> Result<Option<ProjectInfo>> {
        let id: Option<i64> = {
            let conn = self.conn();
            self.sql(
                conn.query_row("SELECT id FROM projects WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional(),
            )?
        };
        id.map(|id| self.project(id)).transpose()
    }

    /// The run `name` of a project, created with `config` if new (an existing run keeps its
    /// config).
    pub fn get_or_create_run(
        &self,
        project_id: ProjectId,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<RunId> {
        if name.trim().is_empty() {
            return Err(StoreError::EmptyName { what: "a run name" });
        }
        self.project(project_id)?;
        let conn = self.conn();
        self.sql(conn.execute(
            &format!(
                "INSERT INTO runs (project_id, name, config, created_at) VALUES (?1, ?2, ?3, {NOW})
                 ON CONFLICT (project_id, name) DO NOTHING"
            ),
            params![project_id, name, config.to_string()],
        ))?;
        self.sql(conn.query_row(
            "SELECT id FROM runs WHERE project_id = ?1 AND name = ?2",
            params![project_id, name],
            |r| r.get(0),
        ))
    }

    pub fn list_runs(&self, project_id: ProjectId) -> Result<Vec<RunInfo>> {
        self.project(project_id)?;
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(
            "SELECT r.id, r.project_id, r.name, r.config, r.created_at,
                    (SELECT count(*) FROM tables t WHERE t.run_id = r.id)
             FROM runs r WHERE r.project_id = ?1 ORDER BY r.id",
        ))?;
        let rows = self.sql(stmt.query_map([project_id], run_from_row))?;
        self.sql(rows.collect())
    }

    pub fn run(&self, id: RunId) -> Result<RunInfo> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                "SELECT r.id, r.project_id, r.name, r.config, r.created_at,
                        (SELECT count(*) FROM tables t WHERE t.run_id = r.id)
                 FROM runs r WHERE r.id = ?1",
                [id],
                run_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId { what: "run", id })
    }

    pub fn find_run(&self, project_id: ProjectId, name: &str) -> Result<Option<RunInfo>> {
        let id: Option<i64> = {
            let conn = self.conn();
            self.sql(
                conn.query_row(
                    "SELECT id FROM runs WHERE project_id = ?1 AND name = ?2",
                    params![project_id, name],
                    |r| r.get(0),
                )
                .optional(),
            )?
        };
        id.map(|id| self.run(id)).transpose()
    }

    // ---- tables: write ----

    /// Commits `batches` as a new version of table `key` at `step` in a run, with one
    /// [`ColumnKind`] per column. Re-logging the same key and step makes the next version.
    ///
    /// The protocol: check everything, write the segment to a temp file, fsync, rename it into
    /// `segments/`, fsync the directory, then one catalog transaction. Until that transaction
    /// commits no reader sees the table; if anything fails, nothing already stored changes.
    pub fn write_table(
        &self,
        run_id: RunId,
        key: &str,
        step: i64,
        batches: &[RecordBatch],
        kinds: &[ColumnKind],
    ) -> Result<TableInfo> {
        if key.trim().is_empty() {
            return Err(StoreError::EmptyName {
                what: "a table key",
            });
        }
        let (schema, hashes) = segment::validate(key, batches, kinds)?;
        self.run(run_id)?;
        self.check_media_known(key, &hashes)?;

        let tmp = segment::write_temp(&self.root, &schema, batches)?;
        let rel = format!("{SEGMENTS_DIR}/{}.arrow", files::unique_name());
        let dest = self.root.join(&rel);
        tmp.persist(&dest)?;
        let n_bytes = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        let n_rows: usize = batches.iter().map(|b| b.num_rows()).sum();

        let committed = self.commit_table(run_id, key, step, &rel, n_rows, n_bytes, &schema, kinds);
        match committed {
            Ok(id) => self.table_info(id),
            Err(e) => {
                // Not in the catalog, so no reader can have it: safe to remove.
                let _ = fs::remove_file(&dest);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn commit_table(
        &self,
        run_id: RunId,
        key: &str,
        step: i64,
        rel: &str,
        n_rows: usize,
        n_bytes: u64,
        schema: &Schema,
        kinds: &[ColumnKind],
    ) -> Result<TableId> {
        let mut conn = self.conn();
        let tx = self.sql(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        let version: i64 = self.sql(tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM tables WHERE run_id = ?1 AND key = ?2 AND step = ?3",
            params![run_id, key, step],
            |r| r.get(0),
        ))?;
        self.sql(tx.execute(
            &format!(
                "INSERT INTO tables (run_id, key, step, version, n_rows, segment, n_bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {NOW})"
            ),
            params![
                run_id,
                key,
                step,
                version,
                i64::try_from(n_rows).unwrap_or(i64::MAX),
                rel,
                i64::try_from(n_bytes).unwrap_or(i64::MAX)
            ],
        ))?;
        let table_id = tx.last_insert_rowid();
        {
            let mut stmt = self.sql(tx.prepare(
                "INSERT INTO columns (table_id, position, name, kind, arrow_type) VALUES (?1, ?2, ?3, ?4, ?5)",
            ))?;
            for (position, (field, kind)) in schema.fields().iter().zip(kinds).enumerate() {
                let kind_json = serde_json::to_string(kind).unwrap_or_default();
                self.sql(stmt.execute(params![
                    table_id,
                    position as i64,
                    field.name(),
                    kind_json,
                    field.data_type().to_string()
                ]))?;
            }
        }
        self.sql(tx.commit())?;
        Ok(table_id)
    }

    fn check_media_known(&self, key: &str, hashes: &HashSet<String>) -> Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare("SELECT 1 FROM media WHERE hash = ?1"))?;
        for hash in hashes {
            if !self.sql(stmt.exists([hash]))? {
                return Err(StoreError::InvalidTable {
                    key: key.to_string(),
                    detail: format!(
                        "refers to media {hash}, which is not in the store; store it with put_media first"
                    ),
                });
            }
        }
        Ok(())
    }

    // ---- tables: list and describe ----

    /// Every committed table version of a run, oldest first.
    pub fn list_tables(&self, run_id: RunId) -> Result<Vec<TableInfo>> {
        self.run(run_id)?;
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(&format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE run_id = ?1 ORDER BY id"
        )))?;
        let rows = self.sql(stmt.query_map([run_id], table_from_row))?;
        let mut tables: Vec<(TableInfo, String)> = self.sql(rows.collect())?;
        let mut infos = Vec::with_capacity(tables.len());
        for (mut info, _) in tables.drain(..) {
            self.fill_columns_summary(&conn, &mut info)?;
            infos.push(info);
        }
        Ok(infos)
    }

    fn fill_columns_summary(&self, conn: &Connection, info: &mut TableInfo) -> Result<()> {
        let columns = self.columns_of(conn, info.id)?;
        info.n_columns = columns.len() as u64;
        info.embeddings = columns
            .iter()
            .filter_map(|c| match c.kind {
                ColumnKind::Embedding { dim } => Some(EmbeddingInfo {
                    column: c.name.clone(),
                    dim,
                }),
                _ => None,
            })
            .collect();
        Ok(())
    }

    fn columns_of(&self, conn: &Connection, table_id: TableId) -> Result<Vec<ColumnInfo>> {
        let mut stmt = self.sql(conn.prepare_cached(
            "SELECT name, kind, arrow_type FROM columns WHERE table_id = ?1 ORDER BY position",
        ))?;
        let rows = self.sql(stmt.query_map([table_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        }))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, kind, arrow_type) = self.sql(row)?;
            let kind: ColumnKind =
                serde_json::from_str(&kind).map_err(|e| StoreError::CorruptCatalog {
                    path: self.catalog_path.clone(),
                    detail: format!(
                        "table {table_id}, column {name:?}: kind {kind:?} is unreadable: {e}"
                    ),
                })?;
            out.push(ColumnInfo {
                name,
                kind,
                arrow_type,
            });
        }
        Ok(out)
    }

    fn table_row(&self, conn: &Connection, id: TableId) -> Result<(TableInfo, String)> {
        self.sql(
            conn.query_row(
                &format!("SELECT {TABLE_COLUMNS} FROM tables WHERE id = ?1"),
                [id],
                table_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId { what: "table", id })
    }

    pub fn table_info(&self, id: TableId) -> Result<TableInfo> {
        let conn = self.conn();
        let (mut info, _) = self.table_row(&conn, id)?;
        self.fill_columns_summary(&conn, &mut info)?;
        Ok(info)
    }

    /// A table's summary and its columns with their kinds.
    pub fn table(&self, id: TableId) -> Result<TableMeta> {
        let conn = self.conn();
        let (mut info, _) = self.table_row(&conn, id)?;
        self.fill_columns_summary(&conn, &mut info)?;
        let columns = self.columns_of(&conn, id)?;
        Ok(TableMeta { info, columns })
    }

    /// The newest version of `key` in a run: at `step`, or at its highest step when `None`.
    pub fn latest_table(
        &self,
        run_id: RunId,
        key: &str,
        step: Option<i64>,
    ) -> Result<Option<TableInfo>> {
        let id: Option<i64> = {
            let conn = self.conn();
            self.sql(
                conn.query_row(
                    "SELECT id FROM tables WHERE run_id = ?1 AND key = ?2 AND (?3 IS NULL OR step = ?3)
                     ORDER BY step DESC, version DESC LIMIT 1",
                    params![run_id, key, step],
                    |r| r.get(0),
                )
                .optional(),
            )?
        };
        id.map(|id| self.table_info(id)).transpose()
    }

    // ---- tables: read ----

    /// All rows of a table, as the record batches it was written in (zero-copy views into one
    /// buffer holding the segment file).
    pub fn read_table(&self, id: TableId) -> Result<TableData> {
        Ok(self.segment(id)?.as_ref().clone())
    }

    fn segment(&self, id: TableId) -> Result<Arc<TableData>> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(pos) = cache.iter().position(|(t, _, _)| *t == id) {
                let entry = cache.remove(pos);
                let data = entry.2.clone();
                cache.insert(0, entry);
                return Ok(data);
            }
        }
        let (info, rel) = {
            let conn = self.conn();
            self.table_row(&conn, id)?
        };
        let path = self.root.join(&rel);
        let data = Arc::new(segment::read(id, &path)?);
        if data.n_rows() as u64 != info.n_rows {
            return Err(StoreError::CorruptSegment {
                table_id: id,
                path,
                detail: format!(
                    "holds {} rows, the catalog says {}",
                    data.n_rows(),
                    info.n_rows
                ),
            });
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.iter().any(|(t, _, _)| *t == id) {
            cache.insert(0, (id, info.n_bytes, data.clone()));
            let mut total = 0;
            let keep = cache
                .iter()
                .take_while(|(_, bytes, _)| {
                    total += bytes;
                    total <= CACHE_MAX_BYTES
                })
                .count()
                .clamp(1, CACHE_MAX_TABLES);
            cache.truncate(keep);
        }
        Ok(data)
    }

    /// Rows `offset .. offset + limit` (clamped to the table) of the named columns (all when
    /// `None`), as one record batch.
    pub fn read_rows(
        &self,
        id: TableId,
        offset: usize,
        limit: usize,
        columns: Option<&[&str]>,
    ) -> Result<RecordBatch> {
        let meta = self.table(id)?;
        let indices: Vec<usize> = match columns {
            Some(names) => names
                .iter()
                .map(|n| meta.column_index(n))
                .collect::<Result<_>>()?,
            None => (0..meta.columns.len()).collect(),
        };
        let data = self.segment(id)?;
        let schema =
            Arc::new(
                data.schema
                    .project(&indices)
                    .map_err(|e| StoreError::CorruptSegment {
                        table_id: id,
                        path: PathBuf::new(),
                        detail: e.to_string(),
                    })?,
            );
        let n_rows = data.n_rows();
        let start = offset.min(n_rows);
        let end = start.saturating_add(limit).min(n_rows);
        let mut pieces = Vec::new();
        let mut row0 = 0;
        for batch in &data.batches {
            let (b_start, b_end) = (row0, row0 + batch.num_rows());
            row0 = b_end;
            let (s, e) = (start.max(b_start), end.min(b_end));
            if s >= e {
                continue;
            }
            let projected = batch
                .project(&indices)
                .map_err(|e| StoreError::CorruptSegment {
                    table_id: id,
                    path: PathBuf::new(),
                    detail: e.to_string(),
                })?;
            pieces.push(projected.slice(s - b_start, e - s));
        }
        match pieces.len() {
            0 => Ok(RecordBatch::new_empty(schema)),
            1 => Ok(pieces.remove(0)),
            _ => arrow_select::concat::concat_batches(&schema, &pieces).map_err(|e| {
                StoreError::CorruptSegment {
                    table_id: id,
                    path: PathBuf::new(),
                    detail: e.to_string(),
                }
            }),
        }
    }

    /// An embedding column as a contiguous row-major `n_rows × dim` matrix: zero-copy when the
    /// table is one record batch, else one copy.
    pub fn embedding_matrix(&self, id: TableId, column: &str) -> Result<F32Matrix> {
        let meta = self.table(id)?;
        let index = meta.column_index(column)?;
        let kind = meta.columns[index].kind;
        if !matches!(kind, ColumnKind::Embedding { .. }) {
            return Err(StoreError::WrongColumnKind {
                table_id: id,
                column: column.to_string(),
                expected: "an embedding column".into(),
                found: describe_kind(&kind),
            });
        }
        let data = self.segment(id)?;
        matrix::embedding(id, column, index, &data.batches)
    }

    /// Several numeric columns as one row-major `n_rows × columns.len()` matrix (the "many
    /// numeric columns" layout): one copy, cast to `f32`.
    pub fn numeric_matrix(&self, id: TableId, columns: &[&str]) -> Result<F32Matrix> {
        let meta = self.table(id)?;
        let mut picked = Vec::with_capacity(columns.len());
        for name in columns {
            let index = meta.column_index(name)?;
            let kind = meta.columns[index].kind;
            if kind != ColumnKind::Numeric {
                return Err(StoreError::WrongColumnKind {
                    table_id: id,
                    column: name.to_string(),
                    expected: "a numeric column".into(),
                    found: describe_kind(&kind),
                });
            }
            picked.push((name.to_string(), index));
        }
        let data = self.segment(id)?;
        matrix::gather_numeric(id, &picked, &data.batches)
    }

    // ---- media ----

    /// Stores `bytes` under their blake3 hash (once, however often it is called) and returns
    /// the hash, which image columns hold.
    pub fn put_media(&self, bytes: &[u8], mime: &str) -> Result<String> {
        let hash = media::hash_bytes(bytes);
        let rel = media::relative_path(&hash);
        let dest = self.root.join(&rel);
        let shard = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        let new_shard = !shard.exists();
        files::write_once(&self.root, &dest, bytes)?;
        if new_shard {
            files::sync_dir(&self.root.join(MEDIA_DIR))?;
        }
        let conn = self.conn();
        self.sql(conn.execute(
            &format!(
                "INSERT INTO media (hash, mime, n_bytes, created_at) VALUES (?1, ?2, ?3, {NOW})
                 ON CONFLICT (hash) DO NOTHING"
            ),
            params![hash, mime, bytes.len() as i64],
        ))?;
        Ok(hash)
    }

    /// [`Store::put_media`] for many files at once, in the order given: the same guarantees,
    /// but the files are synced concurrently, each media directory once, and the catalog rows
    /// go in one transaction (1,797 digit sprites: one catalog commit instead of 1,797).
    pub fn put_media_many(&self, items: &[(&[u8], &str)]) -> Result<Vec<String>> {
        let hashes: Vec<String> = items.iter().map(|(b, _)| media::hash_bytes(b)).collect();
        let files: Vec<(PathBuf, &[u8])> = hashes
            .iter()
            .zip(items)
            .map(|(hash, (bytes, _))| (self.root.join(media::relative_path(hash)), *bytes))
            .collect();
        let media_dir = self.root.join(MEDIA_DIR);
        let new_shard = files
            .iter()
            .any(|(dest, _)| dest.parent().is_some_and(|p| !p.exists()));
        files::write_many_once(&self.root, &files)?;
        if new_shard {
            files::sync_dir(&media_dir)?;
        }
        let mut conn = self.conn();
        let tx = self.sql(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        {
            let mut insert = self.sql(tx.prepare(&format!(
                "INSERT INTO media (hash, mime, n_bytes, created_at) VALUES (?1, ?2, ?3, {NOW})
                 ON CONFLICT (hash) DO NOTHING"
            )))?;
            for (hash, (bytes, mime)) in hashes.iter().zip(items) {
                self.sql(insert.execute(params![hash, mime, bytes.len() as i64]))?;
            }
        }
        self.sql(tx.commit())?;
        Ok(hashes)
    }

    /// The MIME type of a stored media file.
    pub fn media_mime(&self, hash: &str) -> Result<String> {
        if !is_valid_hash(hash) {
            return Err(StoreError::InvalidHash {
                given: hash.to_string(),
            });
        }
        let conn = self.conn();
        self.sql(
            conn.query_row("SELECT mime FROM media WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional(),
        )?
        .ok_or_else(|| StoreError::UnknownMedia {
            hash: hash.to_string(),
        })
    }

    /// The path of a stored media file (for streaming it).
    pub fn media_path(&self, hash: &str) -> Result<PathBuf> {
        self.media_mime(hash)?;
        Ok(self.root.join(media::relative_path(hash)))
    }

    /// A stored media file's bytes and MIME type.
    pub fn media(&self, hash: &str) -> Result<Media> {
        let mime = self.media_mime(hash)?;
        let path = self.root.join(media::relative_path(hash));
        let bytes = fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::UnknownMedia {
                    hash: hash.to_string(),
                }
            } else {
                StoreError::io("read", &path, e)
            }
        })?;
        Ok(Media { bytes, mime })
    }
}

fn project_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectInfo> {
    Ok(ProjectInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        n_runs: r.get::<_, i64>(3)? as u64,
    })
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let config: String = r.get(3)?;
    Ok(RunInfo {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::String(config)),
        created_at: r.get(4)?,
        n_tables: r.get::<_, i64>(5)? as u64,
    })
}

fn table_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TableInfo, String)> {
    Ok((
        TableInfo {
            id: r.get(0)?,
            run_id: r.get(1)?,
            key: r.get(2)?,
            step: r.get(3)?,
            version: r.get(4)?,
            n_rows: r.get::<_, i64>(5)? as u64,
            n_bytes: r.get::<_, i64>(6)? as u64,
            created_at: r.get(7)?,
            n_columns: 0,
            embeddings: Vec::new(),
        },
        r.get(8)?,
    ))
}
