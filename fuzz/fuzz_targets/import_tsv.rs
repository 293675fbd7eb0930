#![no_main]
//! A .tsv (tensor or table, chosen by its first line) with or without a labels file: the first
//! byte picks the split point between tensor bytes and labels bytes.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(split) * rest.len()) / 255;
    let (tensor, labels) = rest.split_at(cut.min(rest.len()));
    let path = common::write("input.tsv", tensor);
    common::import(&path, None);
    let labels_path = common::write("labels.tsv", labels);
    common::import(&path, Some(&labels_path));
});
