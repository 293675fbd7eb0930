//! Several processes on one store: writers killed with SIGKILL mid-write, and writers racing a
//! reader. The writer is this test binary re-run as a child (`child_writer`), told what to do by
//! environment variables; it prints `COMMITTED <id> <key>` after each commit returns.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_sample_intact, write_sample};
use flatspace_store::{JobStatus, Store, TableInfo};
use serde_json::json;

const ENV_DIR: &str = "FLATSPACE_STORE_TEST_DIR";
const ENV_TAG: &str = "FLATSPACE_STORE_TEST_TAG";
const ENV_COUNT: &str = "FLATSPACE_STORE_TEST_COUNT";

/// The writer child: opens the store, registers a running job, then commits sample tables into
/// its own run (`<tag>/<seq>`) and, every third one, into the shared run under one key and step
/// (so writers race for version numbers). `COUNT=0` writes until killed.
#[test]
#[ignore = "the writer process of the crash and concurrency tests, not a test of its own"]
fn child_writer() {
    let (Ok(dir), Ok(tag)) = (std::env::var(ENV_DIR), std::env::var(ENV_TAG)) else {
        return;
    };
    let count: u64 = std::env::var(ENV_COUNT)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let store = Store::open(&dir).expect("child opens the store");
    let project = store.get_or_create_project("processes").expect("project");
    let own_run = store
        .get_or_create_run(project, &tag, &json!({"tag": tag}))
        .expect("run");
    let shared_run = store
        .get_or_create_run(project, "shared", &json!({}))
        .expect("run");
    let job = store.create_job("test-writer", None).expect("job");
    let mut seq = 0u64;
    while count == 0 || seq < count {
        let key = format!("{tag}/{seq}");
        let info = write_sample(&store, own_run, &key, seq as i64);
        println!("COMMITTED {} {}", info.id, info.key);
        if seq.is_multiple_of(3) {
            let info = write_sample(&store, shared_run, "shared", 0);
            println!("COMMITTED {} {}", info.id, info.key);
        }
        store
            .update_job_progress(job.id, "writing", seq, count)
            .expect("progress");
        seq += 1;
    }
    store
        .set_job_status(job.id, JobStatus::Done, None)
        .expect("done");
}

fn spawn_writer(dir: &Path, tag: &str, count: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ENV_DIR, dir)
        .env(ENV_TAG, tag)
        .env(ENV_COUNT, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer child")
}

/// The `(id, key)` pairs a child reported committed.
fn committed_lines(out: &str) -> Vec<(i64, String)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("COMMITTED "))
        .map(|rest| {
            let (id, key) = rest.split_once(' ').expect("id and key");
            (id.parse().expect("id"), key.to_string())
        })
        .collect()
}

fn all_tables(store: &Store) -> Vec<TableInfo> {
    let mut out = Vec::new();
    for project in store.list_projects().expect("projects") {
        for run in store.list_runs(project.id).expect("runs") {
            out.extend(store.list_tables(run.id).expect("tables"));
        }
    }
    out
}

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn writers_killed_at_random_points_leave_every_committed_table_and_no_partial_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut rng = Lcg(0x5EED);
    let mut reported: HashMap<i64, String> = HashMap::new();
    let mut verified: HashSet<i64> = HashSet::new();
    let kills = 60;
    let (mut killed_mid_write, mut killed_before_catalog_commit) = (0, 0);
    let started = Instant::now();
    for i in 0..kills {
        let mut child = spawn_writer(&data, &format!("crash{i}"), 0);
        // Kill after 0–3 commits plus 0–40 ms, so kills land at random points: while the store
        // opens (or is created), mid-segment-write, between rename and catalog commit, and
        // inside the catalog transaction. Waiting for commits rather than fixed times keeps the
        // test meaningful on a slow, busy machine.
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut out = String::new();
        let wait_for = rng.below(4) as usize;
        while committed_lines(&out).len() < wait_for {
            if stdout.read_line(&mut out).expect("read child output") == 0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        child.kill().expect("SIGKILL the writer");
        let status = child.wait().expect("reap the writer");
        stdout.read_to_string(&mut out).expect("read child output");
        if status.code().is_some() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("stderr");
            panic!("the writer exited by itself ({status}) instead of being killed: {err}");
        }
        reported.extend(committed_lines(&out));

        let count_files = |sub: &str| std::fs::read_dir(data.join(sub)).map_or(0, |d| d.count());
        let (tmp_before, segments_before) = (count_files("tmp"), count_files("segments"));
        let store = Store::open(&data).expect("the store opens after a kill");
        if tmp_before > 0 {
            killed_mid_write += 1;
        }
        if count_files("segments") < segments_before {
            killed_before_catalog_commit += 1;
        }
        let tables = all_tables(&store);
        let visible: HashMap<i64, &TableInfo> = tables.iter().map(|t| (t.id, t)).collect();
        for (id, key) in &reported {
            let info = visible
                .get(id)
                .unwrap_or_else(|| panic!("committed table {id} ({key}) vanished after kill {i}"));
            assert_eq!(&info.key, key);
        }
        // Every visible table is whole: verify the ones not checked before.
        for info in &tables {
            if verified.insert(info.id) {
                assert_sample_intact(&store, info);
            }
        }
        // What the killed writer left half-done is gone: no temp files, no uncommitted segments,
        // and its job no longer claims to be running.
        assert_eq!(
            std::fs::read_dir(data.join("tmp")).expect("ls tmp").count(),
            0
        );
        let n_segments = std::fs::read_dir(data.join("segments"))
            .expect("ls")
            .count();
        assert_eq!(n_segments, tables.len(), "orphan segments after kill {i}");
        assert!(store.active_jobs().expect("jobs").is_empty());
    }
    assert!(
        reported.len() >= kills / 2,
        "only {} commits in {kills} runs: kills land too early to test anything",
        reported.len()
    );
    // Re-verify everything once at the end with a fresh handle.
    let store = Store::open(&data).expect("open");
    for info in all_tables(&store) {
        assert_sample_intact(&store, &info);
    }
    eprintln!(
        "{kills} kills ({killed_mid_write} left a temp file, {killed_before_catalog_commit} a renamed \
         but uncommitted segment), {} committed tables survived, {:.1} s",
        reported.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        killed_mid_write > 0,
        "no kill landed while a file was being written; the test does not reach the commit window"
    );
}

#[test]
fn four_writers_and_a_reader_share_one_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let per_writer = 12;
    let tags: Vec<String> = (0..4).map(|i| format!("writer{i}")).collect();
    let mut children: Vec<Child> = tags
        .iter()
        .map(|t| spawn_writer(&data, t, per_writer))
        .collect();

    // Read while they write: every table that is visible must already be whole.
    let mut verified: HashSet<i64> = HashSet::new();
    let mut reads = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let finished = children
            .iter_mut()
            .all(|c| c.try_wait().expect("poll child").is_some());
        let store = Store::open(&data).expect("the reader opens the store while writers write");
        for info in all_tables(&store) {
            if verified.insert(info.id) {
                assert_sample_intact(&store, &info);
                reads += 1;
            }
        }
        if finished {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writers did not finish within 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut reported = Vec::new();
    for mut child in children {
        let status = child.wait().expect("wait");
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("out");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("err");
        assert!(status.success(), "a writer failed: {err}\n{out}");
        reported.extend(committed_lines(&out));
    }

    let store = Store::open(&data).expect("open");
    let tables = all_tables(&store);
    let shared_per_writer = per_writer.div_ceil(3);
    assert_eq!(tables.len() as u64, 4 * (per_writer + shared_per_writer));
    assert_eq!(reported.len(), tables.len());
    for info in &tables {
        assert_sample_intact(&store, info);
    }
    // The shared key at step 0 got distinct consecutive versions despite the race.
    let project = store
        .find_project("processes")
        .expect("find")
        .expect("project");
    let shared = store
        .find_run(project.id, "shared")
        .expect("find")
        .expect("run");
    let mut versions: BTreeMap<i64, String> = BTreeMap::new();
    for info in store.list_tables(shared.id).expect("tables") {
        assert_eq!((info.key.as_str(), info.step), ("shared", 0));
        assert!(versions.insert(info.version, info.key.clone()).is_none());
    }
    let expected: Vec<i64> = (1..=(4 * shared_per_writer) as i64).collect();
    assert_eq!(versions.keys().copied().collect::<Vec<_>>(), expected);
    for tag in &tags {
        let run = store.find_run(project.id, tag).expect("find").expect("run");
        assert_eq!(
            store.list_tables(run.id).expect("tables").len() as u64,
            per_writer
        );
    }
    assert!(reads > 0);
}
