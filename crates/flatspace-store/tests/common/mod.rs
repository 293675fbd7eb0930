//! Deterministic sample tables shared by the store tests: every table is a pure function of its
//! key `"<tag>/<seq>"`, so any reader can regenerate what a committed table must hold.

#![allow(dead_code)]

use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use flatspace_store::{Store, TableInfo, hash_bytes};
use flatspace_table::ColumnKind;

pub const DIM: usize = 6;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed_of(key: &str) -> u64 {
    let h = blake3::hash(key.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// The media blobs a sample table refers to: (bytes, mime).
pub fn sample_media(key: &str) -> Vec<(Vec<u8>, String)> {
    let mut state = seed_of(key) ^ 0xABCD;
    (0..3)
        .map(|i| {
            let len = 16 + (splitmix(&mut state) % 200) as usize;
            let mut bytes = vec![0x89, b'P', b'N', b'G'];
            bytes.extend((0..len).map(|_| (splitmix(&mut state) & 0xFF) as u8));
            let mime = if i == 2 { "image/jpeg" } else { "image/png" };
            (bytes, mime.to_string())
        })
        .collect()
}

pub fn sample_kinds() -> Vec<ColumnKind> {
    vec![
        ColumnKind::Embedding { dim: DIM },
        ColumnKind::Numeric,
        ColumnKind::Numeric,
        ColumnKind::Category,
        ColumnKind::Text,
        ColumnKind::Bool,
        ColumnKind::Image,
    ]
}

/// The rows of the sample table `key`, split into two record batches when the seed says so.
pub fn sample_batches(key: &str) -> Vec<RecordBatch> {
    let mut state = seed_of(key);
    let n_rows = 5 + (splitmix(&mut state) % 60) as usize;
    let labels = ["猫", "犬", "🐦 bird", "ça va", "ß"];
    let media_hashes: Vec<String> = sample_media(key)
        .iter()
        .map(|(b, _)| hash_bytes(b))
        .collect();

    let mut emb = FixedSizeListBuilder::new(Float32Builder::new(), DIM as i32);
    let mut size = Vec::new();
    let mut count = Vec::new();
    let mut label = Vec::new();
    let mut text = Vec::new();
    let mut flag = Vec::new();
    let mut image = Vec::new();
    for i in 0..n_rows {
        for _ in 0..DIM {
            let v = (splitmix(&mut state) % 20_000) as f32 / 1000.0 - 10.0;
            emb.values().append_value(v);
        }
        emb.append(true);
        size.push((splitmix(&mut state) % 1_000_000) as f64 / 7.0);
        count.push((splitmix(&mut state) % 1000) as i32 - 500);
        label.push(labels[(splitmix(&mut state) % labels.len() as u64) as usize]);
        text.push(if i % 7 == 3 {
            None
        } else {
            Some(format!("zeile {i} — {key} ✓"))
        });
        flag.push(splitmix(&mut state).is_multiple_of(2));
        image.push(if i % 5 == 4 {
            None
        } else {
            Some(media_hashes[i % 3].clone())
        });
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "vecteur ✓",
            DataType::FixedSizeList(
                Arc::new(Field::new_list_field(DataType::Float32, true)),
                DIM as i32,
            ),
            true,
        ),
        Field::new("größe", DataType::Float64, false),
        Field::new("count", DataType::Int32, false),
        Field::new("标签", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
        Field::new("flag", DataType::Boolean, false),
        Field::new("image", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(emb.finish()),
        Arc::new(Float64Array::from(size)),
        Arc::new(Int32Array::from(count)),
        Arc::new(StringArray::from(label)),
        Arc::new(StringArray::from(text)),
        Arc::new(BooleanArray::from(flag)),
        Arc::new(StringArray::from(image)),
    ];
    let batch = RecordBatch::try_new(schema, columns).expect("sample batch");
    if splitmix(&mut state).is_multiple_of(2) && n_rows > 1 {
        let cut = n_rows / 2;
        vec![batch.slice(0, cut), batch.slice(cut, n_rows - cut)]
    } else {
        vec![batch]
    }
}

/// Stores the sample table `key` (media first, then the table) in a run.
pub fn write_sample(store: &Store, run_id: i64, key: &str, step: i64) -> TableInfo {
    for (bytes, mime) in sample_media(key) {
        store.put_media(&bytes, &mime).expect("put media");
    }
    store
        .write_table(run_id, key, step, &sample_batches(key), &sample_kinds())
        .expect("write sample table")
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).expect("concat")
}

/// Asserts that a committed table holds exactly the sample rows for its key, column kinds
/// included, and that its media read back byte-equal.
pub fn assert_sample_intact(store: &Store, info: &TableInfo) {
    let key = info.key.as_str();
    let expected = concat(&sample_batches(key));
    let data = store.read_table(info.id).expect("read committed table");
    let got = concat(&data.batches);
    assert_eq!(got.num_rows() as u64, info.n_rows, "table {key}: row count");
    assert_eq!(got, expected, "table {key}: contents differ");
    let meta = store.table(info.id).expect("table meta");
    let kinds: Vec<ColumnKind> = meta.columns.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, sample_kinds(), "table {key}: kinds");
    let matrix = store
        .embedding_matrix(info.id, "vecteur ✓")
        .expect("embedding matrix");
    let list = got
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::FixedSizeListArray>()
        .expect("list");
    let values = list
        .values()
        .as_any()
        .downcast_ref::<arrow_array::Float32Array>()
        .expect("f32 values");
    assert_eq!(
        matrix.as_slice(),
        values.values().as_ref(),
        "table {key}: matrix"
    );
    for (bytes, mime) in sample_media(key) {
        let media = store.media(&hash_bytes(&bytes)).expect("media present");
        assert_eq!(media.bytes, bytes, "table {key}: media bytes");
        assert_eq!(media.mime, mime, "table {key}: media mime");
    }
}
