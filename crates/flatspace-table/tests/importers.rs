//! Importers against files written by the reference tools (numpy for `.npy`), and every kind of bad
//! input the issue lists, each with an error that names the file, row and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use flatspace_table::media::{Image8, decode_png};
use flatspace_table::{
    ColumnKind, FieldsLayout, ImportFormat, ImportOptions, TableError, embedding_values,
    export_parquet, import_path, infer_schema, is_image_field,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// value(i, j) = i * 10 + j - 7, as `make_npy.py` writes it.
fn expected_matrix(rows: usize, cols: usize, shift: f32) -> Vec<f32> {
    (0..rows)
        .flat_map(|i| (0..cols).map(move |j| (i * 10 + j) as f32 - 7.0 + shift))
        .collect()
}

fn import(path: &Path) -> flatspace_table::Result<flatspace_table::Imported> {
    import_path(path, &ImportOptions::default())
}

fn import_with_labels(
    path: &Path,
    labels: &Path,
) -> flatspace_table::Result<flatspace_table::Imported> {
    import_path(
        path,
        &ImportOptions {
            labels: Some(labels),
            progress: None,
        },
    )
}

fn embedding(batch: &RecordBatch, column: usize) -> (Vec<f32>, usize) {
    let (values, dim) =
        embedding_values(batch.column(column).as_ref()).expect("an f32 embedding column");
    (values.to_vec(), dim)
}

#[test]
fn npy_dtypes_orders_and_versions_written_by_numpy() {
    for (file, shift) in [
        ("f4_c.npy", 0.0),
        ("f4_v2.npy", 0.0),
        ("f4_v3.npy", 0.0),
        ("f8_be_fortran.npy", 0.0),
        ("i2_le.npy", 0.0),
        ("i8_be.npy", 0.0),
        ("u1.npy", 7.0),
    ] {
        let imported = import(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(imported.format, ImportFormat::Npy);
        let (values, dim) = embedding(&imported.batch, 0);
        assert_eq!(dim, 3, "{file}");
        assert_eq!(values, expected_matrix(5, 3, shift), "{file}");
    }
}

#[test]
fn npy_3d_fortran_flattens_trailing_dims_in_c_order() {
    let imported = import(&fixture("f4_3d_fortran.npy")).expect("3-D import");
    let (values, dim) = embedding(&imported.batch, 0);
    assert_eq!(dim, 6);
    // numpy's arange(30).reshape(5, 2, 3): row i holds 6i .. 6i + 5 in C order.
    assert_eq!(values, (0..30).map(|v| v as f32).collect::<Vec<_>>());
}

#[test]
fn npy_with_labels_npy_and_text() {
    let imported =
        import_with_labels(&fixture("f4_c.npy"), &fixture("labels_u1.npy")).expect("labels");
    let labels = imported.batch.column(1).as_primitive::<UInt8Type>();
    assert_eq!(labels.values().to_vec(), vec![3, 1, 4, 1, 5]);

    let imported = import_with_labels(&fixture("f4_c.npy"), &fixture("labels_str.npy"))
        .expect("string labels");
    let labels = imported.batch.column(1).as_string::<i32>();
    assert_eq!(labels.value(2), "émeu");
    assert_eq!(labels.value(4), "日本");

    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("labels.txt");
    std::fs::write(&text, "a\nb\na\nc\nb\n").expect("write");
    let imported = import_with_labels(&fixture("f4_c.npy"), &text).expect("text labels");
    assert_eq!(imported.batch.column(1).as_string::<i32>().value(3), "c");
}

#[test]
fn npy_bad_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Labels count differs from rows.
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "a\nb\n").expect("write");
    let err = import_with_labels(&fixture("f4_c.npy"), &short).expect_err("row count");
    assert!(
        matches!(
            err,
            TableError::RowCountMismatch {
                found: 2,
                expected: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("short.txt"), "{err}");
    // Labels must be 1-D.
    let err = import_with_labels(&fixture("f4_c.npy"), &fixture("labels_2d.npy"))
        .expect_err("2-D labels");
    assert!(err.to_string().contains("one dimension"), "{err}");
    // A truncated file says so before allocating.
    let bytes = std::fs::read(fixture("f4_c.npy")).expect("read");
    let truncated = dir.path().join("cut.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).expect("write");
    let err = import(&truncated).expect_err("truncated");
    assert!(
        err.to_string().contains("cut.npy") && err.to_string().contains("truncated"),
        "{err}"
    );
    // Not an npy file at all; an empty one.
    let junk = dir.path().join("junk.npy");
    std::fs::write(&junk, b"hello world, not numpy").expect("write");
    assert!(
        import(&junk)
            .expect_err("junk")
            .to_string()
            .contains("not a .npy file")
    );
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(import(&empty), Err(TableError::EmptyFile { .. })));
    // NaN in the matrix names row and element.
    let mut nan = bytes.clone();
    let at = nan.len() - 3 * 4 * 2 + 4; // row 3, element 1
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_path = dir.path().join("nan.npy");
    std::fs::write(&nan_path, &nan).expect("write");
    match import(&nan_path).expect_err("NaN") {
        TableError::NonFinite {
            row,
            position,
            file,
            ..
        } => {
            assert_eq!((row, position), (3, Some(1)));
            assert_eq!(file.as_deref(), Some(nan_path.as_path()));
        }
        other => panic!("unexpected {other}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

#[test]
fn csv_layouts_and_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One vector column plus labels: the "single" layout; a UTF-8 BOM and non-ASCII survive.
    let path = write(
        dir.path(),
        "vec.csv",
        "\u{feff}id,vec,label,caption\n0,\"[1, 2, 3]\",chat,un chat noir\n1,\"[4.5, 5, -6]\",chien,été\n2,\"[0, 0, 1e3]\",chat,\"a, b\"\n3,\"[1 2 3]\",chat,x y\n",
    );
    let imported = import(&path).expect("import");
    let b = &imported.batch;
    assert_eq!(b.schema().field(0).name(), "id");
    assert_eq!(b.column(0).data_type(), &DataType::Int64);
    let (values, dim) = embedding(b, 1);
    assert_eq!(dim, 3);
    assert_eq!(&values[3..9], &[4.5, 5.0, -6.0, 0.0, 0.0, 1000.0]);
    assert_eq!(b.column(3).as_string::<i32>().value(1), "été");
    let schema = infer_schema(b);
    let emb = schema.defaults.embedding.clone().expect("embedding");
    assert_eq!(
        (emb.layout, emb.columns),
        (FieldsLayout::Single, vec!["vec".to_string()])
    );
    assert_eq!(schema.defaults.color_by.as_deref(), Some("label"));
    assert_eq!(schema.defaults.overlay.as_deref(), Some("caption"));

    // Many numeric columns: the "many" layout.
    let mut text = String::from("a,b,c,species\n");
    for i in 0..12 {
        text.push_str(&format!(
            "{}.5,{},{},{}\n",
            i,
            i * 2,
            (i * 7) % 5,
            ["setosa", "virginica"][i % 2]
        ));
    }
    let path = write(dir.path(), "many.csv", &text);
    let imported = import(&path).expect("import many");
    let schema = infer_schema(&imported.batch);
    let emb = schema.defaults.embedding.clone().expect("embedding");
    assert_eq!(emb.layout, FieldsLayout::Many);
    assert_eq!(
        emb.columns,
        vec!["a", "b"],
        "c has 5 values in 12 rows: a label-like integer"
    );
    assert_eq!(
        schema.column("c").map(|c| c.kind),
        Some(ColumnKind::Category)
    );
    assert_eq!(schema.defaults.color_by.as_deref(), Some("c"));
}

#[test]
fn csv_bad_inputs_name_file_row_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "ragged.csv",
            "v\n\"[1,2]\"\n\"[1,2,3]\"\n",
            &["ragged.csv", "'v'", "row 1", "3 values, expected 2"],
        ),
        (
            "nan.csv",
            "x,y\n1,2\n3,nan\n",
            &["nan.csv", "'y'", "row 1", "NaN"],
        ),
        (
            "inf.csv",
            "x\n1\ninf\n",
            &["inf.csv", "'x'", "row 1", "inf"],
        ),
        (
            "text.csv",
            "x,y\n1,2\n3,4\nfive,6\n",
            &["text.csv", "'x'", "row 2", "line 4", "'five'"],
        ),
        ("empty.csv", "", &["empty.csv", "empty"]),
        ("nocols.csv", "\n", &["nocols.csv"]),
        ("dup.csv", "a,b,a\n1,2,3\n", &["dup.csv", "'a'", "twice"]),
        ("norows.csv", "a,b\n", &["norows.csv", "no rows"]),
        (
            "short.csv",
            "a,b\n1,2\n3\n",
            &["short.csv", "3", "1 fields, expected 2"],
        ),
        (
            "vecmissing.csv",
            "v,a\n\"[1]\",1\n,2\n",
            &["vecmissing.csv", "'v'", "row 1", "missing"],
        ),
    ];
    for (name, text, needles) in cases {
        let path = write(dir.path(), name, text);
        let err = import(&path)
            .err()
            .unwrap_or_else(|| panic!("{name} should fail"));
        let msg = err.to_string();
        for needle in *needles {
            assert!(msg.contains(needle), "{name}: {msg:?} lacks {needle:?}");
        }
    }
    let missing = dir.path().join("missing.csv");
    let err = import(&missing).expect_err("missing");
    assert!(
        matches!(err, TableError::Io { .. }) && err.to_string().contains("missing.csv"),
        "{err}"
    );
}

fn list_column(rows: &[Vec<f64>]) -> ArrayRef {
    let mut b = arrow_array::builder::ListBuilder::new(arrow_array::builder::Float64Builder::new());
    for row in rows {
        b.values().append_slice(row);
        b.append(true);
    }
    Arc::new(b.finish())
}

#[test]
fn parquet_lists_become_embeddings_and_truncation_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = RecordBatch::try_from_iter(vec![
        (
            "emb",
            list_column(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.5]]),
        ),
        (
            "name",
            Arc::new(arrow_array::LargeStringArray::from(vec!["α", "β", "γ"])) as ArrayRef,
        ),
    ])
    .expect("batch");
    let path = dir.path().join("t.parquet");
    export_parquet(&batch, &path).expect("write parquet");
    let imported = import(&path).expect("import");
    let (values, dim) = embedding(&imported.batch, 0);
    assert_eq!((dim, values), (2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
    assert_eq!(imported.batch.column(1).data_type(), &DataType::Utf8);

    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = import(&cut).expect_err("truncated");
    assert!(
        matches!(err, TableError::Parquet { .. }) && err.to_string().contains("cut.parquet"),
        "{err}"
    );

    let ragged =
        RecordBatch::try_from_iter(vec![("emb", list_column(&[vec![1.0], vec![1.0, 2.0]]))])
            .expect("batch");
    let path = dir.path().join("ragged.parquet");
    export_parquet(&ragged, &path).expect("write");
    let err = import(&path).expect_err("ragged");
    assert!(
        matches!(&err, TableError::Ragged { row: 1, column, .. } if column == "emb")
            && err.to_string().contains("ragged.parquet"),
        "{err}"
    );
}

fn sprite(n: usize, cell: u32, per_row: u32) -> (Image8, Vec<Image8>) {
    let rows = (n as u32).div_ceil(per_row);
    let (w, h) = (cell * per_row, cell * rows);
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    for (i, p) in pixels.iter_mut().enumerate() {
        *p = ((i * 31) % 251) as u8;
    }
    let sheet = Image8 {
        width: w,
        height: h,
        color: png::ColorType::Rgb,
        pixels,
    };
    let cells = (0..n as u32)
        .map(|i| sheet.crop((i % per_row) * cell, (i / per_row) * cell, cell, cell))
        .collect();
    (sheet, cells)
}

#[test]
fn tensorboard_config_with_sprite_and_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 5;
    let tensors: String = (0..n)
        .map(|i| format!("{}\t{}\t{}\n", i, i as f32 * 0.5, -(i as f32)))
        .collect();
    write(dir.path(), "tensors.tsv", &tensors);
    write(
        dir.path(),
        "meta.tsv",
        "word\tcount\nun\t1\ndeux\t2\ntrois\t3\nquatre\t4\ncinq\t5\n",
    );
    let (sheet, cells) = sprite(n, 4, 3);
    std::fs::write(
        dir.path().join("sprite.png"),
        sheet.encode_png().expect("png"),
    )
    .expect("write");
    let config = write(
        dir.path(),
        "projector_config.pbtxt",
        "embeddings {\n  tensor_name: \"words\"\n  tensor_path: \"tensors.tsv\"\n  metadata_path: \"meta.tsv\"\n  sprite {\n    image_path: \"sprite.png\"\n    single_image_dim: 4\n    single_image_dim: 4\n  }\n}\n",
    );
    for path in [config.clone(), dir.path().to_path_buf()] {
        let imported = import(&path).expect("import");
        let b = &imported.batch;
        let names: Vec<_> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, vec!["words", "word", "count", "image"]);
        assert!(is_image_field(b.schema().field(3)));
        let (values, dim) = embedding(b, 0);
        assert_eq!((dim, values[7]), (3, 1.0));
        let hashes = b.column(3).as_string::<i32>();
        for (i, cell) in cells.iter().enumerate() {
            let blob = imported
                .media
                .iter()
                .find(|m| m.hash == hashes.value(i))
                .expect("every image hash has its blob");
            let decoded = decode_png(Path::new("cell.png"), blob.bytes.clone()).expect("decode");
            assert_eq!(&decoded, cell, "sprite cell {i}");
        }
        let schema = infer_schema(b);
        assert_eq!(schema.defaults.overlay.as_deref(), Some("image"));
    }

    // Metadata with the wrong number of rows.
    write(dir.path(), "meta.tsv", "word\tcount\nun\t1\n");
    let err = import(&config).expect_err("row count");
    assert!(
        matches!(
            err,
            TableError::RowCountMismatch {
                found: 1,
                expected: 5,
                ..
            }
        ),
        "{err}"
    );
    // A sprite too small for the rows.
    write(dir.path(), "meta.tsv", "un\ndeux\ntrois\nquatre\ncinq\n");
    let (small, _) = sprite(2, 4, 2);
    std::fs::write(
        dir.path().join("sprite.png"),
        small.encode_png().expect("png"),
    )
    .expect("write");
    let err = import(&config).expect_err("small sprite");
    assert!(
        err.to_string().contains("sprite.png") && err.to_string().contains("expected at least 5"),
        "{err}"
    );
}

#[test]
fn tensor_tsv_with_single_and_multi_column_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tensors = write(dir.path(), "t.tsv", "1\t2\n3\t4\n5\t6\n");
    let single = write(dir.path(), "labels.tsv", "x\ny\nx\n");
    let imported = import_with_labels(&tensors, &single).expect("single column");
    assert_eq!(imported.format, ImportFormat::TensorTsv);
    assert_eq!(imported.batch.schema().field(1).name(), "label");
    let multi = write(dir.path(), "multi.tsv", "name\tscore\nx\t0.5\ny\t1\nz\t2\n");
    let imported = import_with_labels(&tensors, &multi).expect("multi column");
    assert_eq!(imported.batch.column(2).data_type(), &DataType::Float64);

    let ragged = write(dir.path(), "r.tsv", "1\t2\n3\t4\t5\n");
    let err = import(&ragged).expect_err("ragged");
    assert!(
        matches!(err, TableError::Ragged { row: 1, .. }) && err.to_string().contains("r.tsv"),
        "{err}"
    );
    let text = write(dir.path(), "x.tsv", "1\t2\n3\tabc\n");
    let err = import(&text).expect_err("text in tensor");
    assert!(
        err.to_string().contains("line 2") && err.to_string().contains("'abc'"),
        "{err}"
    );
}

/// Found by fuzzing: Parquet files whose embedded Arrow schema declares a 96-bit Int, or a type
/// id `arrow-ipc` does not know (67), made `arrow-ipc` panic inside the reader. Each must come
/// back as a result (read from the Parquet schema alone) or as an error naming the file, never as
/// a panic.
#[test]
fn parquet_with_a_malformed_embedded_arrow_schema_does_not_panic() {
    for name in [
        "parquet_arrow_schema_int96.parquet",
        "parquet_arrow_schema_unknown_type.parquet",
        "parquet_negative_column_start.parquet",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/bad-inputs/fuzz-crashes")
            .join(name);
        let outcome = std::panic::catch_unwind(|| import_path(&path, &ImportOptions::default()));
        let result = outcome.unwrap_or_else(|_| panic!("the Parquet importer panicked on {name}"));
        if let Err(err) = result {
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

/// Found by fuzzing (session 3, a slow unit): a 591-byte Parquet file whose data page header,
/// read the way `parquet` 59.3.2 reads it, holds nested lists of 8 million 16-byte UUIDs. The
/// crate skipped them with one read per element past the end of the file: 15 s in the release
/// fuzz build, 30 s in a debug build. A variant of it (same file, one unknown header field that
/// is a list of 2^31 - 1 booleans, which the crate skips as taking no byte each) took 30 s too.
/// Both must now fail at once, naming the file, the column chunk and the page header.
#[test]
fn parquet_page_headers_declaring_huge_lists_fail_at_once() {
    let name = "parquet_page_header_uuid_list_past_end.parquet";
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/bad-inputs/fuzz-crashes")
        .join(name);
    let bytes = std::fs::read(&found).expect("read the fuzz reproducer");
    // The data page header starts at byte 34 (the footer says so); field 9 (unknown to the
    // crate, delta 9 from field 0, wire type list) = a list (header 0xf1: size follows, booleans)
    // of 0x7fff_ffff elements.
    let mut booleans = bytes.clone();
    booleans[34..41].copy_from_slice(&[0x99, 0xf1, 0xff, 0xff, 0xff, 0xff, 0x07]);
    let dir = tempfile::tempdir().expect("tempdir");
    let constructed = dir.path().join("parquet_page_header_boolean_list.parquet");
    std::fs::write(&constructed, &booleans).expect("write the variant");
    for (path, detail) in [
        (found, "field 8 should be a struct but has wire type 9"),
        (
            constructed,
            "a list of 2147483647 values, but only 26 bytes are left",
        ),
    ] {
        let started = std::time::Instant::now();
        let err = import(&path).expect_err("a page header declaring a huge list is an error");
        let took = started.elapsed();
        let message = err.to_string();
        let file_name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(message.contains(file_name), "{message}");
        assert!(
            message.contains("row group 0, column 0") && message.contains("page header at byte 34"),
            "{message}"
        );
        assert!(message.contains(detail), "{message}");
        // Unbounded, each took 15–30 s; 3 s leaves room for a loaded CI machine.
        assert!(
            took < std::time::Duration::from_secs(3),
            "{file_name} took {took:?}"
        );
    }
}
