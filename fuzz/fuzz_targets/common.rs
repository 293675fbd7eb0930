//! Shared by the importer targets: the input becomes a file with the right extension in a
//! per-process temp folder (the importers read paths), then `import_path` must return, Ok or Err,
//! without panicking.

use std::path::PathBuf;
use std::sync::OnceLock;

pub fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    // /dev/shm when there is one: a file per input, so keep it off the disk.
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("flatspace-fuzz")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("temp dir")
    })
}

pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().path().join(name);
    std::fs::write(&path, bytes).expect("write input");
    path
}

pub fn import(path: &std::path::Path, labels: Option<&std::path::Path>) {
    let options = flatspace_table::ImportOptions {
        labels,
        progress: None,
    };
    if let Err(e) = flatspace_table::import_path(path, &options) {
        // Every error names what it read.
        let message = e.to_string();
        assert!(!message.is_empty());
    }
}
