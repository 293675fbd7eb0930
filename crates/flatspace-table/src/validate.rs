//! Bringing any Arrow table into the forms the product stores, and checking it.
//!
//! [`prepare_batch`] converts list-of-number columns into embeddings, string variants into `Utf8`,
//! and rejects what cannot be shown (no columns, no rows, unnamed or duplicate columns, NaN or
//! infinity, unsupported types). Every importer and the Python SDK go through it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use crate::embedding::{embedding_from_list, embedding_values};
use crate::error::{Result, TableError};
use crate::media::is_image_field;

/// Normalises and validates a table; see the module docs.
pub fn prepare_batch(batch: &RecordBatch) -> Result<RecordBatch> {
    check_shape(
        batch.schema().fields().iter().map(|f| f.name().as_str()),
        batch.num_rows(),
    )?;
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let (field, column) = normalize_column(field, column)?;
        fields.push(field);
        columns.push(column);
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        batch.schema().metadata().clone(),
    ));
    let batch = RecordBatch::try_new(schema, columns)?;
    validate(&batch)?;
    Ok(batch)
}

/// Checks a table already in the stored forms: shape, names, types, finite numbers.
pub fn validate(batch: &RecordBatch) -> Result<()> {
    check_shape(
        batch.schema().fields().iter().map(|f| f.name().as_str()),
        batch.num_rows(),
    )?;
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        validate_column(field, column.as_ref())?;
    }
    Ok(())
}

/// Zero columns, zero rows, empty or duplicate names.
pub fn check_shape<'a>(names: impl IntoIterator<Item = &'a str>, n_rows: usize) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut n_columns = 0;
    for (index, name) in names.into_iter().enumerate() {
        n_columns += 1;
        if name.trim().is_empty() {
            return Err(TableError::EmptyColumnName { file: None, index });
        }
        if let Some(&first) = seen.get(name) {
            return Err(TableError::DuplicateColumn {
                file: None,
                name: name.to_string(),
                first,
                second: index,
            });
        }
        seen.insert(name, index);
    }
    if n_columns == 0 {
        return Err(TableError::NoColumns { file: None });
    }
    if n_rows == 0 {
        return Err(TableError::NoRows { file: None });
    }
    Ok(())
}

fn unsupported(field: &Field, expected: &str) -> TableError {
    TableError::UnsupportedType {
        file: None,
        column: field.name().clone(),
        data_type: field.data_type().to_string(),
        expected: expected.into(),
    }
}

const SUPPORTED: &str = "numbers, booleans, strings, or lists of numbers (vectors)";

fn normalize_column(field: &Arc<Field>, column: &ArrayRef) -> Result<(Arc<Field>, ArrayRef)> {
    let name = field.name();
    let data_type = column.data_type();
    let retype = |array: ArrayRef| {
        let field = Field::new(name, array.data_type().clone(), field.is_nullable())
            .with_metadata(field.metadata().clone());
        (Arc::new(field), array)
    };
    match data_type {
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            match embedding_from_list(name, column.as_ref()) {
                Some(embedding) => {
                    let embedding = embedding?;
                    let field = Field::new(name, embedding.data_type().clone(), false)
                        .with_metadata(field.metadata().clone());
                    Ok((Arc::new(field), Arc::new(embedding)))
                }
                None => Err(unsupported(field, "a list of numbers (one vector per row)")),
            }
        }
        DataType::LargeUtf8 => {
            let strings: StringArray = column.as_string::<i64>().iter().collect();
            Ok(retype(Arc::new(strings)))
        }
        DataType::Utf8View => {
            let strings: StringArray = column.as_string_view().iter().collect();
            Ok(retype(Arc::new(strings)))
        }
        DataType::Dictionary(_, value_type)
            if matches!(
                **value_type,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let dict = column
                .as_any_dictionary_opt()
                .ok_or_else(|| unsupported(field, SUPPORTED))?;
            let keys: UInt32Array = dict
                .normalized_keys()
                .into_iter()
                .enumerate()
                .map(|(row, key)| (!column.is_null(row)).then_some(key as u32))
                .collect();
            let values = arrow_select::take::take(dict.values().as_ref(), &keys, None)?;
            let (field, values) = retype(values);
            normalize_column(&field, &values)
        }
        DataType::Float16 => {
            let values: arrow_array::Float32Array = column
                .as_primitive::<Float16Type>()
                .iter()
                .map(|v| v.map(|v| v.to_f32()))
                .collect();
            Ok(retype(Arc::new(values)))
        }
        t if t.is_integer()
            || t.is_floating()
            || matches!(t, DataType::Boolean | DataType::Utf8) =>
        {
            Ok((field.clone(), column.clone()))
        }
        _ => Err(unsupported(field, SUPPORTED)),
    }
}

fn validate_column(field: &Field, column: &dyn Array) -> Result<()> {
    let name = field.name();
    match column.data_type() {
        DataType::FixedSizeList(_, _) => {
            let (values, dim) = embedding_values(column).ok_or_else(|| {
                if column.null_count() > 0 {
                    let row = (0..column.len()).find(|&r| column.is_null(r)).unwrap_or(0);
                    TableError::MissingValue {
                        file: None,
                        column: name.clone(),
                        row,
                        expected: "a vector in every row of an embedding column".into(),
                    }
                } else {
                    unsupported(field, "FixedSizeList<Float32> for an embedding column")
                }
            })?;
            let list = column.as_fixed_size_list();
            let start = list.offset() * dim;
            if list.values().null_count() > 0 {
                let items = list.values();
                if let Some(i) = (start..start + values.len()).find(|&i| items.is_null(i)) {
                    return Err(TableError::MissingValue {
                        file: None,
                        column: name.clone(),
                        row: (i - start) / dim,
                        expected: format!("a number at vector element {}", (i - start) % dim),
                    });
                }
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(TableError::NonFinite {
                    file: None,
                    column: name.clone(),
                    row: i / dim,
                    position: Some(i % dim),
                    value: f64::from(values[i]),
                });
            }
            Ok(())
        }
        DataType::Float32 => check_finite(
            name,
            column
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from)),
        ),
        DataType::Float64 => check_finite(name, column.as_primitive::<Float64Type>().iter()),
        DataType::Utf8 if is_image_field(field) => {
            let strings = column.as_string::<i32>();
            for (row, hash) in strings.iter().enumerate() {
                if let Some(hash) = hash
                    && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(TableError::BadValue {
                        file: None,
                        column: name.clone(),
                        row,
                        line: None,
                        expected: "a 64-digit hex content hash in an image column".into(),
                        value: hash.into(),
                    });
                }
            }
            Ok(())
        }
        t if t.is_integer() || matches!(t, DataType::Boolean | DataType::Utf8) => Ok(()),
        _ => Err(unsupported(field, SUPPORTED)),
    }
}

fn check_finite(column: &str, values: impl Iterator<Item = Option<f64>>) -> Result<()> {
    for (row, value) in values.enumerate() {
        if let Some(v) = value
            && !v.is_finite()
        {
            return Err(TableError::NonFinite {
                file: None,
                column: column.into(),
                row,
                position: None,
                value: v,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Float64Builder, ListBuilder};
    use arrow_array::{DictionaryArray, Float64Array, Int64Array, LargeStringArray};

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).expect("valid batch")
    }

    #[test]
    fn nan_in_numeric_column_names_row_and_column() {
        let b = batch(vec![(
            "score",
            Arc::new(Float64Array::from(vec![1.0, f64::NAN])) as ArrayRef,
        )]);
        let err = prepare_batch(&b).expect_err("NaN");
        let msg = err.to_string();
        assert!(
            msg.contains("'score'") && msg.contains("row 1") && msg.contains("NaN"),
            "{msg}"
        );
    }

    #[test]
    fn infinity_in_embedding_names_element() {
        let mut lb = ListBuilder::new(Float64Builder::new());
        lb.values().append_slice(&[0.0, 1.0]);
        lb.append(true);
        lb.values().append_slice(&[2.0, f64::INFINITY]);
        lb.append(true);
        let b = batch(vec![("emb", Arc::new(lb.finish()) as ArrayRef)]);
        match prepare_batch(&b).expect_err("inf") {
            TableError::NonFinite {
                column,
                row,
                position,
                ..
            } => assert_eq!((column.as_str(), row, position), ("emb", 1, Some(1))),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn duplicate_and_empty_names_are_rejected() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let schema = Schema::new(vec![
            Field::new("x", DataType::Int64, false),
            Field::new("x", DataType::Int64, false),
        ]);
        let dup =
            RecordBatch::try_new(Arc::new(schema), vec![a.clone(), a.clone()]).expect("batch");
        assert!(matches!(
            prepare_batch(&dup),
            Err(TableError::DuplicateColumn {
                first: 0,
                second: 1,
                ..
            })
        ));
        let schema = Schema::new(vec![Field::new(" ", DataType::Int64, false)]);
        let empty = RecordBatch::try_new(Arc::new(schema), vec![a]).expect("batch");
        assert!(matches!(
            prepare_batch(&empty),
            Err(TableError::EmptyColumnName { index: 0, .. })
        ));
    }

    #[test]
    fn zero_rows_and_zero_columns_are_rejected() {
        let none = RecordBatch::new_empty(Arc::new(Schema::empty()));
        assert!(matches!(
            prepare_batch(&none),
            Err(TableError::NoColumns { .. })
        ));
        let b = batch(vec![(
            "x",
            Arc::new(Int64Array::from(Vec::<i64>::new())) as ArrayRef,
        )]);
        assert!(matches!(prepare_batch(&b), Err(TableError::NoRows { .. })));
    }

    #[test]
    fn string_variants_become_utf8() {
        let dict: DictionaryArray<Int32Type> = vec![Some("b"), None, Some("a"), Some("b")]
            .into_iter()
            .collect();
        let large = LargeStringArray::from(vec!["é", "ü", "日本", "x"]);
        let b = batch(vec![
            ("label", Arc::new(dict) as ArrayRef),
            ("name", Arc::new(large) as ArrayRef),
        ]);
        let out = prepare_batch(&b).expect("valid");
        let label = out.column(0).as_string::<i32>();
        assert_eq!(
            label.iter().collect::<Vec<_>>(),
            vec![Some("b"), None, Some("a"), Some("b")]
        );
        let name = out.column(1).as_string::<i32>();
        assert_eq!(name.value(2), "日本");
    }
}
