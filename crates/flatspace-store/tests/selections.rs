//! Named selections, subset projections and the catalog migration that added them.

mod common;

use common::write_sample;
use flatspace_store::{ProjectionSpec, Store, StoreError};
use serde_json::json;

fn store_with_table() -> (tempfile::TempDir, Store, flatspace_store::TableInfo) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("data")).expect("open store");
    let project = store.get_or_create_project("p").expect("project");
    let run = store
        .get_or_create_run(project, "r", &json!({}))
        .expect("run");
    let info = write_sample(&store, run, "t", 0);
    assert!(info.n_rows >= 4, "the sample has a few rows");
    (dir, store, info)
}

#[test]
fn selections_are_saved_sorted_listed_replaced_by_name_and_deleted() {
    let (dir, store, info) = store_with_table();
    let last = (info.n_rows - 1) as u32;
    let a = store
        .save_selection(info.id, "cluster ✓", &[last, 0, 2, 0])
        .expect("save");
    assert_eq!((a.n_rows, a.table_id), (3, info.id));
    let (got, rows) = store.selection(a.id).expect("read");
    assert_eq!(got, a);
    assert_eq!(rows, vec![0, 2, last], "stored sorted and unique");
    let b = store.save_selection(info.id, "other", &[]).expect("empty");
    assert_eq!(b.n_rows, 0);

    // The same name again replaces the rows and keeps the id.
    let replaced = store
        .save_selection(info.id, "cluster ✓", &[1])
        .expect("replace");
    assert_eq!(replaced.id, a.id);
    assert_eq!(store.selection(a.id).expect("read").1, vec![1]);
    let names: Vec<String> = store
        .list_selections(info.id)
        .expect("list")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["cluster ✓", "other"]);
    assert_eq!(
        store
            .find_selection(info.id, "other")
            .expect("find")
            .map(|s| s.id),
        Some(b.id)
    );

    // Visible to another handle (another process), then deleted.
    drop(store);
    let store = Store::open(dir.path().join("data")).expect("reopen");
    assert_eq!(store.selection(a.id).expect("read").1, vec![1]);
    store.delete_selection(b.id).expect("delete");
    assert!(matches!(
        store.selection(b.id),
        Err(StoreError::UnknownId { .. })
    ));
    assert!(store.delete_selection(b.id).is_err());
    assert_eq!(store.list_selections(info.id).expect("list").len(), 1);
}

#[test]
fn bad_selections_are_refused_naming_the_problem() {
    let (_dir, store, info) = store_with_table();
    let n = info.n_rows;
    let err = store
        .save_selection(info.id, "x", &[0, n as u32])
        .expect_err("row n is out of range");
    assert!(matches!(err, StoreError::RowOutOfRange { row, .. } if row == n));
    assert!(err.to_string().contains(&format!("row {n}")), "{err}");
    assert!(matches!(
        store.save_selection(info.id, "  ", &[0]),
        Err(StoreError::EmptyName { .. })
    ));
    let long = "é".repeat(201);
    assert!(matches!(
        store.save_selection(info.id, &long, &[0]),
        Err(StoreError::InvalidName { .. })
    ));
    assert!(
        store
            .save_selection(info.id, &"é".repeat(200), &[0])
            .is_ok()
    );
    assert!(matches!(
        store.save_selection(info.id + 100, "x", &[0]),
        Err(StoreError::UnknownId { what: "table", .. })
    ));
    assert!(store.list_selections(info.id).expect("list").len() == 1);
}

fn spec(table_id: i64, rows: Option<Vec<u32>>) -> ProjectionSpec {
    ProjectionSpec {
        table_id,
        fields: json!({"type": "single", "columns": ["vecteur ✓"]}),
        algorithm: "pca".into(),
        params: json!({}),
        seed: 0,
        n_components: 2,
        rows,
    }
}

#[test]
fn subset_projections_have_their_own_key_rows_and_coordinate_count() {
    let (_dir, store, info) = store_with_table();
    let whole = spec(info.id, None);
    let subset = spec(info.id, Some(vec![0, 2, 3]));
    let other_subset = spec(info.id, Some(vec![0, 2]));
    let keys = [
        whole.cache_key(),
        subset.cache_key(),
        other_subset.cache_key(),
    ];
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);

    let p = store
        .put_projection(&subset, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &json!({}), 0.1)
        .expect("store a subset");
    assert!(p.rows_subset);
    assert_eq!(p.n_rows, 3);
    assert_eq!(
        store.projection_rows(p.id).expect("rows"),
        Some(vec![0, 2, 3])
    );
    assert_eq!(store.projection_coords(p.id).expect("coords").len(), 6);
    // Whole-table coordinates must count the table's rows, not the subset's.
    if info.n_rows != 3 {
        assert!(
            store
                .put_projection(&whole, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &json!({}), 0.1)
                .is_err()
        );
    }
    let full = store.get_or_create_projection(&whole).expect("whole").0;
    assert!(!full.rows_subset);
    assert_eq!(full.n_rows, info.n_rows);
    assert_eq!(store.projection_rows(full.id).expect("rows"), None);

    for bad in [vec![2, 0], vec![0, 0], vec![], vec![info.n_rows as u32]] {
        assert!(
            store
                .get_or_create_projection(&spec(info.id, Some(bad.clone())))
                .is_err(),
            "rows {bad:?} should be refused"
        );
    }
}

#[test]
fn a_catalog_from_before_selections_is_migrated_and_keeps_its_tables() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let info = {
        let store = Store::open(&data).expect("open");
        let project = store.get_or_create_project("p").expect("project");
        let run = store
            .get_or_create_run(project, "r", &json!({}))
            .expect("run");
        write_sample(&store, run, "t", 0)
    };
    // Turn the catalog back into schema version 1, as a store written before this change.
    let conn = rusqlite::Connection::open(data.join("catalog.sqlite")).expect("sqlite");
    conn.execute_batch(
        "DROP TABLE selections; ALTER TABLE projections DROP COLUMN rows; PRAGMA user_version = 1;",
    )
    .expect("downgrade");
    drop(conn);

    let store = Store::open(&data).expect("reopen migrates");
    common::assert_sample_intact(&store, &store.table_info(info.id).expect("table"));
    let saved = store.save_selection(info.id, "s", &[1]).expect("save");
    assert_eq!(store.selection(saved.id).expect("read").1, vec![1]);
    let version: i64 = rusqlite::Connection::open(data.join("catalog.sqlite"))
        .expect("sqlite")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 2);
}
