//! The bad-input corpus (`tests/bad-inputs/`, see its `manifest.json`) through `flatspace import`:
//! every file must fail with a message naming the file (and the row/column where there is one)
//! and what was expected, and must leave the store exactly as it was (catalog listing and the set
//! of files on disk). The HTTP cases of the same manifest run in flatspace-server's tests, the SDK
//! cases in `python/tests/test_bad_inputs.py`.
//!
//! The binary files are made by `regenerate_corpus` (ignored):
//! `cargo test -p flatspace-cli --test bad_inputs -- --ignored regenerate_corpus`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder};
use arrow_array::{ArrayRef, BinaryArray, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use flatspace_store::Store;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bad-inputs")
}

fn manifest() -> Vec<Value> {
    let path = corpus_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("read tests/bad-inputs/manifest.json");
    let value: Value = serde_json::from_str(&text).expect("manifest.json is JSON");
    value["cases"].as_array().expect("a `cases` array").clone()
}

/// Everything a failed import must not change: the catalog as the store lists it, and every file
/// under the store directory (path → size) except SQLite's own WAL/shared-memory files, whose
/// size changes when a reader merely opens the catalog.
#[derive(Debug, PartialEq)]
struct Snapshot {
    catalog: Vec<String>,
    files: BTreeMap<String, u64>,
}

fn snapshot(data_dir: &Path) -> Snapshot {
    let mut catalog = Vec::new();
    {
        let store = Store::open(data_dir).expect("open store");
        for project in store.list_projects().expect("projects") {
            catalog.push(format!("{project:?}"));
            for run in store.list_runs(project.id).expect("runs") {
                catalog.push(format!("{run:?}"));
                for table in store.list_tables(run.id).expect("tables") {
                    catalog.push(format!("{:?}", store.table(table.id).expect("table")));
                    for p in store.list_projections(table.id).expect("projections") {
                        catalog.push(format!("{p:?}"));
                    }
                }
            }
        }
    }
    let mut files = BTreeMap::new();
    collect_files(data_dir, data_dir, &mut files);
    Snapshot { catalog, files }
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        if entry.file_type().expect("type").is_dir() {
            out.insert(format!("{name}/"), 0);
            collect_files(root, &path, out);
        } else if !(name.ends_with("-wal") || name.ends_with("-shm") || name == "catalog.sqlite") {
            out.insert(name, entry.metadata().expect("metadata").len());
        }
    }
}

#[test]
fn every_bad_import_fails_clearly_and_changes_nothing() {
    let corpus = corpus_dir();
    let scratch = tempfile::tempdir().expect("tempdir");
    let data = scratch.path().join("store");
    // A store that already holds a table (with an image), so "unchanged" means something.
    let good = corpus.join("import/good.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_flatspace"))
        .arg("--data-dir")
        .arg(&data)
        .args(["import", good.to_str().expect("utf-8"), "--key", "good"])
        .env_remove("FLATSPACE_DATA")
        .output()
        .expect("run flatspace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = snapshot(&data);
    assert_eq!(before.catalog.len(), 3, "{:?}", before.catalog);

    let mut n_cases = 0;
    let mut failures = Vec::new();
    for case in manifest() {
        if case["entry"] != "import" {
            continue;
        }
        n_cases += 1;
        let id = case["id"].as_str().expect("id");
        let file = corpus.join(case["file"].as_str().expect("file"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flatspace"));
        cmd.arg("--data-dir")
            .arg(&data)
            .arg("import")
            .arg(&file)
            .env_remove("FLATSPACE_DATA");
        if let Some(labels) = case["labels"].as_str() {
            cmd.arg("--labels").arg(corpus.join(labels));
        }
        for arg in case["args"].as_array().into_iter().flatten() {
            cmd.arg(arg.as_str().expect("string arg"));
        }
        let out = cmd.output().expect("run flatspace");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!(
                "{id}: import succeeded: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        } else if out.status.code() != Some(1) {
            // A panic exits with 101, a signal with none: both are bugs, not clear errors.
            failures.push(format!("{id}: exit status {:?}: {stderr}", out.status));
        } else if stderr.contains("panicked") {
            failures.push(format!("{id}: panicked: {stderr}"));
        }
        for needle in case["expect"].as_array().expect("expect list") {
            let needle = needle.as_str().expect("string");
            if !stderr.contains(needle) {
                failures.push(format!("{id}: message {stderr:?} lacks {needle:?}"));
            }
        }
        let after = snapshot(&data);
        if after != before {
            failures.push(format!("{id}: the store changed: {before:?} → {after:?}"));
        }
    }
    assert!(n_cases >= 30, "only {n_cases} import cases in the manifest");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_manifest_file_exists_and_ids_are_unique() {
    let corpus = corpus_dir();
    let mut ids = std::collections::HashSet::new();
    let cases = manifest();
    for case in &cases {
        let id = case["id"].as_str().expect("id");
        assert!(ids.insert(id.to_owned()), "id {id} twice");
        assert!(
            ["import", "http", "sdk"].contains(&case["entry"].as_str().unwrap_or("")),
            "{id}: entry"
        );
        assert!(
            !case["expect"].as_array().expect("expect").is_empty(),
            "{id}: no expected text"
        );
        for key in ["file", "labels", "body_file"] {
            if let Some(f) = case[key].as_str() {
                let expected = !(key == "file" && case["missing"] == true);
                assert_eq!(corpus.join(f).exists(), expected, "{id}: {f} exists?");
            }
        }
    }
    assert!(cases.len() >= 40, "{} cases", cases.len());
}

// ---------------------------------------------------------------------------------------------
// The generator of the binary files.

/// A `.npy` file with a given header dict and data bytes (version 1, padded like numpy).
fn npy_raw(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    npy_raw(
        &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"),
        data,
    )
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None)
        .expect("parquet writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
    out
}

fn list_column(rows: &[Vec<f32>]) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new());
    for row in rows {
        b.values().append_slice(row);
        b.append(true);
    }
    Arc::new(b.finish())
}

fn batch(fields: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let schema = Schema::new(
        fields
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        fields.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("batch")
}

/// A PNG (signature + IHDR with a valid CRC + a tiny IDAT) declaring `w × h` RGBA, then nothing: a
/// "decompression bomb" that claims gigabytes of pixels.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc.to_be_bytes());
    // One small IDAT (the decoder reads up to the first one before it reports the size), no IEND.
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&[120, 156, 99, 96, 128, 0, 0, 0, 8, 0, 1]);
    out.extend_from_slice(&11u32.to_be_bytes());
    out.extend_from_slice(&idat);
    out.extend_from_slice(&crc32(&idat).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
#[ignore = "writes the corpus's binary files; run by hand after changing it"]
fn regenerate_corpus() {
    let dir = corpus_dir().join("import");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("write");

    // NPY
    let good = npy("<f4", "(3, 2)", &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    put("npy_truncated_data.npy", &good[..good.len() - 5]);
    put("npy_truncated_header.npy", &good[..20]);
    put(
        "npy_bad_magic.npy",
        &[b"\x93NUMPX".as_slice(), &good[6..]].concat(),
    );
    put("npy_only_magic.npy", b"\x93NUMPY");
    put(
        "npy_header_len_beyond_file.npy",
        &[b"\x93NUMPY\x01\x00\xff\xff".as_slice(), b"{'descr'"].concat(),
    );
    put(
        "npy_huge_shape.npy",
        &npy("<f4", "(1, 1099511627776)", &[0; 8]),
    );
    put(
        "npy_overflow_shape.npy",
        &npy("<f4", "(4611686018427387904, 4611686018427387904)", &[0; 8]),
    );
    put(
        "npy_overflow_trailing_dims.npy",
        &npy("<f4", "(0, 4294967296, 4294967296)", &[]),
    );
    put("npy_complex_dtype.npy", &npy("<c8", "(2, 2)", &[0; 32]));
    put("npy_object_dtype.npy", &npy("|O", "(2, 2)", &[0; 32]));
    put("npy_header_not_dict.npy", &npy_raw("[1, 2, 3]", &[0; 8]));
    put(
        "npy_nan.npy",
        &npy("<f4", "(2, 2)", &f32_bytes(&[1.0, f32::NAN, 3.0, 4.0])),
    );
    put(
        "npy_inf.npy",
        &npy(
            "<f8",
            "(2, 1)",
            &[1.0f64.to_le_bytes(), f64::INFINITY.to_le_bytes()].concat(),
        ),
    );
    put(
        "npy_f64_overflows_f32.npy",
        &npy(
            "<f8",
            "(2, 1)",
            &[1.0f64.to_le_bytes(), 1e300f64.to_le_bytes()].concat(),
        ),
    );
    put("npy_zero_rows.npy", &npy("<f4", "(0, 4)", &[]));
    put("npy_zero_dim.npy", &npy("<f4", "(4, 0)", &[]));
    put(
        "npy_1d_as_embedding.npy",
        &npy("<f4", "(3,)", &f32_bytes(&[1.0, 2.0, 3.0])),
    );
    put("npy_tensor_3x2.npy", &good);
    put("npy_labels_2_rows.npy", &npy("|u1", "(2,)", &[0, 1]));
    put("npy_labels_2d.npy", &npy("|u1", "(3, 1)", &[0, 1, 2]));

    // Parquet
    let table = batch(vec![
        (
            "e",
            list_column(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]),
        ),
        ("n", Arc::new(Int64Array::from(vec![1, 2, 3]))),
    ]);
    let whole = parquet_bytes(&table);
    put("parquet_truncated.parquet", &whole[..whole.len() - 9]);
    put("parquet_cut_in_half.parquet", &whole[..whole.len() / 2]);
    let mut bad_footer = whole.clone();
    let n = bad_footer.len();
    // The footer length (4 bytes before the final "PAR1") now points before the file start.
    bad_footer[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    put("parquet_bad_footer_length.parquet", &bad_footer);
    let mut garbled_meta = whole.clone();
    let meta_len = u32::from_le_bytes(garbled_meta[n - 8..n - 4].try_into().expect("4")) as usize;
    for b in &mut garbled_meta[n - 8 - meta_len..n - 8] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    put("parquet_garbled_metadata.parquet", &garbled_meta);
    put(
        "parquet_text.parquet",
        b"this is not a parquet file at all\n",
    );
    put("parquet_only_magic.parquet", b"PAR1PAR1");
    put(
        "parquet_ragged_list.parquet",
        &parquet_bytes(&batch(vec![(
            "e",
            list_column(&[vec![1.0, 2.0], vec![3.0]]),
        )])),
    );
    put(
        "parquet_nan_in_list.parquet",
        &parquet_bytes(&batch(vec![(
            "e",
            list_column(&[vec![1.0, 2.0], vec![3.0, f32::NAN]]),
        )])),
    );
    put(
        "parquet_zero_rows.parquet",
        &parquet_bytes(&batch(vec![(
            "x",
            Arc::new(Float32Array::from(Vec::<f32>::new())),
        )])),
    );
    put(
        "parquet_duplicate_columns.parquet",
        &parquet_bytes(&batch(vec![
            ("x", Arc::new(Int64Array::from(vec![1, 2]))),
            ("x", Arc::new(Int64Array::from(vec![3, 4]))),
        ])),
    );
    put(
        "parquet_empty_column_name.parquet",
        &parquet_bytes(&batch(vec![
            ("a", Arc::new(Int64Array::from(vec![1, 2]))),
            ("", Arc::new(StringArray::from(vec!["x", "y"]))),
        ])),
    );
    put(
        "parquet_binary_column.parquet",
        &parquet_bytes(&batch(vec![(
            "blob",
            Arc::new(BinaryArray::from(vec![b"\xff\xfe".as_slice(), b"\x00"])),
        )])),
    );
    put(
        "parquet_null_in_list.parquet",
        &parquet_bytes(
            &RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new(
                    "e",
                    DataType::List(Arc::new(Field::new("item", DataType::Float32, true))),
                    true,
                )])),
                vec![{
                    let mut b = ListBuilder::new(Float32Builder::new());
                    b.values().append_slice(&[1.0, 2.0]);
                    b.append(true);
                    b.values().append_value(3.0);
                    b.values().append_null();
                    b.append(true);
                    Arc::new(b.finish()) as ArrayRef
                }],
            )
            .expect("batch"),
        ),
    );

    // Arrow IPC is the store's own format, not an import format.
    let mut ipc = Vec::new();
    {
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut ipc, &table.schema()).expect("ipc");
        w.write(&table).expect("write");
        w.finish().expect("finish");
    }
    put("table.arrow", &ipc);
    put("table_truncated.arrow", &ipc[..ipc.len() / 2]);

    // TensorBoard projector with a sprite that claims 60000 × 60000 RGBA pixels (14 GB).
    let tb = dir.join("tb_sprite_bomb");
    std::fs::create_dir_all(&tb).expect("mkdir");
    std::fs::write(tb.join("tensors.tsv"), "1\t2\n3\t4\n").expect("write");
    std::fs::write(tb.join("sprite.png"), png_header_only(60_000, 60_000)).expect("write");
    std::fs::write(
        tb.join("projector_config.pbtxt"),
        "embeddings {\n  tensor_path: \"tensors.tsv\"\n  sprite { image_path: \"sprite.png\" single_image_dim: 2 single_image_dim: 2 }\n}\n",
    )
    .expect("write");
    let tb = dir.join("tb_sprite_not_png");
    std::fs::create_dir_all(&tb).expect("mkdir");
    std::fs::write(tb.join("tensors.tsv"), "1\t2\n3\t4\n").expect("write");
    std::fs::write(tb.join("sprite.png"), b"GIF89a not a png").expect("write");
    std::fs::write(
        tb.join("projector_config.pbtxt"),
        "embeddings {\n  tensor_path: \"tensors.tsv\"\n  sprite { image_path: \"sprite.png\" single_image_dim: 2 single_image_dim: 2 }\n}\n",
    )
    .expect("write");

    // Text files with bytes that are not UTF-8.
    put(
        "csv_invalid_utf8_cell.csv",
        b"name,x\nok,1\nbad\xff\xfe,2\n",
    );
    put("csv_invalid_utf8_header.csv", b"na\xc3\x28me,x\na,1\n");
    put("tsv_invalid_utf8.tsv", b"name\tx\nok\t1\n\xc0\xaf\t2\n");
    put("tensor_invalid_utf8.tsv", b"1\t2\n3\t\xff\n");
}
