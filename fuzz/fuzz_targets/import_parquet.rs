#![no_main]
//! `import_path` on arbitrary .parquet bytes: an error or a table, never a panic.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = common::write("input.parquet", data);
    common::import(&path, None);
});
