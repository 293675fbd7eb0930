//! The SQLite catalog: connection settings and versioned migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied; `MIGRATIONS` is append-only, so
//! an old store is brought forward step by step and a newer one is refused rather than misread.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::{Result, StoreError};

pub(crate) const CATALOG_FILE: &str = "catalog.sqlite";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Ordered, append-only: never edit an entry once released, add a new one instead.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (project_id, name)
    );
    CREATE TABLE tables (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        version INTEGER NOT NULL,
        n_rows INTEGER NOT NULL,
        segment TEXT NOT NULL UNIQUE,
        n_bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (run_id, key, step, version)
    );
    CREATE TABLE columns (
        table_id INTEGER NOT NULL REFERENCES tables(id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        arrow_type TEXT NOT NULL,
        PRIMARY KEY (table_id, position)
    );
    CREATE TABLE media (
        hash TEXT PRIMARY KEY,
        mime TEXT NOT NULL,
        n_bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE projections (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        table_id INTEGER NOT NULL REFERENCES tables(id),
        fields TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        params TEXT NOT NULL,
        seed INTEGER NOT NULL,
        n_components INTEGER NOT NULL,
        status TEXT NOT NULL,
        coords_file TEXT,
        metrics TEXT,
        elapsed_secs REAL,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        projection_id INTEGER REFERENCES projections(id),
        status TEXT NOT NULL,
        stage TEXT NOT NULL DEFAULT '',
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        owner_pid INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX jobs_by_status ON jobs (status);
    CREATE INDEX jobs_by_projection ON jobs (projection_id);
    CREATE INDEX projections_by_table ON projections (table_id);
    "#,
    // 2: named row selections per table version, and projections of a subset of rows. Row ids
    // are stored as a blob of little-endian u32 (4 bytes a row), sorted and unique.
    r#"
    CREATE TABLE selections (
        id INTEGER PRIMARY KEY,
        table_id INTEGER NOT NULL REFERENCES tables(id),
        name TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        rows BLOB NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (table_id, name)
    );
    ALTER TABLE projections ADD COLUMN rows BLOB;
    "#,
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// SQL expression for "now" as RFC 3339 UTC with milliseconds.
pub(crate) const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

pub(crate) fn sql_error(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::CorruptCatalog {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        }
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => StoreError::ReadOnly {
            path: path.parent().unwrap_or(path).to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string()),
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Opens the catalog, sets WAL + busy timeout, and applies pending migrations.
///
/// `data_dirs` are the folders whose files only a catalog can account for: a brand-new catalog
/// beside non-empty ones means the old catalog was deleted or replaced, and is refused (the
/// clean-up of uncommitted files would otherwise take them for leftovers and remove them).
pub(crate) fn open(path: &Path, data_dirs: &[PathBuf]) -> Result<Connection> {
    let err = |e| sql_error(path, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    set_wal(&conn).map_err(err)?;
    // FULL: a commit reported to the caller survives a power cut, not just a process crash.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(err)?;
    migrate(conn, path, data_dirs)
}

/// Switching to WAL needs a moment of exclusive access; when several processes open a fresh
/// store at once the switch can report busy without waiting, so retry briefly.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mut attempt = 0;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && attempt < 200 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => return Err(e),
        }
    }
}

fn migrate(mut conn: Connection, path: &Path, data_dirs: &[PathBuf]) -> Result<Connection> {
    let err = |e| sql_error(path, e);
    loop {
        // IMMEDIATE: two processes opening a fresh store must not both apply migration 1.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version < 0 {
            return Err(StoreError::CorruptCatalog {
                path: path.to_path_buf(),
                detail: format!("negative schema version {version}"),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            tx.commit().map_err(err)?;
            break;
        }
        if version == 0 {
            // A version-0 file with tables of its own is some other database, not an old store.
            let n_tables: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(err)?;
            if n_tables > 0 {
                return Err(StoreError::CorruptCatalog {
                    path: path.to_path_buf(),
                    detail: format!(
                        "it holds {n_tables} schema objects but no flatspace schema version"
                    ),
                });
            }
            // Checked under the write lock: no other process can commit a file meanwhile, since
            // it cannot open the store before this migration commits.
            for dir in data_dirs {
                let n_files = std::fs::read_dir(dir).map_or(0, |d| d.count());
                if n_files > 0 {
                    return Err(StoreError::CorruptCatalog {
                        path: path.to_path_buf(),
                        detail: format!(
                            "the catalog is new but {} holds {n_files} files, so the catalog that described them was deleted or replaced; restore it, or move that folder away to start an empty store",
                            dir.display()
                        ),
                    });
                }
            }
        }
        let index = usize::try_from(version).unwrap_or(0);
        tx.execute_batch(MIGRATIONS[index]).map_err(err)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(conn)
}
