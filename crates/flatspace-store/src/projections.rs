//! The projection cache: one row per (table version, fields, algorithm, parameters, seed,
//! components, row subset), its coordinates in a file of little-endian `f32`s, row-major.

use std::fs;
use std::io::Write;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::catalog::NOW;
use crate::error::{Result, StoreError};
use crate::files::{self, PROJECTIONS_DIR, TempFile};
use crate::selections::{checked_rows, rows_from_blob, rows_to_blob};
use crate::store::Store;
use crate::{ProjectionId, TableId};

/// What a projection is of and how it is computed; equal specs share one cached result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionSpec {
    pub table_id: TableId,
    /// Which columns form the vectors, e.g. `{"type": "single", "columns": ["emb"]}`.
    pub fields: serde_json::Value,
    pub algorithm: String,
    pub params: serde_json::Value,
    pub seed: u64,
    pub n_components: u32,
    /// Project only these rows (sorted, unique row ids of the table version); `None`: every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<u32>>,
}

impl ProjectionSpec {
    /// The cache key: blake3 of the spec as JSON. `serde_json` objects keep their keys sorted, so
    /// the same parameters in any order give the same key.
    pub fn cache_key(&self) -> String {
        let mut canonical = serde_json::json!({
            "table_id": self.table_id,
            "fields": self.fields,
            "algorithm": self.algorithm,
            "params": self.params,
            "seed": self.seed,
            "n_components": self.n_components,
        });
        // Only subsets add a key, so the keys of whole-table projections stay as they were.
        if let Some(rows) = &self.rows {
            canonical["rows"] =
                serde_json::Value::from(blake3::hash(&rows_to_blob(rows)).to_hex().to_string());
        }
        blake3::hash(canonical.to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionStatus {
    /// Registered; coordinates not yet stored.
    Pending,
    Done,
    Failed,
}

impl ProjectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionStatus::Pending => "pending",
            ProjectionStatus::Done => "done",
            ProjectionStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> ProjectionStatus {
        match s {
            "done" => ProjectionStatus::Done,
            "pending" => ProjectionStatus::Pending,
            _ => ProjectionStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub id: ProjectionId,
    pub key: String,
    pub table_id: TableId,
    pub fields: serde_json::Value,
    pub algorithm: String,
    pub params: serde_json::Value,
    pub seed: u64,
    pub n_components: u32,
    /// Rows projected: the table's, or the subset's (the coordinates hold `n_rows ×
    /// n_components` values).
    pub n_rows: u64,
    /// Whether only some rows were projected ([`Store::projection_rows`] lists them, in the
    /// order of the coordinates).
    pub rows_subset: bool,
    pub status: ProjectionStatus,
    pub metrics: Option<serde_json::Value>,
    pub elapsed_secs: Option<f64>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const PROJECTION_COLUMNS: &str = "p.id, p.key, p.table_id, p.fields, p.algorithm, p.params, p.seed, \
     p.n_components, CASE WHEN p.rows IS NULL THEN t.n_rows ELSE length(p.rows) / 4 END, p.status, \
     p.metrics, p.elapsed_secs, p.error, p.created_at, p.updated_at, p.coords_file, p.rows IS NOT NULL";

fn json(s: String) -> serde_json::Value {
    serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
}

fn projection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Projection, Option<String>)> {
    Ok((
        Projection {
            id: r.get(0)?,
            key: r.get(1)?,
            table_id: r.get(2)?,
            fields: json(r.get(3)?),
            algorithm: r.get(4)?,
            params: json(r.get(5)?),
            seed: r.get::<_, i64>(6)? as u64,
            n_components: r.get::<_, i64>(7)? as u32,
            n_rows: r.get::<_, i64>(8)? as u64,
            status: ProjectionStatus::parse(&r.get::<_, String>(9)?),
            metrics: r.get::<_, Option<String>>(10)?.map(json),
            elapsed_secs: r.get(11)?,
            error: r.get(12)?,
            created_at: r.get(13)?,
            updated_at: r.get(14)?,
            rows_subset: r.get(16)?,
        },
        r.get(15)?,
    ))
}

impl Store {
    /// The projection for `spec`, registered as pending if new. The flag says whether this call
    /// created it (so the caller should start computing it).
    pub fn get_or_create_projection(&self, spec: &ProjectionSpec) -> Result<(Projection, bool)> {
        if !(1..=3).contains(&spec.n_components) {
            return Err(StoreError::InvalidProjection {
                projection_id: 0,
                detail: format!("n_components is {}; expected 1, 2 or 3", spec.n_components),
            });
        }
        let info = self.table_info(spec.table_id)?;
        if let Some(rows) = &spec.rows {
            let checked = checked_rows(spec.table_id, info.n_rows, rows)?;
            if checked != *rows {
                return Err(StoreError::InvalidProjection {
                    projection_id: 0,
                    detail: "the rows of a subset projection must be sorted and unique".into(),
                });
            }
            if rows.is_empty() {
                return Err(StoreError::InvalidProjection {
                    projection_id: 0,
                    detail: "a subset projection needs at least one row".into(),
                });
            }
        }
        let key = spec.cache_key();
        let created = {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "INSERT INTO projections (key, table_id, fields, algorithm, params, seed, n_components, rows, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', {NOW}, {NOW}) ON CONFLICT (key) DO NOTHING"
                ),
                params![
                    key,
                    spec.table_id,
                    spec.fields.to_string(),
                    spec.algorithm,
                    spec.params.to_string(),
                    spec.seed as i64,
                    spec.n_components as i64,
                    spec.rows.as_deref().map(rows_to_blob)
                ],
            ))? == 1
        };
        let projection = self.find_projection(&key)?.ok_or(StoreError::UnknownName {
            what: "projection",
            name: key,
        })?;
        Ok((projection, created))
    }

    /// The projection with this cache key (see [`ProjectionSpec::cache_key`]), if any.
    pub fn find_projection(&self, key: &str) -> Result<Option<Projection>> {
        let conn = self.conn();
        Ok(self
            .sql(
                conn.query_row(
                    &format!(
                        "SELECT {PROJECTION_COLUMNS} FROM projections p JOIN tables t ON t.id = p.table_id WHERE p.key = ?1"
                    ),
                    [key],
                    projection_from_row,
                )
                .optional(),
            )?
            .map(|(p, _)| p))
    }

    /// The projection for `spec` if it is cached and done.
    pub fn get_projection(&self, spec: &ProjectionSpec) -> Result<Option<Projection>> {
        Ok(self
            .find_projection(&spec.cache_key())?
            .filter(|p| p.status == ProjectionStatus::Done))
    }

    fn projection_row(&self, id: ProjectionId) -> Result<(Projection, Option<String>)> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                &format!(
                    "SELECT {PROJECTION_COLUMNS} FROM projections p JOIN tables t ON t.id = p.table_id WHERE p.id = ?1"
                ),
                [id],
                projection_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId {
            what: "projection",
            id,
        })
    }

    pub fn projection(&self, id: ProjectionId) -> Result<Projection> {
        Ok(self.projection_row(id)?.0)
    }

    /// Every projection of a table version, oldest first.
    pub fn list_projections(&self, table_id: TableId) -> Result<Vec<Projection>> {
        self.table_info(table_id)?;
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(&format!(
            "SELECT {PROJECTION_COLUMNS} FROM projections p JOIN tables t ON t.id = p.table_id
             WHERE p.table_id = ?1 ORDER BY p.id"
        )))?;
        let rows = self.sql(stmt.query_map([table_id], projection_from_row))?;
        let rows: Vec<(Projection, Option<String>)> = self.sql(rows.collect())?;
        Ok(rows.into_iter().map(|(p, _)| p).collect())
    }

    /// Stores the coordinates (`n_rows × n_components`, row-major) and marks the projection
    /// done. A projection already done keeps its first result (same spec, same seed).
    pub fn finish_projection(
        &self,
        id: ProjectionId,
        coords: &[f32],
        metrics: &serde_json::Value,
        elapsed_secs: f64,
    ) -> Result<Projection> {
        let (projection, _) = self.projection_row(id)?;
        if projection.status == ProjectionStatus::Done {
            return Ok(projection);
        }
        let expected = projection.n_rows as usize * projection.n_components as usize;
        if coords.len() != expected {
            return Err(StoreError::InvalidProjection {
                projection_id: id,
                detail: format!(
                    "got {} coordinates; expected {} rows × {} components = {expected}",
                    coords.len(),
                    projection.n_rows,
                    projection.n_components
                ),
            });
        }
        let mut tmp = TempFile::create(self.root(), "f32")?;
        let tmp_path = tmp.path().to_path_buf();
        for chunk in coords.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            tmp.write_all(&bytes)
                .map_err(|e| StoreError::io("write", &tmp_path, e))?;
        }
        let rel = format!("{PROJECTIONS_DIR}/{}.f32", files::unique_name());
        let dest = self.root().join(&rel);
        tmp.persist(&dest)?;
        let updated = {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "UPDATE projections SET status = 'done', coords_file = ?2, metrics = ?3, elapsed_secs = ?4,
                     error = NULL, updated_at = {NOW} WHERE id = ?1 AND status != 'done'"
                ),
                params![id, rel, metrics.to_string(), elapsed_secs],
            ))
        };
        match updated {
            Ok(1) => {}
            // Another process finished it first, or the update failed: our file is unused.
            Ok(_) => {
                let _ = fs::remove_file(&dest);
            }
            Err(e) => {
                let _ = fs::remove_file(&dest);
                return Err(e);
            }
        }
        self.projection(id)
    }

    /// Marks a projection failed with a message (a done projection stays done).
    pub fn fail_projection(&self, id: ProjectionId, error: &str) -> Result<()> {
        self.projection_row(id)?;
        let conn = self.conn();
        self.sql(conn.execute(
            &format!(
                "UPDATE projections SET status = 'failed', error = ?2, updated_at = {NOW}
                 WHERE id = ?1 AND status != 'done'"
            ),
            params![id, error],
        ))?;
        Ok(())
    }

    /// Sets a failed projection back to pending, to compute it again.
    pub fn retry_projection(&self, id: ProjectionId) -> Result<Projection> {
        self.projection_row(id)?;
        {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "UPDATE projections SET status = 'pending', error = NULL, updated_at = {NOW}
                     WHERE id = ?1 AND status = 'failed'"
                ),
                [id],
            ))?;
        }
        self.projection(id)
    }

    /// Registers and finishes in one call: the coordinates of `spec` become cached.
    pub fn put_projection(
        &self,
        spec: &ProjectionSpec,
        coords: &[f32],
        metrics: &serde_json::Value,
        elapsed_secs: f64,
    ) -> Result<Projection> {
        let (projection, _) = self.get_or_create_projection(spec)?;
        self.finish_projection(projection.id, coords, metrics, elapsed_secs)
    }

    /// The coordinates file's bytes: little-endian `f32`, `n_rows × n_components`, row-major
    /// (the body the HTTP API serves as is).
    pub fn projection_coords_bytes(&self, id: ProjectionId) -> Result<Vec<u8>> {
        let (projection, file) = self.projection_row(id)?;
        let Some(rel) = file.filter(|_| projection.status == ProjectionStatus::Done) else {
            return Err(StoreError::InvalidProjection {
                projection_id: id,
                detail: format!(
                    "has no coordinates yet (status {}); expected a finished projection",
                    projection.status.as_str()
                ),
            });
        };
        let path = self.root().join(rel);
        let bytes = fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
        let expected = projection.n_rows as usize * projection.n_components as usize * 4;
        if bytes.len() != expected {
            return Err(StoreError::InvalidProjection {
                projection_id: id,
                detail: format!(
                    "coordinates file {} holds {} bytes; expected {expected}",
                    path.display(),
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }

    /// The row ids a subset projection holds, in the order of its coordinates; `None` for a
    /// projection of every row.
    pub fn projection_rows(&self, id: ProjectionId) -> Result<Option<Vec<u32>>> {
        self.projection_row(id)?;
        let blob: Option<Vec<u8>> = {
            let conn = self.conn();
            self.sql(
                conn.query_row("SELECT rows FROM projections WHERE id = ?1", [id], |r| {
                    r.get(0)
                }),
            )?
        };
        Ok(blob.map(|b| rows_from_blob(&b)))
    }

    /// The coordinates as `f32`s, `n_rows × n_components`, row-major.
    pub fn projection_coords(&self, id: ProjectionId) -> Result<Vec<f32>> {
        let bytes = self.projection_coords_bytes(id)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
