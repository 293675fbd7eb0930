"""The two W&B examples run unchanged (import flatspace as wandb) as subprocesses into a temporary
store ($FLATSPACE_DATA), their tables are stored, and `flatspace serve` on that store lists and
serves them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import read_back, stored_tables
from PIL import Image as PILImage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory) -> Path:
    """One store holding what both examples logged, as a user running them one after the other
    into ./flatspace-data gets."""
    store_dir = tmp_path_factory.mktemp("examples") / "store"
    run_example("hello_world.py", store_dir)
    run_example("digits.py", store_dir)
    return store_dir


def logged(store_dir: Path, key: str) -> dict:
    [table] = [t for t in stored_tables(store_dir) if t["key"] == key]
    return table


def run_example(name: str, store_dir: Path) -> None:
    env = dict(os.environ, FLATSPACE_DATA=str(store_dir))
    subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=env,
        check=True,
        cwd=store_dir.parent,
    )


def served_tables(server, project: str) -> list[dict]:
    """Every table the server lists under ``project`` (through projects → runs → tables)."""
    [entry] = [p for p in server.json("/api/v1/projects") if p["name"] == project]
    runs = server.json(f"/api/v1/projects/{entry['id']}/runs")
    assert len(runs) == entry["n_runs"]
    return [t for r in runs for t in server.json(f"/api/v1/runs/{r['id']}/tables")]


def test_hello_world_is_stored(examples_store):
    table = logged(examples_store, "embeddings")
    assert (table["project"], table["n_rows"]) == ("embedding_tutorial", 3)
    back = read_back(examples_store, table["id"])
    assert back.column_names == ["D1", "D2", "D3", "D4", "D5"]
    assert back.column("D3").to_pylist() == [0.1, 0.9, 0.2]


def test_digits_is_stored(examples_store):
    from sklearn.datasets import load_digits

    table = logged(examples_store, "digits")
    assert (table["project"], table["n_rows"]) == ("embedding_tutorial", 1797)
    back = read_back(examples_store, table["id"])
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


def test_flatspace_serve_lists_and_serves_both_examples(examples_store, serve):
    from sklearn.datasets import load_digits

    server = serve(examples_store)
    served = {t["key"]: t for t in served_tables(server, "embedding_tutorial")}
    assert {k: t["n_rows"] for k, t in served.items()} == {
        "embeddings": 3,
        "digits": 1797,
    }

    # hello world: five numeric columns read together as one 5-dim vector per row
    hello = served["embeddings"]["id"]
    info = server.json(f"/api/v1/tables/{hello}")
    assert info["defaults"]["embedding"] == {
        "type": "many",
        "columns": ["D1", "D2", "D3", "D4", "D5"],
    }
    rows = server.rows(hello, 3, ["D1", "D2", "D3", "D4", "D5"])
    np.testing.assert_array_equal(
        np.stack([rows.column(f"D{i}").to_numpy() for i in range(1, 6)], 1),
        [
            [0.2, 0.4, 0.1, 0.7, 0.5],
            [0.3, 0.1, 0.9, 0.2, 0.7],
            [0.4, 0.5, 0.2, 0.2, 0.1],
        ],
    )

    # digits: coloured by target, images on hover, the 64 pixels as the vectors
    digits_id = served["digits"]["id"]
    info = server.json(f"/api/v1/tables/{digits_id}")
    kinds = {c["name"]: c["kind"] for c in info["columns"]}
    assert (kinds["image"], kinds["target"]) == ("image", "category")
    assert info["defaults"]["color_by"] == "target"
    assert info["defaults"]["overlay"] == "image"
    assert info["defaults"]["embedding"] == {
        "type": "many",
        "columns": [f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
    }
    digits = load_digits()
    rows = server.rows(digits_id, 1797, ["target", "image"])
    assert rows.column("target").to_pylist() == [str(t) for t in digits.target]
    # a few images, served as logged: the 8×8 pixels (0..16) scaled to 0..255
    for row in (0, 1, 1796):
        body, headers = server.get(f"/api/v1/media/{rows.column('image')[row].as_py()}")
        assert headers["content-type"] == "image/png"
        np.testing.assert_array_equal(
            np.asarray(PILImage.open(io.BytesIO(body))),
            np.rint(digits.images[row] / 16 * 255).astype(np.uint8),
        )
