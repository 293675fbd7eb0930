//! `flatspace demo`: fills a store with the demo tables, idempotently (a second run finds them
//! and writes nothing). Project `demo`, run `examples`: table `digits` (scikit-learn's 1,797
//! handwritten digits with 8 × 8 images and labels) and table `blobs` (a seeded Gaussian mixture).

use flatspace_store::{Store, TableInfo};
use flatspace_table::ColumnKind;

use crate::demo_data::{self, DemoTable};

pub const PROJECT: &str = "demo";
pub const RUN: &str = "examples";
pub const DIGITS_KEY: &str = "digits";
pub const BLOBS_KEY: &str = "blobs";
pub const DEFAULT_BLOBS_ROWS: usize = 100_000;
pub const BLOBS_DIM: usize = 32;
pub const BLOBS_CLUSTERS: usize = 10;
const BLOBS_SEED: u64 = 7;

/// What `fill_store` did for one table.
#[derive(Debug, Clone)]
pub struct Filled {
    pub table: TableInfo,
    /// False when the table was already there.
    pub written: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] flatspace_store::StoreError),
    #[error("building the demo table {table}: {message}")]
    Data {
        table: &'static str,
        message: String,
    },
}

/// Writes the digits table and a `blobs_rows`-row mixture unless the store already holds them
/// (same key and row count); returns both tables.
pub fn fill_store(store: &Store, blobs_rows: usize) -> Result<Vec<Filled>, DemoError> {
    let project = store.get_or_create_project(PROJECT)?;
    let config = serde_json::json!({
        "source": "flatspace demo",
        "digits": "scikit-learn load_digits (UCI ML hand-written digits)",
        "blobs": {"n_rows": blobs_rows, "dim": BLOBS_DIM, "clusters": BLOBS_CLUSTERS, "seed": BLOBS_SEED},
    });
    let run = store.get_or_create_run(project, RUN, &config)?;
    let digits = ensure(store, run, DIGITS_KEY, demo_data::DIGITS_ROWS, || {
        demo_data::digits()
    })?;
    let blobs = ensure(store, run, BLOBS_KEY, blobs_rows, || {
        demo_data::gaussian_mixture(blobs_rows, BLOBS_DIM, BLOBS_CLUSTERS, BLOBS_SEED)
    })?;
    Ok(vec![digits, blobs])
}

fn ensure(
    store: &Store,
    run: i64,
    key: &'static str,
    n_rows: usize,
    build: impl FnOnce() -> Result<DemoTable, String>,
) -> Result<Filled, DemoError> {
    if let Some(table) = store.latest_table(run, key, Some(0))?
        && table.n_rows == n_rows as u64
    {
        return Ok(Filled {
            table,
            written: false,
        });
    }
    let data = build().map_err(|message| DemoError::Data {
        table: key,
        message,
    })?;
    // One batch: files synced concurrently, one catalog transaction for all of them.
    let items: Vec<(&[u8], &str)> = data
        .media
        .iter()
        .map(|m| (m.bytes.as_slice(), m.content_type))
        .collect();
    store.put_media_many(&items)?;
    let inferred = flatspace_table::schema::infer_schema(&data.batch);
    let kinds: Vec<ColumnKind> = inferred.columns.iter().map(|c| c.kind).collect();
    let table = store.write_table(run, key, 0, std::slice::from_ref(&data.batch), &kinds)?;
    Ok(Filled {
        table,
        written: true,
    })
}
