//! Per-column data for the projection panel: category lists with counts and one code per row
//! (colour by category), and continuous values (colour scale). Computed once per table version
//! and column: table versions are immutable.

use std::cmp::Ordering;
use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::DataType;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The distinct values of a column in display order, their counts, and each row's code.
#[derive(Debug, Clone, Serialize)]
pub struct Categories {
    pub categories: Vec<Value>,
    pub counts: Vec<u64>,
    pub code_type: &'static str,
    #[serde(skip)]
    pub codes_le: Vec<u8>,
}

/// A category key that orders numbers numerically and strings naturally ("cluster 2" before
/// "cluster 10"); nulls last.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Bool(bool),
    Int(i128),
    Str(String),
    Null,
}

fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let na = &na[na.iter().take_while(|&&c| c == b'0').count()..];
                let nb = &nb[nb.iter().take_while(|&&c| c == b'0').count()..];
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Int(_) => 1,
            Key::Str(_) => 2,
            Key::Null => 3,
        }
    }
    fn cmp_display(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Str(a), Key::Str(b)) => natural_cmp(a, b).then_with(|| a.cmp(b)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
    fn to_json(&self) -> Value {
        match self {
            Key::Bool(b) => Value::from(*b),
            // Integers beyond what JSON numbers carry exactly are sent as strings.
            Key::Int(i) => match i64::try_from(*i) {
                Ok(v) if v.unsigned_abs() <= (1u64 << 53) => Value::from(v),
                _ => Value::from(i.to_string()),
            },
            Key::Str(s) => Value::from(s.as_str()),
            Key::Null => Value::Null,
        }
    }
}

fn int_keys<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Key>>
where
    T::Native: Into<i128>,
{
    let a = array.as_primitive_opt::<T>()?;
    Some(
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    Key::Null
                } else {
                    Key::Int(a.value(i).into())
                }
            })
            .collect(),
    )
}

fn row_keys(column: &str, array: &dyn Array) -> ApiResult<Vec<Key>> {
    let strings = |get: &dyn Fn(usize) -> String| -> Vec<Key> {
        (0..array.len())
            .map(|i| {
                if array.is_null(i) {
                    Key::Null
                } else {
                    Key::Str(get(i))
                }
            })
            .collect()
    };
    let keys = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Some(strings(&|i| a.value(i).to_owned()))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Some(strings(&|i| a.value(i).to_owned()))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Some(strings(&|i| a.value(i).to_owned()))
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            Some(
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            Key::Null
                        } else {
                            Key::Bool(a.value(i))
                        }
                    })
                    .collect(),
            )
        }
        DataType::Int8 => int_keys::<Int8Type>(array),
        DataType::Int16 => int_keys::<Int16Type>(array),
        DataType::Int32 => int_keys::<Int32Type>(array),
        DataType::Int64 => int_keys::<Int64Type>(array),
        DataType::UInt8 => int_keys::<UInt8Type>(array),
        DataType::UInt16 => int_keys::<UInt16Type>(array),
        DataType::UInt32 => int_keys::<UInt32Type>(array),
        DataType::UInt64 => int_keys::<UInt64Type>(array),
        _ => None,
    };
    keys.ok_or_else(|| {
        ApiError::bad_request(format!(
            "column {column:?} holds {} values; colour by category needs strings, integers or booleans",
            array.data_type()
        ))
    })
}

/// The categories of `array` (one column, all rows).
pub fn categories(column: &str, array: &dyn Array) -> ApiResult<Categories> {
    let keys = row_keys(column, array)?;
    let mut index: HashMap<&Key, u32> = HashMap::new();
    let mut distinct: Vec<&Key> = Vec::new();
    for key in &keys {
        if !index.contains_key(key) {
            index.insert(key, distinct.len() as u32);
            distinct.push(key);
        }
    }
    let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
    order.sort_by(|&a, &b| distinct[a as usize].cmp_display(distinct[b as usize]));
    // remap[first-seen index] = display position
    let mut remap = vec![0u32; distinct.len()];
    for (pos, &first_seen) in order.iter().enumerate() {
        remap[first_seen as usize] = pos as u32;
    }
    let mut counts = vec![0u64; distinct.len()];
    let codes: Vec<u32> = keys
        .iter()
        .map(|k| {
            let code = remap[index[k] as usize];
            counts[code as usize] += 1;
            code
        })
        .collect();
    let (code_type, codes_le) = if distinct.len() <= 1 << 8 {
        ("uint8", codes.iter().map(|&c| c as u8).collect())
    } else if distinct.len() <= 1 << 16 {
        (
            "uint16",
            codes
                .iter()
                .flat_map(|&c| (c as u16).to_le_bytes())
                .collect(),
        )
    } else {
        (
            "uint32",
            codes.iter().flat_map(|&c| c.to_le_bytes()).collect(),
        )
    };
    Ok(Categories {
        categories: order
            .iter()
            .map(|&i| distinct[i as usize].to_json())
            .collect(),
        counts,
        code_type,
        codes_le,
    })
}

/// Min and max of the finite values (NaN for nulls), or `None` when there are none.
pub fn finite_range(values: &[f32]) -> Option<(f32, f32)> {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    #[test]
    fn strings_sort_naturally_and_codes_match_rows() {
        let array = StringArray::from(vec![
            Some("cluster 10"),
            Some("cluster 2"),
            None,
            Some("cluster 2"),
        ]);
        let c = categories("c", &array).expect("categories");
        assert_eq!(
            c.categories,
            vec![
                Value::from("cluster 2"),
                Value::from("cluster 10"),
                Value::Null
            ]
        );
        assert_eq!(c.counts, vec![2, 1, 1]);
        assert_eq!(c.code_type, "uint8");
        assert_eq!(c.codes_le, vec![1, 0, 2, 0]);
    }

    #[test]
    fn integers_sort_numerically_and_wide_code_types_are_used() {
        let values: Vec<i64> = (0..300).rev().collect();
        let c = categories("n", &Int64Array::from(values)).expect("categories");
        assert_eq!(c.categories[0], Value::from(0));
        assert_eq!(c.code_type, "uint16");
        // Row 0 holds 299, the last category.
        assert_eq!(u16::from_le_bytes([c.codes_le[0], c.codes_le[1]]), 299);
    }

    #[test]
    fn floats_are_not_categories() {
        let array = arrow_array::Float32Array::from(vec![1.0, 2.0]);
        let err = categories("x", &array).expect_err("floats");
        assert!(err.to_string().contains("\"x\""), "{err}");
    }
}
