"""Shared fixtures: a fresh store directory per test, and reading a logged table back."""

from __future__ import annotations

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
