//! Schema inference: the kind of every column and the defaults a user expects to see first.
//!
//! - A `FixedSizeList` of numbers is an embedding; an image-tagged `Utf8` column is an image.
//! - A string column is a category when its values repeat (at most half as many distinct values as
//!   rows, and at most [`MAX_CATEGORIES`]); otherwise it is free text.
//! - An integer column is a category when it has few distinct values ([`MAX_COLOR_CATEGORIES`],
//!   fewer than half the rows) and either its name reads like a label (`label`, `class`, `target`,
//!   `y`, `cluster`, ...) or at most two integer columns look like that. The second rule keeps the
//!   "many numeric columns" layout working for small-integer features (8×8 digit pixels with
//!   values 0..16 are features, not 64 label columns), while a lone `digit` column is a label.
//! - Floats are numeric; booleans are bool.
//!
//! Defaults: the embedding is the first (usually the single) embedding column; without one, all
//! numeric columns together ("many", at least two). Colour by the first category with at most
//! [`MAX_COLOR_CATEGORIES`] values. The hover overlay is the first image column, else the first
//! text column.

use std::collections::HashSet;
use std::hash::Hash;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::embedding::is_numeric;
use crate::kind::ColumnKind;
use crate::media::is_image_field;

/// A string column with more distinct values than this is text, not a category.
pub const MAX_CATEGORIES: usize = 65_536;
/// The most distinct values a colour-by default (and an integer category) may have.
pub const MAX_COLOR_CATEGORIES: usize = 256;

/// Words that make an integer column read like a label.
const LABEL_WORDS: &[&str] = &[
    "label",
    "labels",
    "class",
    "classes",
    "target",
    "y",
    "category",
    "categories",
    "cluster",
    "clusters",
    "species",
    "digit",
    "tag",
    "group",
    "genre",
    "kind",
    "type",
    "split",
    "fold",
    "lbl",
    "cls",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub columns: Vec<ColumnInfo>,
    pub defaults: Defaults,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Serialised inline: `{"name": .., "kind": "embedding", "dim": 784}`.
    #[serde(flatten)]
    pub kind: ColumnKind,
    /// Distinct non-null values, for category columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_distinct: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldsLayout {
    /// One embedding column.
    Single,
    /// Several numeric columns read together as one vector per row.
    Many,
}

/// Which columns form the vectors to project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmbeddingFields {
    #[serde(rename = "type")]
    pub layout: FieldsLayout,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Defaults {
    /// `None` when the table has nothing to project.
    pub embedding: Option<EmbeddingFields>,
    pub color_by: Option<String>,
    pub overlay: Option<String>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Infers every column's kind and the defaults; see the module docs for the rules.
pub fn infer_schema(batch: &RecordBatch) -> TableSchema {
    let n_rows = batch.num_rows();
    let schema = batch.schema();
    // Integer columns with few distinct values, before deciding which of them are labels.
    let mut columns: Vec<ColumnInfo> = Vec::with_capacity(batch.num_columns());
    let mut small_int: Vec<usize> = Vec::new();
    for (index, (field, array)) in schema.fields().iter().zip(batch.columns()).enumerate() {
        let data_type = array.data_type();
        let (kind, n_distinct) = match data_type {
            DataType::FixedSizeList(item, dim) if is_numeric(item.data_type()) => {
                (ColumnKind::Embedding { dim: *dim as usize }, None)
            }
            DataType::Utf8 if is_image_field(field) => (ColumnKind::Image, None),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let limit = MAX_CATEGORIES.min(n_rows / 2);
                match count_distinct_strings(array.as_ref(), limit) {
                    Some(n) if n >= 1 => (ColumnKind::Category, Some(n)),
                    _ => (ColumnKind::Text, None),
                }
            }
            DataType::Boolean => (ColumnKind::Bool, None),
            t if t.is_integer() => {
                let limit = MAX_COLOR_CATEGORIES.min(n_rows.saturating_sub(1) / 2);
                let n = count_distinct_ints(array.as_ref(), limit);
                if n.is_some() {
                    small_int.push(index);
                }
                (ColumnKind::Numeric, n)
            }
            t if t.is_floating() => (ColumnKind::Numeric, None),
            // Anything else (a list of strings, say) is shown as text.
            _ => (ColumnKind::Text, None),
        };
        columns.push(ColumnInfo {
            name: field.name().clone(),
            kind,
            n_distinct,
        });
    }
    let few_small_ints = small_int.len() <= 2;
    for &index in &small_int {
        let column = &mut columns[index];
        if few_small_ints || reads_like_label(&column.name) {
            column.kind = ColumnKind::Category;
        } else {
            column.n_distinct = None;
        }
    }
    let defaults = infer_defaults(&columns);
    TableSchema { columns, defaults }
}

fn infer_defaults(columns: &[ColumnInfo]) -> Defaults {
    let names_of = |pred: &dyn Fn(&ColumnInfo) -> bool| -> Vec<String> {
        columns
            .iter()
            .filter(|c| pred(c))
            .map(|c| c.name.clone())
            .collect()
    };
    let embeddings = names_of(&|c| matches!(c.kind, ColumnKind::Embedding { .. }));
    let numeric = names_of(&|c| c.kind == ColumnKind::Numeric);
    let embedding = if let Some(first) = embeddings.into_iter().next() {
        Some(EmbeddingFields {
            layout: FieldsLayout::Single,
            columns: vec![first],
        })
    } else if numeric.len() >= 2 {
        Some(EmbeddingFields {
            layout: FieldsLayout::Many,
            columns: numeric,
        })
    } else {
        None
    };
    let color_by = columns
        .iter()
        .find(|c| {
            c.kind == ColumnKind::Category
                && c.n_distinct.is_some_and(|n| n <= MAX_COLOR_CATEGORIES)
        })
        .map(|c| c.name.clone());
    let overlay = columns
        .iter()
        .find(|c| c.kind == ColumnKind::Image)
        .or_else(|| columns.iter().find(|c| c.kind == ColumnKind::Text))
        .map(|c| c.name.clone());
    Defaults {
        embedding,
        color_by,
        overlay,
    }
}

fn reads_like_label(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| LABEL_WORDS.contains(&w.to_lowercase().as_str()))
}

/// Distinct non-null values, or `None` once there are more than `limit`.
fn count_distinct<T: Eq + Hash>(
    values: impl Iterator<Item = Option<T>>,
    limit: usize,
) -> Option<usize> {
    let mut seen = HashSet::new();
    for value in values.flatten() {
        if seen.insert(value) && seen.len() > limit {
            return None;
        }
    }
    Some(seen.len())
}

fn count_distinct_strings(array: &dyn Array, limit: usize) -> Option<usize> {
    match array.data_type() {
        DataType::Utf8 => count_distinct(array.as_string::<i32>().iter(), limit),
        DataType::LargeUtf8 => count_distinct(array.as_string::<i64>().iter(), limit),
        DataType::Utf8View => count_distinct(array.as_string_view().iter(), limit),
        _ => None,
    }
}

fn distinct_primitive<T: ArrowPrimitiveType>(array: &dyn Array, limit: usize) -> Option<usize>
where
    T::Native: Eq + Hash,
{
    count_distinct(array.as_primitive::<T>().iter(), limit)
}

fn count_distinct_ints(array: &dyn Array, limit: usize) -> Option<usize> {
    match array.data_type() {
        DataType::Int8 => distinct_primitive::<Int8Type>(array, limit),
        DataType::Int16 => distinct_primitive::<Int16Type>(array, limit),
        DataType::Int32 => distinct_primitive::<Int32Type>(array, limit),
        DataType::Int64 => distinct_primitive::<Int64Type>(array, limit),
        DataType::UInt8 => distinct_primitive::<UInt8Type>(array, limit),
        DataType::UInt16 => distinct_primitive::<UInt16Type>(array, limit),
        DataType::UInt32 => distinct_primitive::<UInt32Type>(array, limit),
        DataType::UInt64 => distinct_primitive::<UInt64Type>(array, limit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::embedding::embedding_from_row_major;
    use crate::media::image_field;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).expect("valid batch")
    }

    #[test]
    fn single_vector_layout() {
        let n = 40;
        let emb = embedding_from_row_major((0..n * 3).map(|v| v as f32).collect::<Vec<_>>(), 3)
            .expect("emb");
        let labels: Vec<String> = (0..n)
            .map(|i| ["cat", "dog", "émeu"][i % 3].to_string())
            .collect();
        let captions: Vec<String> = (0..n).map(|i| format!("picture number {i}")).collect();
        let ids: Vec<i64> = (0..n as i64).collect();
        let b = batch(vec![
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("caption", Arc::new(StringArray::from(captions))),
            ("vec", Arc::new(emb)),
            ("animal", Arc::new(StringArray::from(labels))),
        ]);
        let s = infer_schema(&b);
        assert_eq!(
            s.column("vec").map(|c| c.kind),
            Some(ColumnKind::Embedding { dim: 3 })
        );
        assert_eq!(s.column("id").map(|c| c.kind), Some(ColumnKind::Numeric));
        assert_eq!(s.column("caption").map(|c| c.kind), Some(ColumnKind::Text));
        assert_eq!(s.column("animal").and_then(|c| c.n_distinct), Some(3));
        assert_eq!(
            s.defaults.embedding,
            Some(EmbeddingFields {
                layout: FieldsLayout::Single,
                columns: vec!["vec".into()]
            })
        );
        assert_eq!(s.defaults.color_by.as_deref(), Some("animal"));
        assert_eq!(s.defaults.overlay.as_deref(), Some("caption"));
    }

    #[test]
    fn many_numeric_columns_layout_with_integer_features() {
        // Digits-like: 10 small-integer pixel columns plus an integer target.
        let n = 60usize;
        let mut columns: Vec<(String, ArrayRef)> = (0..10)
            .map(|j| {
                let values: Vec<i64> = (0..n).map(|i| ((i * (j + 3)) % 17) as i64).collect();
                (
                    format!("pixel_{j}"),
                    Arc::new(Int64Array::from(values)) as ArrayRef,
                )
            })
            .collect();
        columns.push((
            "target".into(),
            Arc::new(Int64Array::from(
                (0..n).map(|i| (i % 10) as i64).collect::<Vec<_>>(),
            )),
        ));
        let b = RecordBatch::try_from_iter(columns).expect("batch");
        let s = infer_schema(&b);
        let emb = s.defaults.embedding.clone().expect("many layout");
        assert_eq!(emb.layout, FieldsLayout::Many);
        assert_eq!(emb.columns.len(), 10);
        assert!(!emb.columns.contains(&"target".to_string()));
        assert_eq!(s.defaults.color_by.as_deref(), Some("target"));
        assert_eq!(
            s.column("target").map(|c| c.kind),
            Some(ColumnKind::Category)
        );
    }

    #[test]
    fn float_features_with_small_int_cluster() {
        let n = 30usize;
        let b = batch(vec![
            (
                "x",
                Arc::new(Float64Array::from(
                    (0..n).map(|i| i as f64 * 0.5).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "y_coord",
                Arc::new(Float64Array::from(
                    (0..n).map(|i| i as f64).collect::<Vec<_>>(),
                )),
            ),
            (
                "c",
                Arc::new(Int64Array::from(
                    (0..n).map(|i| (i % 4) as i64).collect::<Vec<_>>(),
                )),
            ),
        ]);
        let s = infer_schema(&b);
        assert_eq!(
            s.defaults.embedding.map(|e| e.columns),
            Some(vec!["x".to_string(), "y_coord".to_string()])
        );
        assert_eq!(s.defaults.color_by.as_deref(), Some("c"));
        assert_eq!(s.defaults.overlay, None);
    }

    #[test]
    fn image_column_wins_overlay_and_serialises_inline() {
        let hash = "0".repeat(64);
        let schema = Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            image_field("img", false),
            Field::new("a", DataType::Float64, false),
        ]);
        let b = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["one", "two"])),
                Arc::new(StringArray::from(vec![hash.clone(), hash])),
                Arc::new(Float64Array::from(vec![1.0, 2.0])),
            ],
        )
        .expect("batch");
        let s = infer_schema(&b);
        assert_eq!(s.defaults.overlay.as_deref(), Some("img"));
        assert_eq!(
            s.defaults.embedding, None,
            "one numeric column is not a layout"
        );
        let json = serde_json::to_value(&s).expect("serialise");
        assert_eq!(json["columns"][1]["kind"], "image");
        assert_eq!(json["defaults"]["embedding"], serde_json::Value::Null);
        let back: TableSchema = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, s);
    }

    #[test]
    fn embedding_column_json_matches_api() {
        let emb = embedding_from_row_major(vec![0.0f32; 8], 4).expect("emb");
        let b = batch(vec![("e", Arc::new(emb) as ArrayRef)]);
        let json = serde_json::to_value(infer_schema(&b)).expect("json");
        assert_eq!(
            json["columns"][0],
            serde_json::json!({"name": "e", "kind": "embedding", "dim": 4})
        );
        assert_eq!(
            json["defaults"]["embedding"],
            serde_json::json!({"type": "single", "columns": ["e"]})
        );
    }
}
