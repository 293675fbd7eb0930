//! `flatspace export --table KEY --selection NAME [--projection ID]`: the saved rows with their
//! coordinates and every column, read back with the Parquet reader and as CSV.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, UInt32Type};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use flatspace_store::{ProjectionSpec, Store};
use flatspace_table::ColumnKind;
use serde_json::json;

fn flatspace(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flatspace"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("FLATSPACE_DATA")
        .output()
        .expect("run the flatspace binary")
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().expect("batches");
    assert_eq!(batches.len(), 1);
    batches.into_iter().next().expect("one batch")
}

#[test]
fn a_saved_selection_exports_with_coordinates_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let n = 40usize;
    let (table_id, selection, projection, coords) = {
        let store = Store::open(&data).expect("store");
        let project = store.get_or_create_project("p").expect("project");
        let run = store
            .get_or_create_run(project, "r", &json!({}))
            .expect("run");
        let values: Vec<i64> = (0..n as i64).map(|i| i * 10).collect();
        let names: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("v", Arc::new(Int64Array::from(values)) as ArrayRef),
            ("name", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .expect("batch");
        let table = store
            .write_table(
                run,
                "points",
                0,
                &[batch],
                &[ColumnKind::Numeric, ColumnKind::Text],
            )
            .expect("write");
        let selection = vec![3u32, 17, 39];
        store
            .save_selection(table.id, "picked", &selection)
            .expect("save");
        let spec = ProjectionSpec {
            table_id: table.id,
            fields: json!({"type": "many", "columns": ["v"]}),
            algorithm: "pca".into(),
            params: json!({}),
            seed: 1,
            n_components: 2,
            rows: None,
        };
        let coords: Vec<f32> = (0..2 * n).map(|i| i as f32 * 0.5 - 3.0).collect();
        let p = store
            .put_projection(&spec, &coords, &json!({}), 0.0)
            .expect("projection");
        (table.id, selection, p.id, coords)
    };

    let out = dir.path().join("picked.parquet");
    let run = flatspace(
        &data,
        &[
            "export",
            "--table",
            "points",
            "--selection",
            "picked",
            "--projection",
            &projection.to_string(),
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let batch = read_parquet(&out);
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["row_id", "x", "y", "v", "name"]);
    let row_ids = batch
        .column(0)
        .as_primitive::<UInt32Type>()
        .values()
        .to_vec();
    assert_eq!(row_ids, selection);
    let x = batch.column(1).as_primitive::<Float32Type>();
    let y = batch.column(2).as_primitive::<Float32Type>();
    let v = batch.column(3).as_primitive::<Int64Type>();
    for (i, &r) in selection.iter().enumerate() {
        let r = r as usize;
        assert_eq!((x.value(i), y.value(i)), (coords[2 * r], coords[2 * r + 1]));
        assert_eq!(v.value(i), r as i64 * 10);
        assert_eq!(
            batch.column(4).as_string::<i32>().value(i),
            format!("row {r}")
        );
    }

    // CSV by table id, selection only: row_id and the columns.
    let csv = dir.path().join("picked.csv");
    let run = flatspace(
        &data,
        &[
            "export",
            &table_id.to_string(),
            "--selection",
            "picked",
            "-o",
            csv.to_str().expect("utf-8"),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert_eq!(
        text,
        "row_id,v,name\n3,30,row 3\n17,170,row 17\n39,390,row 39\n"
    );

    // Unknown selection and key: clear errors naming them.
    let run = flatspace(
        &data,
        &[
            "export",
            "--table",
            "points",
            "--selection",
            "nope",
            "-o",
            csv.to_str().expect("utf-8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("\"picked\""),
        "{stderr}"
    );
    let run = flatspace(
        &data,
        &[
            "export",
            "--table",
            "nokey",
            "-o",
            csv.to_str().expect("utf-8"),
        ],
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("\"nokey\""));
}
