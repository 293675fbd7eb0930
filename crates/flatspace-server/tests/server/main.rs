//! The server's tests, in one binary so the demo store (1,797 digit images) is written once and
//! copied for each test.

mod access;
mod api;
mod bad_inputs;
mod explore;
mod websocket;

use std::path::Path;
use std::sync::OnceLock;

use flatspace_store::Store;

pub const BLOBS_ROWS: usize = 600;

/// The demo tables' ids in the template store.
#[derive(Debug, Clone, Copy)]
pub struct DemoIds {
    pub digits: i64,
    pub blobs: i64,
    pub run: i64,
}

fn template() -> &'static (tempfile::TempDir, DemoIds) {
    static TEMPLATE: OnceLock<(tempfile::TempDir, DemoIds)> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let ids = {
            let store = Store::open(dir.path()).expect("store");
            let filled = flatspace_server::demo::fill_store(&store, BLOBS_ROWS).expect("demo");
            DemoIds {
                digits: filled[0].table.id,
                blobs: filled[1].table.id,
                run: filled[0].table.run_id,
            }
            // The store closes here: its catalog is complete on disk for copying.
        };
        (dir, ids)
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh store holding the demo tables (a copy of the template), and their ids.
pub fn demo_store() -> (tempfile::TempDir, Store, DemoIds) {
    let (template_dir, ids) = template();
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(template_dir.path(), dir.path());
    let store = Store::open(dir.path()).expect("store copy");
    (dir, store, *ids)
}
