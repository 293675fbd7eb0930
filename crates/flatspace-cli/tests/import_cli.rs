//! `flatspace import` / `ls` / `export` end to end: every importer → store → read back equal
//! (values, dtypes, images byte-equal); every bad input fails with a message naming the file, row
//! and column, and leaves the store as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray};
use flatspace_store::Store;
use flatspace_table::media::Image8;
use flatspace_table::{
    ImportOptions, embedding_from_row_major, export_parquet, import_path, is_image_field,
};

fn flatspace(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flatspace"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("FLATSPACE_DATA")
        .output()
        .expect("run the flatspace binary")
}

fn ok(data_dir: &Path, args: &[&str]) -> String {
    let out = flatspace(data_dir, args);
    assert!(
        out.status.success(),
        "flatspace {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(data_dir: &Path, args: &[&str]) -> String {
    let out = flatspace(data_dir, args);
    assert!(!out.status.success(), "flatspace {args:?} should fail");
    assert_ne!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// A `.npy` file as numpy writes it (version 1, header padded to 64 bytes).
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The single table the store holds under `key`, read back whole.
fn stored(data_dir: &Path, key: &str) -> (i64, RecordBatch) {
    let store = Store::open(data_dir).expect("open store");
    for project in store.list_projects().expect("projects") {
        for run in store.list_runs(project.id).expect("runs") {
            for table in store.list_tables(run.id).expect("tables") {
                if table.key == key {
                    let batch = store
                        .read_rows(table.id, 0, usize::MAX, None)
                        .expect("read rows");
                    return (table.id, batch);
                }
            }
        }
    }
    panic!("no table {key:?} in the store");
}

fn table_ids(data_dir: &Path) -> Vec<(i64, u64)> {
    let store = Store::open(data_dir).expect("open store");
    let mut ids = Vec::new();
    for project in store.list_projects().expect("projects") {
        for run in store.list_runs(project.id).expect("runs") {
            for table in store.list_tables(run.id).expect("tables") {
                ids.push((table.id, table.n_rows));
            }
        }
    }
    ids
}

/// Store → read back equals what the importer produced, column types and field metadata included.
fn assert_round_trip(
    data_dir: &Path,
    key: &str,
    source: &Path,
    labels: Option<&Path>,
) -> RecordBatch {
    let expected = import_path(
        source,
        &ImportOptions {
            labels,
            progress: None,
        },
    )
    .expect("import in process");
    let (_, back) = stored(data_dir, key);
    assert_eq!(back.num_rows(), expected.batch.num_rows(), "{key}: rows");
    let (expected_schema, back_schema) = (expected.batch.schema(), back.schema());
    for (e, b) in expected_schema.fields().iter().zip(back_schema.fields()) {
        assert_eq!(e.name(), b.name(), "{key}: names");
        assert_eq!(e.data_type(), b.data_type(), "{key}: dtype of {}", e.name());
        assert_eq!(
            is_image_field(e),
            is_image_field(b),
            "{key}: image tag of {}",
            e.name()
        );
    }
    assert_eq!(back.columns(), expected.batch.columns(), "{key}: values");
    back
}

#[test]
fn npy_with_labels_round_trips_through_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let (n, d) = (50usize, 7usize);
    let values: Vec<f32> = (0..n * d).map(|v| (v as f32).sin() * 3.0).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let x = write(dir.path(), "x.npy", npy("<f4", &[n, d], &bytes));
    let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
    let y = write(dir.path(), "y.npy", npy("|u1", &[n], &labels));
    let out = ok(
        &data,
        &[
            "import",
            x.to_str().expect("utf-8"),
            "--labels",
            y.to_str().expect("utf-8"),
            "--project",
            "p",
            "--run",
            "r",
            "--key",
            "digits",
            "--step",
            "3",
        ],
    );
    assert!(out.contains("50 rows"), "{out}");
    let back = assert_round_trip(&data, "digits", &x, Some(&y));
    // And equal to the values written, independent of the importer.
    let (stored_values, dim) =
        flatspace_table::embedding_values(back.column(0).as_ref()).expect("embedding");
    assert_eq!((stored_values, dim), (values.as_slice(), d));
    let listing = ok(&data, &["ls"]);
    assert!(
        listing.contains("digits") && listing.contains("step 3") && listing.contains("7 dims"),
        "{listing}"
    );
}

#[test]
fn csv_and_parquet_round_trip_and_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let csv = write(
        dir.path(),
        "points.csv",
        "id,vec,label,score,ok\n1,\"[1, 2]\",ça,0.5,true\n2,\"[3, 4]\",日本,,false\n3,\"[5, 6.25]\",ça,1.5,true\n",
    );
    ok(&data, &["import", csv.to_str().expect("utf-8")]);
    assert_round_trip(&data, "points", &csv, None);

    let emb = embedding_from_row_major((0..12).map(|v| v as f32 * 0.25).collect::<Vec<_>>(), 4)
        .expect("emb");
    let batch = RecordBatch::try_from_iter(vec![
        ("e", Arc::new(emb) as ArrayRef),
        (
            "n",
            Arc::new(Int64Array::from(vec![Some(7), None, Some(-1)])),
        ),
        ("f", Arc::new(Float32Array::from(vec![1.5, -0.0, 3.25]))),
        ("s", Arc::new(StringArray::from(vec!["a", "é", "z"]))),
    ])
    .expect("batch");
    let pq = dir.path().join("frame.parquet");
    export_parquet(&batch, &pq).expect("write parquet");
    ok(&data, &["import", pq.to_str().expect("utf-8")]);
    let (table_id, back) = stored(&data, "frame");
    assert_eq!(back.columns(), batch.columns());

    // export → import gives the same table again, both formats.
    for format in ["csv", "parquet"] {
        let out = dir.path().join(format!("out.{format}"));
        ok(
            &data,
            &[
                "export",
                &table_id.to_string(),
                "--format",
                format,
                "-o",
                out.to_str().expect("utf-8"),
            ],
        );
        let again = import_path(&out, &ImportOptions::default()).expect("re-import");
        assert_eq!(again.batch.column(0), back.column(0), "{format}: embedding");
        assert_eq!(again.batch.column(3), back.column(3), "{format}: strings");
    }
}

#[test]
fn tensorboard_projector_round_trips_with_images_byte_equal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let n = 7u32;
    let tensors: String = (0..n).map(|i| format!("{i}\t{}\n", i * i)).collect();
    write(dir.path(), "tensors.tsv", tensors);
    let meta: String = std::iter::once("word\tgroup\n".to_string())
        .chain((0..n).map(|i| format!("w{i}\t{}\n", ["α", "β"][i as usize % 2])))
        .collect();
    write(dir.path(), "meta.tsv", meta);
    let sheet = Image8 {
        width: 9,
        height: 9,
        color: png::ColorType::Rgba,
        pixels: (0..9 * 9 * 4).map(|i| (i * 13 % 256) as u8).collect(),
    };
    write(dir.path(), "sprite.png", sheet.encode_png().expect("png"));
    let config = write(
        dir.path(),
        "projector_config.pbtxt",
        "embeddings {\n tensor_path: \"tensors.tsv\"\n metadata_path: \"meta.tsv\"\n sprite { image_path: \"sprite.png\" single_image_dim: 3 single_image_dim: 3 }\n}\n",
    );
    let out = ok(
        &data,
        &["import", dir.path().to_str().expect("utf-8"), "--key", "tb"],
    );
    assert!(out.contains("7 images"), "{out}");
    let back = assert_round_trip(&data, "tb", &config, None);
    let expected = import_path(&config, &ImportOptions::default()).expect("import");
    let store = Store::open(&data).expect("open");
    let hashes = back
        .column(back.schema().index_of("image").expect("image column"))
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("strings")
        .clone();
    for (i, hash) in hashes.iter().enumerate() {
        let hash = hash.expect("every row has an image");
        let media = store.media(hash).expect("media stored");
        let blob = expected
            .media
            .iter()
            .find(|b| b.hash == hash)
            .expect("importer made it");
        assert_eq!(media.bytes, blob.bytes, "row {i}: bytes equal");
        let cell = sheet.crop((i as u32 % 3) * 3, (i as u32 / 3) * 3, 3, 3);
        let decoded = flatspace_table::media::decode_png(Path::new("x"), media.bytes).expect("png");
        assert_eq!(decoded, cell, "row {i}: pixels are the sprite cell");
    }
}

#[test]
fn bad_inputs_fail_clearly_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let good = write(dir.path(), "good.csv", "a,b\n1,2\n3,4\n");
    ok(&data, &["import", good.to_str().expect("utf-8")]);
    let before = table_ids(&data);
    let (_, good_before) = stored(&data, "good");

    let npy_rows = npy("<f4", &[3, 2], &[0u8; 24]);
    let tensor = write(dir.path(), "tensor.npy", &npy_rows);
    let parquet_bytes = {
        let batch = RecordBatch::try_from_iter(vec![(
            "x",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        )])
        .expect("batch");
        let p = dir.path().join("whole.parquet");
        export_parquet(&batch, &p).expect("parquet");
        std::fs::read(&p).expect("read")
    };
    let cases: Vec<(PathBuf, Option<PathBuf>, Vec<&str>)> = vec![
        (
            write(dir.path(), "ragged.csv", "v\n\"[1,2]\"\n\"[1]\"\n"),
            None,
            vec!["ragged.csv", "'v'", "row 1"],
        ),
        (
            write(dir.path(), "nan.csv", "x,y\n1,2\n3,NaN\n"),
            None,
            vec!["nan.csv", "'y'", "row 1", "NaN"],
        ),
        (
            write(dir.path(), "inf.csv", "x\n1\n-inf\n"),
            None,
            vec!["inf.csv", "'x'", "row 1"],
        ),
        (
            write(dir.path(), "text.csv", "x\n1\n2\nthree\n"),
            None,
            vec!["text.csv", "'x'", "row 2", "'three'"],
        ),
        (
            write(dir.path(), "empty.csv", ""),
            None,
            vec!["empty.csv", "empty"],
        ),
        (
            write(dir.path(), "nocols.csv", "\n\n"),
            None,
            vec!["nocols.csv"],
        ),
        (
            write(dir.path(), "dup.csv", "x,x\n1,2\n"),
            None,
            vec!["dup.csv", "'x'", "twice"],
        ),
        (
            tensor.clone(),
            Some(write(dir.path(), "meta.txt", "a\nb\n")),
            vec!["meta.txt", "2 rows", "tensor.npy", "3"],
        ),
        (
            write(
                dir.path(),
                "cut.parquet",
                &parquet_bytes[..parquet_bytes.len() - 9],
            ),
            None,
            vec!["cut.parquet", "Parquet"],
        ),
        (
            dir.path().join("does-not-exist.csv"),
            None,
            vec!["does-not-exist.csv"],
        ),
    ];
    for (file, labels, needles) in &cases {
        let mut args = vec!["import", file.to_str().expect("utf-8")];
        if let Some(labels) = labels {
            args.extend(["--labels", labels.to_str().expect("utf-8")]);
        }
        let stderr = fails(&data, &args);
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{file:?}: {stderr:?} lacks {needle:?}"
            );
        }
        assert_eq!(table_ids(&data), before, "{file:?} changed the store");
    }
    let (_, good_after) = stored(&data, "good");
    assert_eq!(good_after, good_before);

    // The other commands fail clearly too.
    let stderr = fails(
        &data,
        &[
            "export",
            "999",
            "-o",
            dir.path().join("x.csv").to_str().expect("utf-8"),
        ],
    );
    assert!(stderr.contains("999"), "{stderr}");
    let stderr = fails(
        &data,
        &[
            "export",
            "1",
            "-o",
            dir.path().join("x.bin").to_str().expect("utf-8"),
        ],
    );
    assert!(stderr.contains("--format"), "{stderr}");
    assert!(fails(&dir.path().join("nowhere"), &["ls"]).contains("nowhere"));
}

#[test]
fn help_is_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    for cmd in [
        vec!["--help"],
        vec!["import", "--help"],
        vec!["ls", "--help"],
        vec!["export", "--help"],
    ] {
        let out = ok(dir.path(), &cmd);
        assert!(out.contains("Usage"), "{cmd:?}: {out}");
    }
    assert!(ok(dir.path(), &["import", "--help"]).contains("--labels"));
}
