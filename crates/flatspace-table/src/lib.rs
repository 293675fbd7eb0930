//! The table model over Arrow: column kinds, schema inference with smart defaults, importers and
//! exporters. See README.md.

pub mod embedding;
pub mod error;
pub mod export;
pub mod import;
pub mod kind;
pub mod media;
pub mod schema;
pub mod validate;

pub use embedding::{
    EmbeddingBuilder, embedding_field, embedding_from_list, embedding_from_row_major,
    embedding_values,
};
pub use error::{Result, TableError};
pub use export::{append_columns, export_csv, export_parquet, write_csv, write_parquet};
pub use import::{ImportFormat, ImportOptions, Imported, detect_format, import_path};
pub use kind::ColumnKind;
pub use media::{
    IMAGE_KIND, KIND_METADATA_KEY, MediaBlob, image_field, is_image_field, media_hash,
};
pub use schema::{ColumnInfo, Defaults, EmbeddingFields, FieldsLayout, TableSchema, infer_schema};
pub use validate::{prepare_batch, validate};
