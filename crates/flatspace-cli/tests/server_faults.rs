//! The `flatspace` binary as a process: access beyond loopback (a token is generated, printed and
//! required), the server SIGKILLed while projection jobs run and while it writes their results
//! (after a restart nothing committed is lost, interrupted jobs are marked failed with a message
//! the UI shows, and asking again recomputes), and a full disk simulated with RLIMIT_FSIZE (the
//! import fails clearly and the store stays as it was).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flatspace_store::{ProjectionStatus, Store};
use serde_json::{Value, json};

fn flatspace(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flatspace"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("FLATSPACE_DATA")
        .env_remove("FLATSPACE_TOKEN");
    cmd
}

struct Server {
    child: Child,
    port: u16,
    token: Option<String>,
    stderr: std::process::ChildStderr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `flatspace serve --port 0 ARGS` and reads the URL it prints.
fn serve(data_dir: &Path, args: &[&str]) -> Server {
    let mut cmd = flatspace(data_dir);
    cmd.args(["serve", "--port", "0", "--threads", "1"])
        .args(args);
    serve_command(cmd)
}

/// Starts a prepared `flatspace serve` command and reads the URL it prints.
fn serve_command(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flatspace serve");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stdout).lines();
    let line = loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("http://") => break line,
            Some(Ok(_)) => continue,
            _ => {
                let mut err = String::new();
                let _ = BufReader::new(stderr).read_to_string(&mut err);
                panic!("the server printed no URL: {err}");
            }
        }
    };
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url");
    let after_host = url.trim_start_matches("http://");
    let port: u16 = after_host
        .split(['/', '?'])
        .next()
        .and_then(|h| h.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("port in the URL");
    let token = url.split_once("?token=").map(|(_, t)| t.to_owned());
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        port,
        token,
        stderr,
    }
}

/// One HTTP/1.1 request over std's TcpStream: (status, body).
fn http(port: u16, method: &str, target: &str, head: &str, body: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http response");
    let status = String::from_utf8_lossy(&response[9..12])
        .parse()
        .expect("status");
    let mut body = response[split + 4..].to_vec();
    let head_text = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    if head_text.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

#[test]
fn serving_beyond_loopback_generates_prints_and_requires_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let mut server = serve(&data, &["--host", "0.0.0.0"]);
    let token = server
        .token
        .clone()
        .expect("the printed URL carries ?token=");
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let (status, body) = http(server.port, "GET", "/api/v1/projects", "", "");
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    let wrong = "Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000\r\n";
    assert_eq!(
        http(server.port, "GET", "/api/v1/projects", wrong, "").0,
        401
    );
    let right = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(
        http(server.port, "GET", "/api/v1/projects", &right, "").0,
        200
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
    let mut err = String::new();
    let _ = server.stderr.read_to_string(&mut err);
    assert!(err.contains("generated an access token"), "{err}");

    // Two servers never share a generated token.
    let other = serve(&data, &["--host", "0.0.0.0"]);
    assert_ne!(other.token, Some(token));
    drop(other);

    // An empty token is refused rather than accepted as "no token".
    let out = flatspace(&data)
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--token", " "])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token must not be empty"));
}

/// Every table's rows, as written bytes: what "nothing committed is lost" compares.
fn table_contents(data_dir: &Path) -> Vec<(i64, String, usize, Vec<String>)> {
    let store = Store::open(data_dir).expect("open");
    let mut out = Vec::new();
    for project in store.list_projects().expect("projects") {
        for run in store.list_runs(project.id).expect("runs") {
            for t in store.list_tables(run.id).expect("tables") {
                let batch = store
                    .read_rows(t.id, 0, usize::MAX, None)
                    .expect("every committed table reads back");
                // Each column's values as an Arrow IPC stream, hashed.
                let columns = (0..batch.num_columns())
                    .map(|i| {
                        let one = batch.project(&[i]).expect("column");
                        let mut bytes = Vec::new();
                        let mut w =
                            arrow_ipc::writer::StreamWriter::try_new(&mut bytes, &one.schema())
                                .expect("ipc");
                        w.write(&one).expect("write");
                        w.finish().expect("finish");
                        drop(w);
                        flatspace_store::hash_bytes(&bytes)
                    })
                    .collect();
                out.push((t.id, t.key.clone(), batch.num_rows(), columns));
            }
        }
    }
    out
}

#[test]
fn a_server_killed_during_jobs_and_writes_loses_nothing_and_marks_jobs_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let out = flatspace(&data)
        .args(["demo", "--no-serve", "--blobs-rows", "300"])
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = table_contents(&data);
    let digits = committed
        .iter()
        .find(|t| t.1 == "digits")
        .map(|t| t.0)
        .expect("digits table");
    let n_rows = committed
        .iter()
        .find(|t| t.0 == digits)
        .map(|t| t.2)
        .expect("rows");
    let json_type = "Content-Type: application/json\r\n";

    // Kill at different moments: early (kNN), mid-optimisation, and late (around the write of
    // the coordinates). Each round asks for a new layout (its own seed).
    let delays_ms = [30u64, 250, 700, 1200, 2000, 3000];
    let mut interrupted = Vec::new();
    let mut finished = 0;
    for (round, delay) in delays_ms.iter().enumerate() {
        let mut server = serve(&data, &[]);
        let request = json!({"table_id": digits, "algorithm": "umap", "seed": round,
                             "params": {"n_epochs": 200}});
        let (status, body) = http(
            server.port,
            "POST",
            "/api/v1/projections",
            json_type,
            &request.to_string(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let projection = json_of(&body)["projection_id"]
            .as_i64()
            .expect("projection id");
        std::thread::sleep(Duration::from_millis(*delay));
        // SIGKILL: no destructor, no flush, no goodbye.
        server.child.kill().expect("kill");
        server.child.wait().expect("wait");

        // Reopening cleans up: the job of the dead process is failed, no temp or orphan file.
        let store = Store::open(&data).expect("reopen after SIGKILL");
        assert!(
            store.active_jobs().expect("jobs").is_empty(),
            "round {round}: a job still runs"
        );
        let p = store.projection(projection).expect("projection row");
        match p.status {
            ProjectionStatus::Done => {
                finished += 1;
                let coords = store
                    .projection_coords(projection)
                    .expect("coords readable");
                assert_eq!(coords.len(), n_rows * 2, "round {round}");
                assert!(coords.iter().all(|c| c.is_finite()));
            }
            ProjectionStatus::Failed => {
                let error = p.error.clone().unwrap_or_default();
                assert!(
                    error.contains("ended before it finished"),
                    "round {round}: {error}"
                );
                interrupted.push((projection, request));
            }
            other => panic!("round {round}: projection left {other:?}"),
        }
        let tmp: Vec<_> = std::fs::read_dir(data.join("tmp")).expect("tmp").collect();
        assert!(tmp.is_empty(), "round {round}: temp files left: {tmp:?}");
        let done_files = store
            .list_projections(digits)
            .expect("projections")
            .iter()
            .filter(|p| p.status == ProjectionStatus::Done)
            .count();
        let files = std::fs::read_dir(data.join("projections"))
            .expect("projections dir")
            .count();
        assert_eq!(files, done_files, "round {round}: orphan coordinate files");
        drop(store);
        assert_eq!(
            table_contents(&data),
            committed,
            "round {round}: a committed table changed"
        );
    }
    assert!(
        !interrupted.is_empty(),
        "no round interrupted a job: kill earlier"
    );

    // After a restart the UI sees the failure, and asking again recomputes it.
    let server = serve(&data, &[]);
    for (projection, request) in &interrupted {
        let (_, body) = http(
            server.port,
            "GET",
            &format!("/api/v1/projections/{projection}"),
            "",
            "",
        );
        let shown = json_of(&body);
        assert_eq!(shown["status"], "error", "{shown}");
        assert!(
            shown["error"]
                .as_str()
                .is_some_and(|e| e.contains("ended before it finished"))
        );
        let (status, body) = http(
            server.port,
            "POST",
            "/api/v1/projections",
            json_type,
            &request.to_string(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            json_of(&body)["projection_id"],
            json!(projection),
            "same cache entry"
        );
    }
    let started = Instant::now();
    for (projection, _) in &interrupted {
        loop {
            let (_, body) = http(
                server.port,
                "GET",
                &format!("/api/v1/projections/{projection}"),
                "",
                "",
            );
            let shown = json_of(&body);
            if shown["status"] == "done" {
                break;
            }
            assert_ne!(shown["status"], "error", "{shown}");
            assert!(
                started.elapsed() < Duration::from_secs(240),
                "retry did not finish"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, coords) = http(
            server.port,
            "GET",
            &format!("/api/v1/projections/{projection}/coords"),
            "",
            "",
        );
        assert_eq!(status, 200);
        assert_eq!(coords.len(), n_rows * 2 * 4);
    }
    drop(server);
    assert_eq!(table_contents(&data), committed);
    eprintln!(
        "{} rounds: {} jobs interrupted, {finished} finished before the kill",
        delays_ms.len(),
        interrupted.len()
    );
}

#[test]
fn a_full_disk_fails_the_import_clearly_and_keeps_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let small = dir.path().join("small.csv");
    std::fs::write(&small, "a,b\n1,2\n3,4\n").expect("write");
    let out = flatspace(&data)
        .args(["import", small.to_str().expect("utf-8")])
        .output()
        .expect("import");
    assert!(out.status.success());
    let before = table_contents(&data);

    // 4 MB of embeddings: its segment cannot be written under a 512 KiB file-size limit.
    let big = dir.path().join("big.csv");
    let mut text = String::from("v,label\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "\"[{}, {}, {}, {}, {}, {}, {}, {}]\",l{}\n",
            i,
            i + 1,
            i + 2,
            i + 3,
            i + 4,
            i + 5,
            i + 6,
            i + 7,
            i % 10
        ));
    }
    std::fs::write(&big, text).expect("write big");
    let mut cmd = flatspace(&data);
    cmd.args(["import", big.to_str().expect("utf-8")]);
    limit_file_size(&mut cmd, 512 * 1024);
    let out = cmd.output().expect("import under a file-size limit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("File too large") || stderr.contains("No space left"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tmp") || stderr.contains("segment"),
        "names the file: {stderr}"
    );

    // The store is as it was, with no temp file left, and takes the import once there is room.
    assert_eq!(table_contents(&data), before);
    let tmp: Vec<_> = std::fs::read_dir(data.join("tmp")).expect("tmp").collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    let out = flatspace(&data)
        .args(["import", big.to_str().expect("utf-8")])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table_contents(&data).len(), before.len() + 1);
}

/// RLIMIT_FSIZE in the child, with SIGXFSZ ignored: writes past the limit fail with EFBIG, the
/// way a full disk fails them with ENOSPC, without needing root for a small filesystem.
fn limit_file_size(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// Polls a projection until its job ends; panics if it is still queued or running after `limit`.
fn wait_for_projection(port: u16, projection: i64, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = http(
            port,
            "GET",
            &format!("/api/v1/projections/{projection}"),
            "",
            "",
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let shown = json_of(&body);
        if !matches!(shown["status"].as_str(), Some("queued" | "running")) {
            return shown;
        }
        assert!(
            started.elapsed() < limit,
            "projection {projection} still {} after {limit:?}",
            shown["status"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `.npy` file of `rows` × `dim` little-endian f32 values.
fn write_npy(path: &Path, rows: usize, dim: usize) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(
        &u16::try_from(header.len())
            .expect("short header")
            .to_le_bytes(),
    );
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..rows {
        for j in 0..dim {
            // Deterministic, varied and finite: a few interleaved spirals.
            let v = ((i * (j + 3)) % 997) as f32 / 97.0 + (i % 7) as f32 * (j as f32 + 1.0);
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).expect("write npy");
}

#[test]
fn a_full_disk_under_the_server_fails_the_job_clearly_and_keeps_everything_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("store");
    let json_type = "Content-Type: application/json\r\n";
    // A small table whose PCA is committed first, and a 120,000-row table whose layout (960 KB of
    // coordinates) cannot be written under the limit below.
    let small = dir.path().join("small.npy");
    write_npy(&small, 200, 4);
    let big = dir.path().join("big.npy");
    write_npy(&big, 120_000, 4);
    for (file, key) in [(&small, "small"), (&big, "big")] {
        let out = flatspace(&data)
            .args(["import", file.to_str().expect("utf-8"), "--key", key])
            .output()
            .expect("import");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let committed = table_contents(&data);
    let table_id = |key: &str| {
        committed
            .iter()
            .find(|t| t.1 == key)
            .map(|t| t.0)
            .expect("table")
    };
    let (small_id, big_id) = (table_id("small"), table_id("big"));
    let pca = |table: i64| json!({"table_id": table, "algorithm": "pca"}).to_string();

    let server = serve(&data, &[]);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/v1/projections",
        json_type,
        &pca(small_id),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let small_projection = json_of(&body)["projection_id"].as_i64().expect("id");
    let shown = wait_for_projection(server.port, small_projection, Duration::from_secs(120));
    assert_eq!(shown["status"], "done", "{shown}");
    let coords_url = format!("/api/v1/projections/{small_projection}/coords");
    let (status, small_coords) = http(server.port, "GET", &coords_url, "", "");
    assert_eq!(status, 200);
    assert_eq!(small_coords.len(), 200 * 2 * 4);
    drop(server);

    // The server under a 512 KiB file-size limit: the catalog (well under it) still takes writes,
    // the big layout's coordinate file does not.
    let catalog_bytes: u64 = std::fs::read_dir(&data)
        .expect("store dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("catalog"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    let limit = 512 * 1024;
    assert!(catalog_bytes < limit / 2, "catalog {catalog_bytes} bytes");
    let mut cmd = flatspace(&data);
    cmd.args(["serve", "--port", "0", "--threads", "1"]);
    limit_file_size(&mut cmd, limit);
    let mut server = serve_command(cmd);
    for attempt in 0..2 {
        let (status, body) = http(
            server.port,
            "POST",
            "/api/v1/projections",
            json_type,
            &pca(big_id),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let started = json_of(&body);
        let projection = started["projection_id"].as_i64().expect("id");
        assert!(
            started["job_id"].is_i64(),
            "attempt {attempt}: a new job: {started}"
        );
        let shown = wait_for_projection(server.port, projection, Duration::from_secs(120));
        assert_eq!(shown["status"], "error", "attempt {attempt}: {shown}");
        let error = shown["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("File too large") || error.contains("No space left"),
            "attempt {attempt}: the reason: {error}"
        );
        assert!(
            error.contains("layout"),
            "says what could not be saved: {error}"
        );
        assert!(
            server.child.try_wait().expect("wait").is_none(),
            "the server died"
        );
        // It keeps answering: lists, the committed layout, and rows of both tables.
        let (status, _) = http(server.port, "GET", "/api/v1/projects", "", "");
        assert_eq!(status, 200);
        assert_eq!(
            http(server.port, "GET", &coords_url, "", ""),
            (200, small_coords.clone())
        );
        for table in [small_id, big_id] {
            let (status, body) = http(
                server.port,
                "GET",
                &format!("/api/v1/tables/{table}/rows?offset=0&limit=50"),
                "",
                "",
            );
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        }
        let tmp: Vec<_> = std::fs::read_dir(data.join("tmp")).expect("tmp").collect();
        assert!(
            tmp.is_empty(),
            "attempt {attempt}: temp files left: {tmp:?}"
        );
        let files = std::fs::read_dir(data.join("projections"))
            .expect("projections dir")
            .count();
        assert_eq!(files, 1, "only the committed layout's file");
    }
    assert_eq!(table_contents(&data), committed);
    drop(server);

    // With room again the same request recomputes under the same projection id.
    let server = serve(&data, &[]);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/v1/projections",
        json_type,
        &pca(big_id),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let projection = json_of(&body)["projection_id"].as_i64().expect("id");
    let shown = wait_for_projection(server.port, projection, Duration::from_secs(120));
    assert_eq!(shown["status"], "done", "{shown}");
    let (status, coords) = http(
        server.port,
        "GET",
        &format!("/api/v1/projections/{projection}/coords"),
        "",
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(coords.len(), 120_000 * 2 * 4);
    assert!(
        coords
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
    );
    assert_eq!(
        http(server.port, "GET", &coords_url, "", ""),
        (200, small_coords)
    );
    drop(server);
    assert_eq!(table_contents(&data), committed);
}
