//! What a column holds, as the product sees it (one level above its Arrow type).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnKind {
    /// One vector per row, stored as `FixedSizeList<Float32, dim>`.
    Embedding {
        dim: usize,
    },
    /// A number per row (any int or float type).
    Numeric,
    /// A label: strings or small integers with few distinct values.
    Category,
    /// Free text.
    Text,
    Bool,
    /// A content hash naming a media file in the store.
    Image,
}
