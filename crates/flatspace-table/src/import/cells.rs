//! Typing a column of text cells (CSV, TSV metadata) into an Arrow column.
//!
//! Empty cells are missing values (null). A column whose first non-empty cell starts with `[` is a
//! vector column ("[1, 2, 3]" or numpy's "[1. 2. 3.]") and becomes an embedding. Otherwise a column
//! is boolean if every non-empty cell is `true`/`false`; numeric (`Int64`, else `Float64`) if its
//! cells are numbers; text otherwise. In strict mode (CSV) a column where most cells are numbers
//! is numeric and a text cell in it is an error naming the row; in lenient mode (TSV metadata, where
//! TensorBoard users mix labels freely) a single text cell makes the column text.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow_schema::Field;

use crate::embedding::{EmbeddingBuilder, embedding_field};
use crate::error::{Result, TableError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Strict,
    Lenient,
}

/// Where a row came from, for error messages.
pub(crate) trait RowLines {
    fn line(&self, row: usize) -> Option<u64>;
}

impl<F: Fn(usize) -> Option<u64>> RowLines for F {
    fn line(&self, row: usize) -> Option<u64> {
        self(row)
    }
}

fn is_bool(cell: &str) -> bool {
    matches!(cell, "true" | "false" | "True" | "False" | "TRUE" | "FALSE")
}

fn parse_bool(cell: &str) -> bool {
    matches!(cell, "true" | "True" | "TRUE")
}

/// Parses "[1, 2, 3]", "[1. 2. 3.]" or "[]" into numbers.
pub fn parse_vector(cell: &str) -> Option<Vec<f32>> {
    let inner = cell.trim().strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f32>().ok())
        .collect()
}

/// Types one column. `cell(row)` returns the raw cell text (`None` past a short row).
pub(crate) fn build_column<'a>(
    name: &str,
    n_rows: usize,
    cell: impl Fn(usize) -> Option<&'a str>,
    mode: Mode,
    lines: &dyn RowLines,
) -> Result<(Field, ArrayRef)> {
    let trimmed = |row: usize| cell(row).map(str::trim).filter(|c| !c.is_empty());
    let first = (0..n_rows).find_map(trimmed);
    let Some(first) = first else {
        // Nothing but empty cells: a text column of nulls.
        let values: StringArray = (0..n_rows).map(|_| None::<&str>).collect();
        return Ok((
            Field::new(name, arrow_schema::DataType::Utf8, true),
            Arc::new(values),
        ));
    };
    if first.starts_with('[') {
        return build_vector_column(name, n_rows, trimmed, lines);
    }
    let (mut n_nonempty, mut n_numbers, mut n_bools, mut all_ints) = (0usize, 0usize, 0usize, true);
    for row in 0..n_rows {
        if let Some(c) = trimmed(row) {
            n_nonempty += 1;
            if is_bool(c) {
                n_bools += 1;
            } else if c.parse::<i64>().is_ok() {
                n_numbers += 1;
            } else if c.parse::<f64>().is_ok() {
                n_numbers += 1;
                all_ints = false;
            }
        }
    }
    let nullable = n_nonempty < n_rows;
    if n_bools == n_nonempty {
        let values: BooleanArray = (0..n_rows).map(|r| trimmed(r).map(parse_bool)).collect();
        return Ok((
            Field::new(name, arrow_schema::DataType::Boolean, nullable),
            Arc::new(values),
        ));
    }
    let numeric = match mode {
        Mode::Strict => n_numbers * 2 > n_nonempty,
        Mode::Lenient => n_numbers == n_nonempty,
    };
    if !numeric {
        let values: StringArray = (0..n_rows)
            .map(|r| cell(r).filter(|c| !c.trim().is_empty()))
            .collect();
        return Ok((
            Field::new(name, arrow_schema::DataType::Utf8, nullable),
            Arc::new(values),
        ));
    }
    let bad = |row: usize, value: &str| TableError::BadValue {
        file: None,
        column: name.into(),
        row,
        line: lines.line(row),
        expected: "a number (most of this column's cells are numbers)".into(),
        value: value.into(),
    };
    if all_ints {
        let mut values = Vec::with_capacity(n_rows);
        for row in 0..n_rows {
            values.push(match trimmed(row) {
                Some(c) => Some(c.parse::<i64>().map_err(|_| bad(row, c))?),
                None => None,
            });
        }
        let values = Int64Array::from(values);
        Ok((
            Field::new(name, arrow_schema::DataType::Int64, nullable),
            Arc::new(values),
        ))
    } else {
        let mut values = Vec::with_capacity(n_rows);
        for row in 0..n_rows {
            values.push(match trimmed(row) {
                Some(c) => Some(c.parse::<f64>().map_err(|_| bad(row, c))?),
                None => None,
            });
        }
        let values = Float64Array::from(values);
        Ok((
            Field::new(name, arrow_schema::DataType::Float64, nullable),
            Arc::new(values),
        ))
    }
}

fn build_vector_column<'a>(
    name: &str,
    n_rows: usize,
    trimmed: impl Fn(usize) -> Option<&'a str>,
    lines: &dyn RowLines,
) -> Result<(Field, ArrayRef)> {
    let mut builder = EmbeddingBuilder::new(name);
    for row in 0..n_rows {
        let Some(c) = trimmed(row) else {
            return Err(TableError::MissingValue {
                file: None,
                column: name.into(),
                row,
                expected: "a vector like [1, 2, 3] in every row of a vector column".into(),
            });
        };
        let vector = parse_vector(c).ok_or_else(|| TableError::BadValue {
            file: None,
            column: name.into(),
            row,
            line: lines.line(row),
            expected: "a vector of numbers like [1, 2, 3]".into(),
            value: c.into(),
        })?;
        builder.push_f32(&vector)?;
    }
    let dim = builder.dim().unwrap_or(1);
    let array = builder.finish()?;
    Ok((embedding_field(name, dim)?, Arc::new(array)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;

    fn no_lines(_: usize) -> Option<u64> {
        None
    }

    fn column(cells: &[&str], mode: Mode) -> Result<(Field, ArrayRef)> {
        build_column("c", cells.len(), |r| cells.get(r).copied(), mode, &no_lines)
    }

    #[test]
    fn ints_floats_bools_text() {
        let (f, a) = column(&["1", " 2", ""], Mode::Strict).expect("ints");
        assert_eq!(f.data_type(), &DataType::Int64);
        assert!(a.is_null(2));
        let (f, _) = column(&["1", "2.5"], Mode::Strict).expect("floats");
        assert_eq!(f.data_type(), &DataType::Float64);
        let (f, _) = column(&["true", "False"], Mode::Strict).expect("bools");
        assert_eq!(f.data_type(), &DataType::Boolean);
        let (f, a) = column(&["a b", "1"], Mode::Lenient).expect("text");
        assert_eq!(f.data_type(), &DataType::Utf8);
        assert_eq!(a.as_string::<i32>().value(1), "1");
    }

    #[test]
    fn text_in_numeric_column_is_an_error_in_strict_mode() {
        let lines = |r: usize| Some(r as u64 + 2);
        let cells = ["1", "2", "three", "4"];
        let err = build_column("x", 4, |r| cells.get(r).copied(), Mode::Strict, &lines)
            .expect_err("text");
        let msg = err.to_string();
        assert!(
            msg.contains("column 'x', row 2 (line 4)") && msg.contains("'three'"),
            "{msg}"
        );
    }

    #[test]
    fn vector_cells_become_an_embedding() {
        let (f, a) = column(&["[1, 2, 3]", "[4. 5. 6.]"], Mode::Strict).expect("vectors");
        assert!(matches!(f.data_type(), DataType::FixedSizeList(_, 3)));
        let (values, _) = crate::embedding::embedding_values(a.as_ref()).expect("f32");
        assert_eq!(values, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let err = column(&["[1, 2]", "[1, 2, 3]"], Mode::Strict).expect_err("ragged");
        assert!(matches!(err, TableError::Ragged { row: 1, .. }), "{err}");
        let err = column(&["[1, 2]", "[1, x]"], Mode::Strict).expect_err("not a number");
        assert!(matches!(err, TableError::BadValue { row: 1, .. }), "{err}");
    }
}
