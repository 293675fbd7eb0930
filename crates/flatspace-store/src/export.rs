//! Rows of a table version with the coordinates of one of its projections, as one record batch:
//! what the HTTP export, `flatspace export --selection` and the Python SDK hand out.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use crate::error::{Result, StoreError};
use crate::projections::ProjectionStatus;
use crate::store::{Store, TableMeta};
use crate::{ProjectionId, TableId};

/// `name`, or `_name`, `__name`... whichever the table and `taken` do not already use.
fn free_name(meta: &TableMeta, taken: &[String], name: &str) -> String {
    let mut candidate = name.to_owned();
    while meta.columns.iter().any(|c| c.name == candidate) || taken.contains(&candidate) {
        candidate.insert(0, '_');
    }
    candidate
}

impl Store {
    /// The rows `rows` (every row when `None`; any order, each must be in the table) as one
    /// batch: `row_id` (u32), then `x`, `y`[, `z`] (f32) of `projection` when given (null for
    /// rows a subset projection does not hold), then every table column. A table column already
    /// named `row_id`/`x`/`y`/`z` keeps its name; the added one gets a leading `_`.
    pub fn export_rows(
        &self,
        table_id: TableId,
        rows: Option<&[u32]>,
        projection: Option<ProjectionId>,
    ) -> Result<RecordBatch> {
        let meta = self.table(table_id)?;
        let n_rows = meta.info.n_rows;
        if let Some(&row) = rows
            .into_iter()
            .flatten()
            .find(|&&r| u64::from(r) >= n_rows)
        {
            return Err(StoreError::RowOutOfRange {
                table_id,
                row: u64::from(row),
                n_rows,
            });
        }
        let corrupt = |detail: String| StoreError::CorruptSegment {
            table_id,
            path: PathBuf::new(),
            detail,
        };
        let all = usize::try_from(n_rows).unwrap_or(usize::MAX);
        let table = self.read_rows(table_id, 0, all, None)?;
        let row_ids: Vec<u32> = match rows {
            Some(rows) => rows.to_vec(),
            None => (0..n_rows as u32).collect(),
        };
        let table = match rows {
            Some(_) => {
                let indices = UInt32Array::from(row_ids.clone());
                arrow_select::take::take_record_batch(&table, &indices)
                    .map_err(|e| corrupt(e.to_string()))?
            }
            None => table,
        };
        let mut fields: Vec<Field> = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        let row_id = free_name(&meta, &taken, "row_id");
        taken.push(row_id.clone());
        fields.push(Field::new(row_id, DataType::UInt32, false));
        arrays.push(Arc::new(UInt32Array::from(row_ids.clone())));
        if let Some(projection_id) = projection {
            let p = self.projection(projection_id)?;
            let invalid = |detail: String| StoreError::InvalidProjection {
                projection_id,
                detail,
            };
            if p.table_id != table_id {
                return Err(invalid(format!(
                    "is of table {}, not table {table_id}",
                    p.table_id
                )));
            }
            if p.status != ProjectionStatus::Done {
                return Err(invalid(format!(
                    "has no coordinates yet (status {})",
                    p.status.as_str()
                )));
            }
            let coords = self.projection_coords(projection_id)?;
            let held = self.projection_rows(projection_id)?;
            let c = p.n_components as usize;
            // Where each exported row's coordinates are, if the projection holds that row.
            let position = |row: u32| -> Option<usize> {
                match &held {
                    None => Some(row as usize),
                    Some(held) => held.binary_search(&row).ok(),
                }
            };
            for (axis, name) in ["x", "y", "z"].iter().enumerate().take(c) {
                let values: Float32Array = row_ids
                    .iter()
                    .map(|&r| position(r).and_then(|i| coords.get(i * c + axis).copied()))
                    .collect();
                let name = free_name(&meta, &taken, name);
                taken.push(name.clone());
                fields.push(Field::new(name, DataType::Float32, values.null_count() > 0));
                arrays.push(Arc::new(values));
            }
        }
        let schema = table.schema();
        fields.extend(schema.fields().iter().map(|f| f.as_ref().clone()));
        arrays.extend(table.columns().iter().cloned());
        RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
            arrays,
        )
        .map_err(|e| corrupt(e.to_string()))
    }
}
