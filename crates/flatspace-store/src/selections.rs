//! Named row selections of a table version ("these points I circled"), kept in the catalog. The
//! rows are stored compactly as one blob of little-endian `u32` row ids, sorted and unique
//! (4 bytes a row: a million-row selection is 4 MB).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::catalog::NOW;
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::{SelectionId, TableId};

/// Longest selection name accepted, in characters.
pub const MAX_SELECTION_NAME_CHARS: usize = 200;

/// A saved selection without its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectionInfo {
    pub id: SelectionId,
    pub table_id: TableId,
    pub name: String,
    pub n_rows: u64,
    pub created_at: String,
}

/// Row ids as the catalog stores them: little-endian `u32`s.
pub(crate) fn rows_to_blob(rows: &[u32]) -> Vec<u8> {
    rows.iter().flat_map(|r| r.to_le_bytes()).collect()
}

pub(crate) fn rows_from_blob(blob: &[u8]) -> Vec<u32> {
    blob.chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `rows` sorted and unique, each checked against the table's row count.
pub(crate) fn checked_rows(table_id: TableId, n_rows: u64, rows: &[u32]) -> Result<Vec<u32>> {
    if let Some(&row) = rows.iter().find(|&&r| u64::from(r) >= n_rows) {
        return Err(StoreError::RowOutOfRange {
            table_id,
            row: u64::from(row),
            n_rows,
        });
    }
    let mut sorted = rows.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted)
}

const SELECTION_COLUMNS: &str = "id, table_id, name, n_rows, created_at";

fn selection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SelectionInfo> {
    Ok(SelectionInfo {
        id: r.get(0)?,
        table_id: r.get(1)?,
        name: r.get(2)?,
        n_rows: r.get::<_, i64>(3)? as u64,
        created_at: r.get(4)?,
    })
}

impl Store {
    /// Saves `rows` of table `table_id` under `name`; a selection of that name on the same table
    /// is replaced (it keeps its id). Rows are stored sorted and unique; an empty selection is
    /// allowed. Errors on an empty or over-long name and on a row beyond the table.
    pub fn save_selection(
        &self,
        table_id: TableId,
        name: &str,
        rows: &[u32],
    ) -> Result<SelectionInfo> {
        if name.trim().is_empty() {
            return Err(StoreError::EmptyName {
                what: "a selection name",
            });
        }
        let n_chars = name.chars().count();
        if n_chars > MAX_SELECTION_NAME_CHARS {
            return Err(StoreError::InvalidName {
                what: "a selection name",
                detail: format!(
                    "it has {n_chars} characters; at most {MAX_SELECTION_NAME_CHARS} are allowed"
                ),
            });
        }
        let info = self.table_info(table_id)?;
        let rows = checked_rows(table_id, info.n_rows, rows)?;
        let id: SelectionId = {
            let conn = self.conn();
            self.sql(conn.query_row(
                &format!(
                    "INSERT INTO selections (table_id, name, n_rows, rows, created_at)
                     VALUES (?1, ?2, ?3, ?4, {NOW})
                     ON CONFLICT (table_id, name) DO UPDATE SET
                        n_rows = excluded.n_rows, rows = excluded.rows, created_at = excluded.created_at
                     RETURNING id"
                ),
                params![table_id, name, rows.len() as i64, rows_to_blob(&rows)],
                |r| r.get(0),
            ))?
        };
        self.selection_info(id)
    }

    /// Every selection of a table version, by name.
    pub fn list_selections(&self, table_id: TableId) -> Result<Vec<SelectionInfo>> {
        self.table_info(table_id)?;
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(&format!(
            "SELECT {SELECTION_COLUMNS} FROM selections WHERE table_id = ?1 ORDER BY name, id"
        )))?;
        let rows = self.sql(stmt.query_map([table_id], selection_from_row))?;
        self.sql(rows.collect())
    }

    pub fn selection_info(&self, id: SelectionId) -> Result<SelectionInfo> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                &format!("SELECT {SELECTION_COLUMNS} FROM selections WHERE id = ?1"),
                [id],
                selection_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId {
            what: "selection",
            id,
        })
    }

    /// The selection and its rows (sorted, unique).
    pub fn selection(&self, id: SelectionId) -> Result<(SelectionInfo, Vec<u32>)> {
        let info = self.selection_info(id)?;
        let blob: Vec<u8> = {
            let conn = self.conn();
            self.sql(
                conn.query_row("SELECT rows FROM selections WHERE id = ?1", [id], |r| {
                    r.get(0)
                }),
            )?
        };
        Ok((info, rows_from_blob(&blob)))
    }

    /// The selection named `name` on table `table_id`, if any.
    pub fn find_selection(&self, table_id: TableId, name: &str) -> Result<Option<SelectionInfo>> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                &format!(
                    "SELECT {SELECTION_COLUMNS} FROM selections WHERE table_id = ?1 AND name = ?2"
                ),
                params![table_id, name],
                selection_from_row,
            )
            .optional(),
        )
    }

    /// Removes a selection; errors if there is none with this id.
    pub fn delete_selection(&self, id: SelectionId) -> Result<()> {
        let conn = self.conn();
        let n = self.sql(conn.execute("DELETE FROM selections WHERE id = ?1", [id]))?;
        if n == 0 {
            return Err(StoreError::UnknownId {
                what: "selection",
                id,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trips_and_rows_are_checked() {
        let rows = [5u32, 0, u32::MAX - 1, 5, 17];
        let checked = checked_rows(1, u64::from(u32::MAX), &rows).expect("in range");
        assert_eq!(checked, vec![0, 5, 17, u32::MAX - 1]);
        assert_eq!(rows_from_blob(&rows_to_blob(&checked)), checked);
        assert_eq!(rows_to_blob(&[1, 256]), vec![1, 0, 0, 0, 0, 1, 0, 0]);
        let err = checked_rows(3, 10, &[2, 10]).expect_err("10 is beyond 10 rows");
        let message = err.to_string();
        assert!(
            message.contains("row 10") && message.contains("10 rows"),
            "{message}"
        );
    }
}
