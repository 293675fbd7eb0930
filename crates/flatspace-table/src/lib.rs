//! The table model over Arrow: column kinds, schema inference with smart defaults, importers.

pub mod kind;

pub use kind::ColumnKind;
