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
    // libfuzzer-sys installs a panic hook that aborts on every panic, even one the importer
    // catches on purpose (the Parquet reader falls back when arrow-ipc panics on a corrupt
    // embedded schema). Back to the default hook: a caught panic only prints, and a panic that
    // escapes `import_path` still reaches libfuzzer-sys's own `catch_unwind`, which aborts and
    // saves the input as a crash.
    static DEFAULT_HOOK: std::sync::Once = std::sync::Once::new();
    DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
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
