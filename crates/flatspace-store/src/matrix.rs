//! Embeddings as a contiguous row-major `f32` matrix, the shape every compute algorithm takes.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_buffer::ScalarBuffer;
use arrow_schema::DataType;

use crate::error::{Result, StoreError};

/// `n_rows × dim` values, row-major. Backed either by the segment's own buffer (zero-copy, when
/// the table is one record batch) or by one gathered copy.
#[derive(Debug, Clone)]
pub struct F32Matrix {
    n_rows: usize,
    dim: usize,
    data: ScalarBuffer<f32>,
}

impl F32Matrix {
    pub fn new(data: ScalarBuffer<f32>, n_rows: usize, dim: usize) -> Option<Self> {
        (n_rows.checked_mul(dim) == Some(data.len())).then_some(Self { n_rows, dim, data })
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The underlying Arrow buffer (shares memory with the segment when zero-copy).
    pub fn buffer(&self) -> &ScalarBuffer<f32> {
        &self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data.into()
    }
}

/// The embedding column `column` (index `index`) of `batches` as a matrix: zero-copy for one
/// batch, one copy to concatenate several.
pub(crate) fn embedding(
    table_id: i64,
    column: &str,
    index: usize,
    batches: &[RecordBatch],
) -> Result<F32Matrix> {
    let wrong = |found: &DataType| StoreError::WrongColumnKind {
        table_id,
        column: column.to_string(),
        expected: "an embedding (FixedSizeList<Float32, d>)".into(),
        found: found.to_string(),
    };
    let mut parts = Vec::with_capacity(batches.len());
    let mut dim = None;
    let mut n_rows = 0;
    for batch in batches {
        let array = batch.column(index);
        let list = array
            .as_fixed_size_list_opt()
            .ok_or_else(|| wrong(array.data_type()))?;
        let values = list
            .values()
            .as_primitive_opt::<Float32Type>()
            .ok_or_else(|| wrong(array.data_type()))?;
        let d = usize::try_from(list.value_length()).map_err(|_| wrong(array.data_type()))?;
        dim = Some(d);
        if let Some(row) = (0..list.len()).find(|&i| list.is_null(i)) {
            return Err(StoreError::BadValue {
                table_id,
                column: column.to_string(),
                row: n_rows + row,
                detail: "missing vector".into(),
            });
        }
        n_rows += list.len();
        parts.push(values.values().slice(0, list.len() * d));
    }
    let dim = dim.unwrap_or(0);
    let data = if parts.len() == 1 {
        parts.swap_remove(0)
    } else {
        let mut all = Vec::with_capacity(n_rows * dim);
        for part in &parts {
            all.extend_from_slice(part);
        }
        ScalarBuffer::from(all)
    };
    F32Matrix::new(data, n_rows, dim).ok_or_else(|| StoreError::BadValue {
        table_id,
        column: column.to_string(),
        row: 0,
        detail: "vector lengths do not match the column's dimension".into(),
    })
}

/// Several numeric columns gathered into one row-major matrix (one copy, cast to `f32`).
pub(crate) fn gather_numeric(
    table_id: i64,
    columns: &[(String, usize)],
    batches: &[RecordBatch],
) -> Result<F32Matrix> {
    let n_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let dim = columns.len();
    let mut data = vec![0f32; n_rows * dim];
    for (j, (name, index)) in columns.iter().enumerate() {
        let mut row0 = 0;
        for batch in batches {
            let array = batch.column(*index);
            write_column(table_id, name, array, &mut data, row0, j, dim)?;
            row0 += array.len();
        }
    }
    F32Matrix::new(ScalarBuffer::from(data), n_rows, dim).ok_or_else(|| StoreError::BadValue {
        table_id,
        column: String::new(),
        row: 0,
        detail: "internal: gathered matrix has the wrong size".into(),
    })
}

fn write_column(
    table_id: i64,
    name: &str,
    array: &ArrayRef,
    out: &mut [f32],
    row0: usize,
    col: usize,
    dim: usize,
) -> Result<()> {
    if let Some(row) = (0..array.len()).find(|&i| array.is_null(i)) {
        return Err(StoreError::BadValue {
            table_id,
            column: name.to_string(),
            row: row0 + row,
            detail:
                "missing value; expected a number in every row to use the column as a dimension"
                    .into(),
        });
    }
    fn fill<T: ArrowPrimitiveType>(
        array: &ArrayRef,
        out: &mut [f32],
        row0: usize,
        col: usize,
        dim: usize,
        to_f32: impl Fn(T::Native) -> f32,
    ) {
        for (i, v) in array.as_primitive::<T>().values().iter().enumerate() {
            out[(row0 + i) * dim + col] = to_f32(*v);
        }
    }
    match array.data_type() {
        DataType::Float32 => fill::<Float32Type>(array, out, row0, col, dim, |v| v),
        DataType::Float64 => fill::<Float64Type>(array, out, row0, col, dim, |v| v as f32),
        DataType::Float16 => fill::<Float16Type>(array, out, row0, col, dim, |v| v.to_f32()),
        DataType::Int8 => fill::<Int8Type>(array, out, row0, col, dim, f32::from),
        DataType::Int16 => fill::<Int16Type>(array, out, row0, col, dim, f32::from),
        DataType::Int32 => fill::<Int32Type>(array, out, row0, col, dim, |v| v as f32),
        DataType::Int64 => fill::<Int64Type>(array, out, row0, col, dim, |v| v as f32),
        DataType::UInt8 => fill::<UInt8Type>(array, out, row0, col, dim, f32::from),
        DataType::UInt16 => fill::<UInt16Type>(array, out, row0, col, dim, f32::from),
        DataType::UInt32 => fill::<UInt32Type>(array, out, row0, col, dim, |v| v as f32),
        DataType::UInt64 => fill::<UInt64Type>(array, out, row0, col, dim, |v| v as f32),
        other => {
            return Err(StoreError::WrongColumnKind {
                table_id,
                column: name.to_string(),
                expected: "a numeric column (integer or float)".into(),
                found: other.to_string(),
            });
        }
    }
    Ok(())
}
