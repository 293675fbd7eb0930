//! Embedding columns: one `FixedSizeList<Float32, dim>` cell per row.
//!
//! Input cells may be lists of ints or floats (`List`, `LargeList`, `FixedSizeList` of any numeric
//! type); all become `f32`. A row whose length differs from the first row's is an error naming the
//! row and column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, PrimitiveArray};
use arrow_buffer::ScalarBuffer;
use arrow_schema::{DataType, Field};

use crate::error::{Result, TableError};

/// The Arrow type of an embedding column of `dim` values per row.
pub fn embedding_data_type(dim: usize) -> Result<DataType> {
    let size = i32::try_from(dim).map_err(|_| TableError::UnsupportedType {
        file: None,
        column: String::new(),
        data_type: format!("vectors of {dim} values"),
        expected: format!("at most {} values per vector", i32::MAX),
    })?;
    Ok(DataType::FixedSizeList(
        Arc::new(Field::new_list_field(DataType::Float32, true)),
        size,
    ))
}

/// The field of an embedding column.
pub fn embedding_field(name: &str, dim: usize) -> Result<Field> {
    Ok(Field::new(name, embedding_data_type(dim)?, false))
}

/// Wraps a row-major `n_rows × dim` buffer as an embedding column without copying it.
pub fn embedding_from_row_major(
    values: impl Into<ScalarBuffer<f32>>,
    dim: usize,
) -> Result<FixedSizeListArray> {
    let values: ScalarBuffer<f32> = values.into();
    if dim == 0 {
        return Err(TableError::UnsupportedType {
            file: None,
            column: String::new(),
            data_type: "vectors of 0 values".into(),
            expected: "at least one value per vector".into(),
        });
    }
    let DataType::FixedSizeList(item, size) = embedding_data_type(dim)? else {
        unreachable!("embedding_data_type returns a FixedSizeList")
    };
    if !values.len().is_multiple_of(dim) {
        return Err(TableError::Arrow {
            file: None,
            source: arrow_schema::ArrowError::InvalidArgumentError(format!(
                "{} values do not split into rows of {dim}",
                values.len()
            )),
        });
    }
    let values = Float32Array::new(values, None);
    Ok(FixedSizeListArray::try_new(
        item,
        size,
        Arc::new(values),
        None,
    )?)
}

/// The row-major `f32` values of an embedding column, zero-copy, with its dimension.
/// `None` if the column is not `FixedSizeList<Float32>` or has null rows.
pub fn embedding_values(array: &dyn Array) -> Option<(&[f32], usize)> {
    let list = array.as_fixed_size_list_opt()?;
    if list.null_count() > 0 {
        return None;
    }
    let dim = usize::try_from(list.value_length()).ok()?;
    let values = list.values().as_primitive_opt::<Float32Type>()?;
    let start = list.offset() * dim;
    let end = start + list.len() * dim;
    values.values().get(start..end).map(|slice| (slice, dim))
}

/// Collects vectors row by row into an embedding column; the first row fixes the dimension.
#[derive(Debug)]
pub struct EmbeddingBuilder {
    column: String,
    dim: Option<usize>,
    n_rows: usize,
    values: Vec<f32>,
}

impl EmbeddingBuilder {
    pub fn new(column: impl Into<String>) -> Self {
        EmbeddingBuilder {
            column: column.into(),
            dim: None,
            n_rows: 0,
            values: Vec::new(),
        }
    }

    pub fn with_capacity(column: impl Into<String>, n_rows: usize, dim: usize) -> Self {
        EmbeddingBuilder {
            column: column.into(),
            dim: Some(dim),
            n_rows: 0,
            values: Vec::with_capacity(n_rows.saturating_mul(dim)),
        }
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn dim(&self) -> Option<usize> {
        self.dim
    }

    /// Appends one row's vector; errors if its length differs from the first row's.
    pub fn push<T: Copy + Into<f64>>(&mut self, row: &[T]) -> Result<()> {
        self.check_len(row.len())?;
        // Through f64 so that i64-like inputs and f64 share one path; `as f32` rounds to nearest.
        self.values.extend(row.iter().map(|&v| v.into() as f32));
        self.n_rows += 1;
        Ok(())
    }

    /// Appends one row given as `f32` values (no conversion).
    pub fn push_f32(&mut self, row: &[f32]) -> Result<()> {
        self.check_len(row.len())?;
        self.values.extend_from_slice(row);
        self.n_rows += 1;
        Ok(())
    }

    fn check_len(&mut self, len: usize) -> Result<()> {
        match self.dim {
            Some(dim) if dim != len => Err(TableError::Ragged {
                file: None,
                column: self.column.clone(),
                row: self.n_rows,
                expected: dim,
                found: len,
            }),
            Some(_) => Ok(()),
            None if len == 0 => Err(TableError::BadValue {
                file: None,
                column: self.column.clone(),
                row: self.n_rows,
                line: None,
                expected: "a vector of at least one number".into(),
                value: "[]".into(),
            }),
            None => {
                self.dim = Some(len);
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<FixedSizeListArray> {
        let dim = self.dim.unwrap_or(1);
        embedding_from_row_major(self.values, dim)
    }
}

/// True for the Arrow types whose values can be embedding elements.
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_integer() || data_type.is_floating()
}

/// Converts a list column of numbers (`List`, `LargeList`, `FixedSizeList`) into an embedding
/// column `FixedSizeList<Float32, dim>`. Null rows, null elements and ragged rows are errors.
/// Returns `None` if `array` is not a list of numbers.
pub fn embedding_from_list(column: &str, array: &dyn Array) -> Option<Result<FixedSizeListArray>> {
    let (item_type, offsets): (&DataType, Vec<usize>) = match array.data_type() {
        DataType::List(item) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
            (item.data_type(), offsets)
        }
        DataType::LargeList(item) => {
            let list = array.as_list::<i64>();
            let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
            (item.data_type(), offsets)
        }
        DataType::FixedSizeList(item, size) => {
            let size = *size as usize;
            let list = array.as_fixed_size_list();
            let start = list.offset() * size;
            let offsets = (0..=list.len()).map(|i| start + i * size).collect();
            (item.data_type(), offsets)
        }
        _ => return None,
    };
    if !is_numeric(item_type) {
        return None;
    }
    // Already the stored form: keep the buffers (no copy of a 70,000 × 784 matrix).
    if let (DataType::FixedSizeList(_, size), DataType::Float32) = (array.data_type(), item_type)
        && *size > 0
        && array.null_count() == 0
        && array.as_fixed_size_list().values().null_count() == 0
    {
        let list = array.as_fixed_size_list();
        let (_, size, values, nulls) = list.clone().into_parts();
        let item = Arc::new(Field::new_list_field(DataType::Float32, true));
        return Some(
            FixedSizeListArray::try_new(item, size, values, nulls).map_err(TableError::from),
        );
    }
    Some(list_to_embedding(column, array, &offsets))
}

fn list_values(array: &dyn Array) -> &ArrayRef {
    match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().values(),
        DataType::LargeList(_) => array.as_list::<i64>().values(),
        _ => array.as_fixed_size_list().values(),
    }
}

fn list_to_embedding(
    column: &str,
    array: &dyn Array,
    offsets: &[usize],
) -> Result<FixedSizeListArray> {
    let values = list_values(array);
    for row in 0..array.len() {
        if array.is_null(row) {
            return Err(TableError::MissingValue {
                file: None,
                column: column.into(),
                row,
                expected: "a vector in every row of an embedding column".into(),
            });
        }
    }
    let values_f32 = to_f32(values.as_ref());
    let mut builder = EmbeddingBuilder::new(column);
    for (row, pair) in offsets.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        if let Some(pos) = (start..end).find(|&i| values.is_null(i)) {
            return Err(TableError::MissingValue {
                file: None,
                column: column.into(),
                row,
                expected: format!("a number at vector element {}", pos - start),
            });
        }
        builder.push_f32(&values_f32[start..end])?;
    }
    if array.is_empty() {
        // Keep the declared size of an empty FixedSizeList.
        if let DataType::FixedSizeList(_, size) = array.data_type() {
            return embedding_from_row_major(Vec::<f32>::new(), (*size).max(1) as usize);
        }
    }
    builder.finish()
}

fn cast_values<T: ArrowPrimitiveType>(array: &dyn Array, f: impl Fn(T::Native) -> f32) -> Vec<f32> {
    let array: &PrimitiveArray<T> = array.as_primitive();
    array.values().iter().map(|&v| f(v)).collect()
}

/// All values of a numeric array as `f32` (nulls read as whatever the buffer holds; callers check).
pub(crate) fn to_f32(array: &dyn Array) -> Vec<f32> {
    match array.data_type() {
        DataType::Float32 => array.as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => cast_values::<Float64Type>(array, |v| v as f32),
        DataType::Float16 => cast_values::<Float16Type>(array, |v| v.to_f32()),
        DataType::Int8 => cast_values::<Int8Type>(array, f32::from),
        DataType::Int16 => cast_values::<Int16Type>(array, f32::from),
        DataType::Int32 => cast_values::<Int32Type>(array, |v| v as f32),
        DataType::Int64 => cast_values::<Int64Type>(array, |v| v as f32),
        DataType::UInt8 => cast_values::<UInt8Type>(array, f32::from),
        DataType::UInt16 => cast_values::<UInt16Type>(array, f32::from),
        DataType::UInt32 => cast_values::<UInt32Type>(array, |v| v as f32),
        DataType::UInt64 => cast_values::<UInt64Type>(array, |v| v as f32),
        _ => vec![f32::NAN; array.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{FixedSizeListBuilder, Float64Builder, Int64Builder, ListBuilder};

    #[test]
    fn list_of_ints_becomes_f32_embedding() {
        let mut b = ListBuilder::new(Int64Builder::new());
        b.values().append_slice(&[1, 2, 3]);
        b.append(true);
        b.values().append_slice(&[-4, 5, 6]);
        b.append(true);
        let list = b.finish();
        let emb = embedding_from_list("v", &list)
            .expect("is a numeric list")
            .expect("rows have equal length");
        let (values, dim) = embedding_values(&emb).expect("f32 embedding");
        assert_eq!(dim, 3);
        assert_eq!(values, &[1.0, 2.0, 3.0, -4.0, 5.0, 6.0]);
    }

    #[test]
    fn ragged_list_names_row_and_column() {
        let mut b = ListBuilder::new(Float64Builder::new());
        b.values().append_slice(&[1.0, 2.0]);
        b.append(true);
        b.values().append_slice(&[1.0, 2.0]);
        b.append(true);
        b.values().append_slice(&[1.0, 2.0, 3.0]);
        b.append(true);
        let err = embedding_from_list("vec", &b.finish())
            .expect("is a numeric list")
            .expect_err("ragged");
        match err {
            TableError::Ragged {
                column,
                row,
                expected,
                found,
                ..
            } => assert_eq!((column.as_str(), row, expected, found), ("vec", 2, 2, 3)),
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn null_row_is_an_error() {
        let mut b = ListBuilder::new(Float64Builder::new());
        b.values().append_slice(&[1.0]);
        b.append(true);
        b.append(false);
        let err = embedding_from_list("e", &b.finish())
            .expect("is a numeric list")
            .expect_err("null row");
        assert!(err.to_string().contains("row 1"), "{err}");
    }

    #[test]
    fn sliced_fixed_size_list_keeps_offset() {
        let mut b = FixedSizeListBuilder::new(Float64Builder::new(), 2);
        for row in 0..4 {
            b.values().append_slice(&[row as f64, row as f64 + 0.5]);
            b.append(true);
        }
        let list = b.finish().slice(1, 2);
        let emb = embedding_from_list("e", &list).expect("list").expect("ok");
        let (values, _) = embedding_values(&emb).expect("f32");
        assert_eq!(values, &[1.0, 1.5, 2.0, 2.5]);
        let sliced = emb.slice(1, 1);
        assert_eq!(embedding_values(&sliced).expect("f32").0, &[2.0, 2.5]);
    }

    #[test]
    fn strings_are_not_embeddings() {
        let mut b = ListBuilder::new(arrow_array::builder::StringBuilder::new());
        b.values().append_value("a");
        b.append(true);
        assert!(embedding_from_list("s", &b.finish()).is_none());
    }
}
