//! Round trips and error cases of the store in one process.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use common::{assert_sample_intact, sample_batches, sample_kinds, write_sample};
use flatspace_store::{JobStatus, ProjectionSpec, ProjectionStatus, Store, StoreError, hash_bytes};
use flatspace_table::ColumnKind;
use serde_json::json;

fn open_temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("data")).expect("open store");
    (dir, store)
}

#[test]
fn every_column_kind_round_trips_with_non_ascii_names_and_media() {
    let (dir, store) = open_temp();
    let project = store.get_or_create_project("projet é 🚀").expect("project");
    let run = store
        .get_or_create_run(project, "lauf-1 ✓", &json!({"lr": 0.1, "名前": "テスト"}))
        .expect("run");
    let keys = ["embeddings/验证", "b/1", "b/2", "b/3"];
    let mut infos = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        infos.push(write_sample(&store, run, key, i as i64));
    }
    for info in &infos {
        assert_sample_intact(&store, info);
    }
    // A fresh handle (as another process would open it) sees the same.
    drop(store);
    let store = Store::open(dir.path().join("data")).expect("reopen");
    let projects = store.list_projects().expect("projects");
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].name, "projet é 🚀");
    assert_eq!(projects[0].n_runs, 1);
    let runs = store.list_runs(project).expect("runs");
    assert_eq!(runs[0].name, "lauf-1 ✓");
    assert_eq!(runs[0].config["名前"], "テスト");
    assert_eq!(runs[0].n_tables, keys.len() as u64);
    let tables = store.list_tables(run).expect("tables");
    assert_eq!(tables, infos);
    for info in &tables {
        assert_eq!(info.embeddings.len(), 1);
        assert_eq!(info.embeddings[0].column, "vecteur ✓");
        assert_eq!(info.embeddings[0].dim, common::DIM);
        assert_eq!(info.n_columns, sample_kinds().len() as u64);
        assert_sample_intact(&store, info);
    }
}

#[test]
fn relogging_a_key_and_step_makes_a_new_version_and_keeps_the_old() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let v1 = write_sample(&store, run, "same", 3);
    let v2 = write_sample(&store, run, "same", 3);
    let other_step = write_sample(&store, run, "same", 4);
    assert_eq!((v1.version, v2.version, other_step.version), (1, 2, 1));
    assert_ne!(v1.id, v2.id);
    let latest = store
        .latest_table(run, "same", Some(3))
        .expect("latest")
        .expect("some");
    assert_eq!(latest.id, v2.id);
    let latest_any = store
        .latest_table(run, "same", None)
        .expect("latest")
        .expect("some");
    assert_eq!(latest_any.id, other_step.id);
    assert_sample_intact(&store, &v1);
    assert_sample_intact(&store, &v2);
}

#[test]
fn row_ranges_select_columns_across_batch_boundaries() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    // Pick a key whose sample is split into two batches, to cross the boundary.
    let key = (0..100)
        .map(|i| format!("rows/{i}"))
        .find(|k| sample_batches(k).len() == 2)
        .expect("a split sample");
    let info = write_sample(&store, run, &key, 0);
    let full = arrow_select::concat::concat_batches(
        &sample_batches(&key)[0].schema(),
        &sample_batches(&key),
    )
    .expect("concat");
    let n = full.num_rows();
    let (offset, limit) = (n / 2 - 2, 5);
    let page = store
        .read_rows(info.id, offset, limit, Some(&["标签", "größe"]))
        .expect("page");
    assert_eq!(page.num_columns(), 2);
    assert_eq!(page.schema().field(0).name(), "标签");
    assert_eq!(
        page.column(0).as_ref(),
        full.column(3).slice(offset, limit).as_ref()
    );
    assert_eq!(
        page.column(1).as_ref(),
        full.column(1).slice(offset, limit).as_ref()
    );
    // Past the end: clamped, then empty.
    let tail = store.read_rows(info.id, n - 1, 100, None).expect("tail");
    assert_eq!(tail.num_rows(), 1);
    assert_eq!(tail.num_columns(), full.num_columns());
    let empty = store.read_rows(info.id, n + 10, 5, None).expect("empty");
    assert_eq!(empty.num_rows(), 0);
    let err = store
        .read_rows(info.id, 0, 1, Some(&["nope"]))
        .expect_err("unknown column");
    assert!(matches!(err, StoreError::UnknownColumn { .. }), "{err}");
    assert!(
        err.to_string().contains("nope") && err.to_string().contains("größe"),
        "{err}"
    );
}

#[test]
fn many_numeric_columns_gather_into_one_row_major_matrix() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float32, false),
        Field::new("y", DataType::Int64, false),
        Field::new("z", DataType::UInt8, false),
        Field::new("name", DataType::Utf8, false),
    ]));
    let batch = |xs: Vec<f32>, ys: Vec<i64>, zs: Vec<u8>, names: Vec<&str>| {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Float32Array::from(xs)) as ArrayRef,
                Arc::new(Int64Array::from(ys)),
                Arc::new(UInt8Array::from(zs)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .expect("batch")
    };
    let batches = [
        batch(vec![0.5, 1.5], vec![10, -20], vec![1, 2], vec!["a", "b"]),
        batch(vec![2.5], vec![30], vec![255], vec!["c"]),
    ];
    let kinds = [
        ColumnKind::Numeric,
        ColumnKind::Numeric,
        ColumnKind::Numeric,
        ColumnKind::Category,
    ];
    let info = store
        .write_table(run, "numbers", 0, &batches, &kinds)
        .expect("write");
    let m = store
        .numeric_matrix(info.id, &["x", "y", "z"])
        .expect("matrix");
    assert_eq!((m.n_rows(), m.dim()), (3, 3));
    assert_eq!(
        m.as_slice(),
        &[0.5, 10.0, 1.0, 1.5, -20.0, 2.0, 2.5, 30.0, 255.0]
    );
    let picked = store.numeric_matrix(info.id, &["z", "x"]).expect("matrix");
    assert_eq!(picked.as_slice(), &[1.0, 0.5, 2.0, 1.5, 255.0, 2.5]);
    let err = store
        .numeric_matrix(info.id, &["x", "name"])
        .expect_err("category");
    assert!(matches!(err, StoreError::WrongColumnKind { .. }), "{err}");
    let err = store
        .embedding_matrix(info.id, "x")
        .expect_err("not an embedding");
    assert!(err.to_string().contains("embedding"), "{err}");
}

#[test]
fn single_batch_embedding_matrix_is_zero_copy() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let key = (0..100)
        .map(|i| format!("single/{i}"))
        .find(|k| sample_batches(k).len() == 1)
        .expect("an unsplit sample");
    let info = write_sample(&store, run, &key, 0);
    let a = store
        .embedding_matrix(info.id, "vecteur ✓")
        .expect("matrix");
    let data = store.read_table(info.id).expect("read");
    let list = data.batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::FixedSizeListArray>()
        .expect("list");
    let values = list
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .expect("f32");
    // Same memory as the decoded segment: no copy was made.
    assert_eq!(a.as_slice().as_ptr(), values.values().as_ptr());
    // ...and the decoded column itself points into the buffer holding the whole segment file,
    // so reading the file was the only copy.
    assert!(a.buffer().inner().capacity() as u64 >= info.n_bytes);
    assert_eq!(a.n_rows() as u64, info.n_rows);
}

#[test]
fn bad_tables_are_refused_and_change_nothing() {
    let (dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let good = write_sample(&store, run, "good", 0);
    let segments_before = std::fs::read_dir(dir.path().join("data/segments"))
        .expect("ls")
        .count();

    let batches = sample_batches("bad");
    // Wrong number of kinds.
    let err = store
        .write_table(run, "bad", 0, &batches, &sample_kinds()[..3])
        .expect_err("kinds");
    assert!(err.to_string().contains("one kind per column"), "{err}");
    // A kind that does not match the Arrow type names the column and both types.
    let mut kinds = sample_kinds();
    kinds[1] = ColumnKind::Embedding { dim: 4 };
    let err = store
        .write_table(run, "bad", 0, &batches, &kinds)
        .expect_err("mismatch");
    let msg = err.to_string();
    assert!(
        msg.contains("größe")
            && msg.contains("FixedSizeList<Float32, 4>")
            && msg.contains("Float64"),
        "{msg}"
    );
    // Image hashes that were never stored.
    let err = store
        .write_table(run, "bad", 0, &batches, &sample_kinds())
        .expect_err("media");
    assert!(err.to_string().contains("put_media"), "{err}");
    // Duplicate column names.
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float32, false),
        Field::new("a", DataType::Float32, false),
    ]));
    let dup = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float32Array::from(vec![1.0])) as ArrayRef,
            Arc::new(Float32Array::from(vec![2.0])),
        ],
    )
    .expect("batch");
    let err = store
        .write_table(
            run,
            "dup",
            0,
            &[dup],
            &[ColumnKind::Numeric, ColumnKind::Numeric],
        )
        .expect_err("dup");
    assert!(err.to_string().contains("appears twice"), "{err}");
    // A hash that is not a hash.
    let schema = Arc::new(Schema::new(vec![Field::new("img", DataType::Utf8, false)]));
    let bad_hash = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec!["ok?", "../../etc/passwd"])) as ArrayRef],
    )
    .expect("batch");
    let err = store
        .write_table(run, "hash", 0, &[bad_hash], &[ColumnKind::Image])
        .expect_err("hash");
    assert!(
        matches!(err, StoreError::InvalidCell { row: 0, .. }),
        "{err}"
    );
    // No batches, unknown run, empty key.
    assert!(store.write_table(run, "none", 0, &[], &[]).is_err());
    let err = store
        .write_table(9999, "k", 0, &sample_batches("k"), &sample_kinds())
        .expect_err("run");
    assert!(
        matches!(
            err,
            StoreError::UnknownId {
                what: "run",
                id: 9999
            }
        ),
        "{err}"
    );

    assert_eq!(store.list_tables(run).expect("tables"), vec![good.clone()]);
    assert_sample_intact(&store, &good);
    let segments_after = std::fs::read_dir(dir.path().join("data/segments"))
        .expect("ls")
        .count();
    assert_eq!(segments_before, segments_after);
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/tmp"))
            .expect("ls")
            .count(),
        0
    );
}

#[test]
fn unknown_ids_and_hashes_are_named() {
    let (_dir, store) = open_temp();
    let err = store.table(42).expect_err("table");
    assert_eq!(err.to_string(), "no table with id 42 in the store");
    assert!(matches!(
        store.run(7),
        Err(StoreError::UnknownId { what: "run", id: 7 })
    ));
    assert!(matches!(
        store.list_runs(3),
        Err(StoreError::UnknownId {
            what: "project",
            ..
        })
    ));
    assert!(matches!(
        store.projection(5),
        Err(StoreError::UnknownId {
            what: "projection",
            ..
        })
    ));
    assert!(matches!(
        store.job(5),
        Err(StoreError::UnknownId { what: "job", .. })
    ));
    assert!(matches!(
        store.media("../catalog.sqlite"),
        Err(StoreError::InvalidHash { .. })
    ));
    let missing = hash_bytes(b"never stored");
    assert!(matches!(
        store.media(&missing),
        Err(StoreError::UnknownMedia { .. })
    ));
    let hash = store.put_media(b"\x89PNG...", "image/png").expect("put");
    assert_eq!(hash, hash_bytes(b"\x89PNG..."));
    assert_eq!(
        store.put_media(b"\x89PNG...", "image/png").expect("again"),
        hash
    );
    assert!(store.media_path(&hash).expect("path").ends_with(format!(
        "media/{}/{}",
        &hash[..2],
        &hash[2..]
    )));
}

#[test]
fn a_missing_segment_is_reported_with_its_table_and_path() {
    let (dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    drop(store);
    for entry in std::fs::read_dir(dir.path().join("data/segments")).expect("ls") {
        std::fs::remove_file(entry.expect("entry").path()).expect("rm");
    }
    let store = Store::open(dir.path().join("data")).expect("reopen");
    let err = store.read_table(info.id).expect_err("missing");
    assert!(matches!(err, StoreError::MissingSegment { .. }), "{err}");
    assert!(err.to_string().contains("segments/"), "{err}");
}

#[test]
fn a_corrupt_catalog_or_segment_is_named_not_misread() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("catalog.sqlite"), vec![0x42u8; 8192]).expect("garbage");
    let err = Store::open(&data).expect_err("corrupt");
    assert!(matches!(err, StoreError::CorruptCatalog { .. }), "{err}");
    assert!(err.to_string().contains("catalog.sqlite"), "{err}");

    let data2 = dir.path().join("data2");
    let store = Store::open(&data2).expect("open");
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    drop(store);
    for entry in std::fs::read_dir(data2.join("segments")).expect("ls") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    }
    let store = Store::open(&data2).expect("reopen");
    let err = store.read_table(info.id).expect_err("truncated");
    assert!(matches!(err, StoreError::CorruptSegment { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ro");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores permission bits; the check only means something for other users.
    let probe = std::fs::write(data.join("probe"), b"x");
    if probe.is_ok() {
        eprintln!("running as root: permission bits are not enforced, skipping");
        return;
    }
    let err = Store::open(&data).expect_err("read-only");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("ro"), "{err}");
}

#[test]
fn a_newer_catalog_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(Store::open(dir.path()).expect("open"));
    let conn = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).expect("sqlite");
    conn.pragma_update(None, "user_version", 999).expect("bump");
    drop(conn);
    let err = Store::open(dir.path()).expect_err("newer");
    assert!(
        matches!(err, StoreError::NewerSchema { found: 999, .. }),
        "{err}"
    );
}

#[test]
fn projections_are_cached_by_spec_and_jobs_track_progress() {
    let (dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    let spec = ProjectionSpec {
        table_id: info.id,
        fields: json!({"type": "single", "columns": ["vecteur ✓"]}),
        algorithm: "umap".into(),
        params: json!({"n_neighbors": 15, "min_dist": 0.1}),
        seed: 7,
        n_components: 2,
        rows: None,
    };
    // Parameter order does not change the key; a different seed does.
    let reordered = ProjectionSpec {
        params: serde_json::from_str(r#"{"min_dist": 0.1, "n_neighbors": 15}"#).expect("json"),
        ..spec.clone()
    };
    assert_eq!(spec.cache_key(), reordered.cache_key());
    assert_ne!(
        spec.cache_key(),
        ProjectionSpec {
            seed: 8,
            ..spec.clone()
        }
        .cache_key()
    );

    assert!(store.get_projection(&spec).expect("get").is_none());
    let (p, created) = store.get_or_create_projection(&spec).expect("create");
    assert!(created);
    assert_eq!(p.status, ProjectionStatus::Pending);
    let (again, created_again) = store.get_or_create_projection(&reordered).expect("join");
    assert!(!created_again);
    assert_eq!(again.id, p.id);

    let job = store.create_job("projection", Some(p.id)).expect("job");
    assert_eq!(job.status, JobStatus::Queued);
    store
        .update_job_progress(job.id, "epochs", 50, 200)
        .expect("progress");
    let running = store
        .active_job_for_projection(p.id)
        .expect("active")
        .expect("some");
    assert_eq!(
        (running.status, running.done, running.total),
        (JobStatus::Running, 50, 200)
    );
    assert_eq!(running.stage, "epochs");

    let n = info.n_rows as usize;
    let err = store
        .finish_projection(p.id, &vec![0.0; n], &json!({}), 0.1)
        .expect_err("wrong length");
    assert!(
        err.to_string()
            .contains(&format!("{n} rows × 2 components")),
        "{err}"
    );
    let coords: Vec<f32> = (0..n * 2).map(|i| i as f32 * 0.25 - 3.0).collect();
    let done = store
        .finish_projection(p.id, &coords, &json!({"trustworthiness": 0.93}), 1.5)
        .expect("finish");
    store
        .set_job_status(job.id, JobStatus::Done, None)
        .expect("status");
    assert_eq!(done.status, ProjectionStatus::Done);
    assert_eq!(done.metrics, Some(json!({"trustworthiness": 0.93})));
    assert!(
        store
            .active_job_for_projection(p.id)
            .expect("active")
            .is_none()
    );

    drop(store);
    let store = Store::open(dir.path().join("data")).expect("reopen");
    let cached = store
        .get_projection(&reordered)
        .expect("get")
        .expect("cached");
    assert_eq!(cached.id, p.id);
    assert_eq!(store.projection_coords(p.id).expect("coords"), coords);
    let bytes = store.projection_coords_bytes(p.id).expect("bytes");
    assert_eq!(bytes.len(), n * 2 * 4);
    assert_eq!(&bytes[..4], &coords[0].to_le_bytes());
    // A second finish keeps the first result.
    store
        .finish_projection(p.id, &vec![9.0; n * 2], &json!({}), 2.0)
        .expect("refinish");
    assert_eq!(store.projection_coords(p.id).expect("coords"), coords);
    assert_eq!(store.list_projections(info.id).expect("list").len(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/projections"))
            .expect("ls")
            .count(),
        1
    );
}

#[test]
fn failed_projections_can_be_retried() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    let spec = ProjectionSpec {
        table_id: info.id,
        fields: json!({"type": "single", "columns": ["vecteur ✓"]}),
        algorithm: "pca".into(),
        params: json!({}),
        seed: 0,
        n_components: 3,
        rows: None,
    };
    let (p, _) = store.get_or_create_projection(&spec).expect("create");
    store.fail_projection(p.id, "out of memory").expect("fail");
    let failed = store.projection(p.id).expect("get");
    assert_eq!(failed.status, ProjectionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("out of memory"));
    assert!(store.projection_coords(p.id).is_err());
    let retried = store.retry_projection(p.id).expect("retry");
    assert_eq!(retried.status, ProjectionStatus::Pending);
    assert_eq!(retried.error, None);
    let bad = ProjectionSpec {
        n_components: 4,
        ..spec
    };
    assert!(store.get_or_create_projection(&bad).is_err());
}

#[test]
fn open_removes_files_of_dead_writers_and_keeps_those_of_live_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let store = Store::open(&data).expect("open");
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let kept = write_sample(&store, run, "kept", 0);
    drop(store);
    // Above any Linux pid_max, so no process can have this pid.
    let dead = "4294967295-1a2b-0";
    let live = format!("{}-1a2b-1", std::process::id());
    let paths = [
        data.join(format!("tmp/{dead}.arrow.tmp")),
        data.join(format!("segments/{dead}.arrow")),
        data.join(format!("projections/{dead}.f32")),
        data.join(format!("tmp/{live}.arrow.tmp")),
        data.join(format!("segments/{live}.arrow")),
    ];
    for path in &paths {
        std::fs::write(path, b"half-written").expect("plant a leftover");
    }
    let store = Store::open(&data).expect("reopen");
    let exists: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
    // A dead writer's leftovers go; a live writer (this process) may still commit its files.
    assert_eq!(exists, [false, false, false, true, true]);
    assert_eq!(store.list_tables(run).expect("tables"), vec![kept.clone()]);
    assert_sample_intact(&store, &kept);
}

#[test]
fn jobs_of_a_dead_process_are_failed_on_open_with_their_projection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    let spec = ProjectionSpec {
        table_id: info.id,
        fields: json!({"type": "single", "columns": ["vecteur ✓"]}),
        algorithm: "tsne".into(),
        params: json!({"perplexity": 30}),
        seed: 1,
        n_components: 2,
        rows: None,
    };
    let (p, _) = store.get_or_create_projection(&spec).expect("projection");
    let orphaned = store.create_job("projection", Some(p.id)).expect("job");
    let ours = store.create_job("projection", None).expect("job");
    store
        .update_job_progress(orphaned.id, "epochs", 3, 10)
        .expect("progress");
    drop(store);
    // Pretend the first job's process died.
    let conn = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).expect("sqlite");
    conn.execute(
        "UPDATE jobs SET owner_pid = 4294967295 WHERE id = ?1",
        [orphaned.id],
    )
    .expect("update");
    drop(conn);
    let store = Store::open(dir.path()).expect("reopen");
    let failed = store.job(orphaned.id).expect("job");
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(
        failed.error.as_deref().unwrap_or("").contains("4294967295"),
        "{failed:?}"
    );
    assert_eq!(
        store.projection(p.id).expect("p").status,
        ProjectionStatus::Failed
    );
    assert_eq!(store.job(ours.id).expect("job").status, JobStatus::Queued);
    assert_eq!(store.active_jobs().expect("active").len(), 1);
}

#[test]
fn one_store_handle_serves_writer_and_reader_threads() {
    let (_dir, store) = open_temp();
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let store = &store;
    let written: Vec<_> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                s.spawn(move || {
                    (0..5)
                        .map(|i| write_sample(store, run, &format!("thread{w}/{i}"), i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let reader = s.spawn(move || {
            let mut seen = 0;
            for _ in 0..50 {
                for info in store.list_tables(run).expect("list") {
                    assert_sample_intact(store, &info);
                    seen += 1;
                }
            }
            seen
        });
        let written = writers
            .into_iter()
            .flat_map(|h| h.join().expect("writer thread"))
            .collect();
        reader.join().expect("reader thread");
        written
    });
    let mut listed = store.list_tables(run).expect("list");
    listed.sort_by_key(|t| t.id);
    let mut written = written;
    written.sort_by_key(|t| t.id);
    assert_eq!(listed, written);
    for info in &listed {
        assert_sample_intact(store, info);
    }
}

#[test]
fn a_deleted_catalog_is_refused_and_the_segments_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    write_sample(&store, run, "t", 0);
    drop(store);
    for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let err = Store::open(dir.path()).expect_err("a new catalog beside old segments");
    assert!(matches!(err, StoreError::CorruptCatalog { .. }), "{err}");
    assert!(err.to_string().contains("segments"), "{err}");
    let n_segments = std::fs::read_dir(dir.path().join("segments"))
        .expect("ls")
        .count();
    assert_eq!(n_segments, 1, "the segment must survive the refused open");
}

#[test]
fn media_written_in_a_batch_equals_media_written_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let already = store.put_media(b"first", "image/png").expect("put one");
    let owned: Vec<Vec<u8>> = (0..300u32)
        .map(|i| format!("blob {i}").into_bytes())
        .collect();
    let mut items: Vec<(&[u8], &str)> = owned.iter().map(|b| (b.as_slice(), "image/png")).collect();
    items.push((b"first", "image/png")); // stored before the batch
    items.push((owned[7].as_slice(), "image/png")); // twice in one batch
    let hashes = store.put_media_many(&items).expect("put many");
    assert_eq!(hashes.len(), items.len());
    assert_eq!(hashes[300], already);
    assert_eq!(hashes[301], hashes[7]);
    for ((bytes, mime), hash) in items.iter().zip(&hashes) {
        let media = store.media(hash).expect("read back");
        assert_eq!(media.bytes.as_slice(), *bytes, "{hash}");
        assert_eq!(media.mime, *mime);
        assert_eq!(store.put_media(bytes, mime).expect("again"), *hash);
    }
    // Nothing left behind in the temp directory, and a reopened store sees every file.
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).map_or(0, |d| d.count());
    assert_eq!(leftovers, 0, "temp files left after the batch");
    drop(store);
    let reopened = Store::open(dir.path()).expect("reopen");
    for hash in &hashes {
        reopened.media(hash).expect("after reopen");
    }
}
