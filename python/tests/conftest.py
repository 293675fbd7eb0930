"""Shared fixtures: a fresh store directory per test, reading a logged table back, and the real
server (`flatspace serve`) over a store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import flatspace
import pyarrow as pa
import pytest
from flatspace import _native


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def run(store_dir: Path):
    with flatspace.init(project="tests", name="run", dir=store_dir) as r:
        yield r


def read_back(store_dir: Path, table_id: int) -> pa.Table:
    """The stored table, through the Rust store (what the server reads)."""
    return pa.table(_native.Store(str(store_dir)).read_table(table_id))


def stored_tables(store_dir: Path) -> list[dict[str, Any]]:
    return _native.Store(str(store_dir)).tables()


# ---- the real server (`flatspace serve`) over a store, for tests that read through its HTTP API ----


def flatspace_binary() -> str:
    """The `flatspace` CLI binary: ``$FLATSPACE_BIN`` (scripts/check sets it after building), else
    one on ``PATH``. Tests that need it are skipped, saying how to get it, when there is none."""
    path = os.environ.get("FLATSPACE_BIN")
    if path:
        if not os.access(path, os.X_OK):
            pytest.fail(f"FLATSPACE_BIN={path} is not an executable file")
        return path
    found = shutil.which("flatspace")
    if found is None:
        pytest.skip(
            "no flatspace binary: build it (cargo build -p flatspace-cli) and set "
            "FLATSPACE_BIN=$CARGO_TARGET_DIR/debug/flatspace (scripts/check does)"
        )
    return found


class Server:
    """A `flatspace serve` process on a free loopback port, with small HTTP helpers."""

    def __init__(self, store_dir: Path):
        binary = flatspace_binary()
        # Output goes to a file, not a pipe nobody drains (a full pipe would block the server).
        self._log_path = store_dir.parent / f"server-{os.getpid()}-{id(self)}.log"
        self._log = open(self._log_path, "w")  # noqa: SIM115 (closed in close())
        self._process = subprocess.Popen(
            [
                binary,
                "--data-dir",
                str(store_dir),
                "serve",
                "--port",
                "0",
                "--threads",
                "1",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout_s: float = 60.0) -> str:
        # The server prints "flatspace: serving DIR at http://127.0.0.1:PORT/" once it listens.
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(r"http://127\.0\.0\.1:\d+", self._log_path.read_text())
            if found:
                return found.group(0)
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(
            f"flatspace serve printed no URL within {timeout_s} s (exit status "
            f"{self._process.returncode}): {self._log_path.read_text()}"
        )

    def get(self, path: str) -> tuple[bytes, dict[str, str]]:
        """The body and (lower-cased) headers of GET ``path``; a non-2xx answer fails the test
        with the server's error message."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=60) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.read(), headers
        except urllib.error.HTTPError as e:
            pytest.fail(f"GET {path}: {e.code} {e.read().decode(errors='replace')}")

    def json(self, path: str) -> Any:
        return json.loads(self.get(path)[0])

    def rows(self, table_id: int, n_rows: int, columns: list[str]) -> pa.Table:
        """Every row of the named columns, through the Arrow IPC rows endpoint."""
        body, headers = self.get(
            f"/api/v1/tables/{table_id}/rows?offset=0&limit={n_rows}"
            f"&columns={urllib.parse.quote(','.join(columns))}"
        )
        assert headers["content-type"] == "application/vnd.apache.arrow.stream"
        return pa.ipc.open_stream(body).read_all()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


@pytest.fixture
def serve():
    """``serve(store_dir)`` starts `flatspace serve` on that store (after the test logged into
    it); every server started is stopped at the end of the test."""
    started: list[Server] = []

    def start(store_dir: Path) -> Server:
        server = Server(store_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
