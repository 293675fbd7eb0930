//! File-level half of the commit protocol: write to a temp file, fsync, rename into place, fsync
//! the directory; and the clean-up of what a killed writer left behind.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Result, StoreError};

pub(crate) const TMP_DIR: &str = "tmp";
pub(crate) const SEGMENTS_DIR: &str = "segments";
pub(crate) const MEDIA_DIR: &str = "media";
pub(crate) const PROJECTIONS_DIR: &str = "projections";

/// Files of a writer whose process we cannot check are removed once this old.
const ORPHAN_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique across processes and calls: `<pid>-<nanos>-<counter>`. The pid prefix lets
/// clean-up tell a live writer's files from a dead one's.
pub(crate) fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{nanos:x}-{n}", std::process::id())
}

/// Whether the process that wrote a file named `<pid>-…` may still be running. Where we cannot
/// tell (not Linux), assume it is, and let the age limit decide.
fn writer_may_be_alive(file_name: &str) -> bool {
    let Some(pid) = file_name
        .split('-')
        .next()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    pid_may_be_alive(pid)
}

pub(crate) fn pid_may_be_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|e| e > age)
}

/// Whether a leftover file should go: its writer is gone, or it is very old.
pub(crate) fn is_orphan(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !writer_may_be_alive(name) || older_than(path, ORPHAN_MAX_AGE)
}

/// Removes temp files of writers that are gone. Files of live writers stay: another process may
/// be in the middle of a commit.
pub(crate) fn clean_tmp(root: &Path) -> Result<usize> {
    let dir = root.join(TMP_DIR);
    let entries = fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))?;
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if is_orphan(&path) && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    // Directories cannot be opened for syncing on Windows; the rename is durable enough there.
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("sync the directory", dir, e))?;
    }
    Ok(())
}

/// Bytes written between two background data syncs.
const WRITE_BEHIND_WINDOW: u64 = 32 << 20;

/// A file whose data is synced to disk in the background while it is still being written.
///
/// The commit's fsync has to wait until every byte is on the disk; for a large segment (a
/// 100,000 × 768 table is 307 MB) that wait was half of a `log` call, with the disk idle while the
/// table was encoded. Once a file passes one window, a helper thread runs `fdatasync` on it after
/// every further window, so the disk works while the rest is written and the final fsync finds
/// little left. A failed background sync fails the commit: its error is kept and returned by
/// [`WriteBehind::into_synced_file`]. Small files never start the thread.
pub(crate) struct WriteBehind {
    file: File,
    window: u64,
    written: u64,
    requested: u64,
    syncer: Option<Syncer>,
}

struct Syncer {
    wake: std::sync::mpsc::Sender<()>,
    done: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Syncer {
    /// A thread syncing a clone of `file` once per wake-up; `None` if it cannot be started
    /// (the final fsync still makes the file durable).
    fn start(file: &File) -> Option<Syncer> {
        let clone = file.try_clone().ok()?;
        let (wake, wakes) = std::sync::mpsc::channel::<()>();
        let done = std::thread::Builder::new()
            .name("flatspace-sync".into())
            .spawn(move || {
                while wakes.recv().is_ok() {
                    // Requests that queued up during a sync are covered by the next one.
                    while wakes.try_recv().is_ok() {}
                    clone.sync_data()?;
                }
                Ok(())
            })
            .ok()?;
        Some(Syncer { wake, done })
    }

    fn finish(self) -> std::io::Result<()> {
        drop(self.wake);
        self.done
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the background sync thread panicked")))
    }
}

impl WriteBehind {
    fn new(file: File, window: u64) -> Self {
        WriteBehind {
            file,
            window: window.max(1),
            written: 0,
            requested: 0,
            syncer: None,
        }
    }

    /// The file, after any background sync has finished (its error, if one failed).
    fn into_synced_file(self) -> std::io::Result<File> {
        if let Some(syncer) = self.syncer {
            syncer.finish()?;
        }
        Ok(self.file)
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // At most one window per call, so a single huge buffer is synced as it goes.
        let n = self
            .file
            .write(&buf[..buf.len().min(self.window as usize)])?;
        self.written += n as u64;
        if self.written - self.requested >= self.window {
            self.requested = self.written;
            if self.syncer.is_none() {
                self.syncer = Syncer::start(&self.file);
            }
            if let Some(syncer) = &self.syncer {
                // A closed channel means the thread stopped on an error, which
                // `into_synced_file` returns.
                let _ = syncer.wake.send(());
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A temp file being written; removed on drop unless persisted.
pub(crate) struct TempFile {
    path: PathBuf,
    file: Option<BufWriter<WriteBehind>>,
    persisted: bool,
}

impl TempFile {
    pub(crate) fn create(root: &Path, suffix: &str) -> Result<TempFile> {
        let path = root
            .join(TMP_DIR)
            .join(format!("{}.{suffix}.tmp", unique_name()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| map_write_error(root, &path, e))?;
        Ok(TempFile {
            path,
            file: Some(BufWriter::with_capacity(
                1 << 20,
                WriteBehind::new(file, WRITE_BEHIND_WINDOW),
            )),
            persisted: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn writer(&mut self) -> &mut BufWriter<WriteBehind> {
        // Only `None` after `persist`, which consumes self.
        self.file
            .as_mut()
            .unwrap_or_else(|| unreachable!("temp file used after persist"))
    }

    /// Flushes and fsyncs the file, renames it to `dest`, and fsyncs `dest`'s directory.
    pub(crate) fn persist(self, dest: &Path) -> Result<()> {
        self.persist_leaving_dir_unsynced(dest)?;
        if let Some(parent) = dest.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// As [`TempFile::persist`] without the directory fsync: for batches that sync each
    /// directory once after all their renames.
    pub(crate) fn persist_leaving_dir_unsynced(mut self, dest: &Path) -> Result<()> {
        let writer = self
            .file
            .take()
            .unwrap_or_else(|| unreachable!("temp file persisted twice"));
        let file = writer
            .into_inner()
            .map_err(|e| StoreError::io("write", &self.path, e.into_error()))?
            .into_synced_file()
            .map_err(|e| StoreError::io("sync", &self.path, e))?;
        file.sync_all()
            .map_err(|e| StoreError::io("sync", &self.path, e))?;
        drop(file);
        fs::rename(&self.path, dest).map_err(|e| StoreError::io("rename into place", dest, e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            self.file = None;
            let _ = fs::remove_file(&self.path);
        }
    }
}

pub(crate) fn map_write_error(root: &Path, path: &Path, e: std::io::Error) -> StoreError {
    if is_read_only_error(&e) {
        StoreError::ReadOnly {
            path: root.to_path_buf(),
            source: e,
        }
    } else {
        StoreError::io("create", path, e)
    }
}

pub(crate) fn is_read_only_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Writes `bytes` to `dest` through the commit protocol, unless `dest` already exists (used for
/// content-addressed files, whose name fixes their content).
pub(crate) fn write_once(root: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    if dest.exists() {
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| map_write_error(root, parent, e))?;
    }
    let mut tmp = TempFile::create(root, "media")?;
    tmp.write_all(bytes)
        .map_err(|e| StoreError::io("write", tmp.path().to_path_buf(), e))?;
    tmp.persist(dest)
}

/// [`write_once`] for many files: each file is fsynced (from a few threads, so the waits
/// overlap) and renamed, then each directory that received a file is fsynced once.
pub(crate) fn write_many_once(root: &Path, files: &[(PathBuf, &[u8])]) -> Result<()> {
    const WRITERS: usize = 8;
    let pending: Vec<&(PathBuf, &[u8])> = files.iter().filter(|(dest, _)| !dest.exists()).collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut dirs: Vec<&Path> = pending.iter().filter_map(|(d, _)| d.parent()).collect();
    dirs.sort_unstable();
    dirs.dedup();
    for dir in &dirs {
        fs::create_dir_all(dir).map_err(|e| map_write_error(root, dir, e))?;
    }
    let chunk = pending.len().div_ceil(WRITERS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pending
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<()> {
                    for (dest, bytes) in part {
                        let mut tmp = TempFile::create(root, "media")?;
                        tmp.write_all(bytes)
                            .map_err(|e| StoreError::io("write", tmp.path().to_path_buf(), e))?;
                        tmp.persist_leaving_dir_unsynced(dest)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Result<Vec<()>>>()
    })?;
    for dir in &dirs {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_synced_in_the_background_keeps_every_byte_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data");
        let file = File::create(&path).expect("create");
        // A 4 KiB window: 100 KiB in writes of many sizes wakes the sync thread many times,
        // and one write is much larger than a window.
        let mut writer = BufWriter::with_capacity(1000, WriteBehind::new(file, 4096));
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut at = 0;
        for (i, len) in [1usize, 999, 4096, 30_000, 3, 17_000]
            .iter()
            .cycle()
            .enumerate()
        {
            if at == bytes.len() {
                break;
            }
            let end = (at + len + i).min(bytes.len());
            writer.write_all(&bytes[at..end]).expect("write");
            at = end;
        }
        let Ok(behind) = writer.into_inner() else {
            panic!("flush failed")
        };
        assert!(behind.syncer.is_some(), "the sync thread started");
        let file = behind.into_synced_file().expect("background syncs succeed");
        file.sync_all().expect("sync");
        drop(file);
        assert_eq!(fs::read(&path).expect("read back"), bytes);
    }

    #[test]
    fn permission_errors_become_read_only_errors_naming_the_store() {
        let root = Path::new("/data/store");
        for kind in [
            std::io::ErrorKind::PermissionDenied,
            std::io::ErrorKind::ReadOnlyFilesystem,
        ] {
            let err = map_write_error(root, &root.join("tmp/x"), std::io::Error::from(kind));
            assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
            assert!(
                err.to_string().contains("/data/store is not writable"),
                "{err}"
            );
        }
        let err = map_write_error(
            root,
            &root.join("tmp/x"),
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert!(err.to_string().contains("tmp/x"), "{err}");
    }

    #[test]
    fn orphans_are_told_apart_by_the_writer_pid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let live = dir.path().join(format!("{}-1-0.arrow", std::process::id()));
        let dead = dir.path().join("4294967295-1-0.arrow");
        let unnamed = dir.path().join("stray.arrow");
        for p in [&live, &dead, &unnamed] {
            std::fs::write(p, b"x").expect("write");
        }
        assert!(!is_orphan(&live));
        assert!(is_orphan(&dead));
        assert!(is_orphan(&unnamed));
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("{}-", std::process::id())));
    }
}
