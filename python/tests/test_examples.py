"""The two W&B examples run unchanged (import flatspace as wandb) and their tables are stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
from conftest import read_back, stored_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, store_dir: Path) -> None:
    env = dict(os.environ, FLATSPACE_DATA=str(store_dir))
    subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=env,
        check=True,
        cwd=store_dir.parent,
    )


def test_hello_world(store_dir):
    run_example("hello_world.py", store_dir)
    [table] = stored_tables(store_dir)
    assert (table["project"], table["key"], table["n_rows"]) == (
        "embedding_tutorial",
        "embeddings",
        3,
    )
    back = read_back(store_dir, table["id"])
    assert back.column_names == ["D1", "D2", "D3", "D4", "D5"]
    assert back.column("D3").to_pylist() == [0.1, 0.9, 0.2]


def test_digits(store_dir):
    from sklearn.datasets import load_digits

    run_example("digits.py", store_dir)
    [table] = stored_tables(store_dir)
    assert table["key"] == "digits" and table["n_rows"] == 1797
    back = read_back(store_dir, table["id"])
    assert back.column_names[:2] == ["image", "target"]
    assert back.schema.field("image").metadata == {b"flatspace.kind": b"image"}
    digits = load_digits()
    assert back.column("target").to_pylist() == [str(t) for t in digits.target]
    pixels = np.stack(
        [back.column(f"pixel_{r}_{c}").to_numpy() for r in range(8) for c in range(8)],
        1,
    )
    np.testing.assert_array_equal(pixels, digits.data)
    assert pa.types.is_string(back.schema.field("image").type)
