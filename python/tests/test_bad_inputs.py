"""The SDK cases of the bad-input corpus (tests/bad-inputs/manifest.json, entry "sdk").

Each case logs a malformed table into a store that already holds one: the call must raise the
expected error type with a message holding the expected text (naming the column and row where there
is one), and the store must be unchanged (tables listed, and every file but SQLite's own).
"""

from __future__ import annotations

import json
from pathlib import Path

import flatspace
import numpy as np
import pyarrow as pa
import pytest
from flatspace import _native

MANIFEST = (
    Path(__file__).resolve().parents[2] / "tests" / "bad-inputs" / "manifest.json"
)


def _embedding(values: np.ndarray) -> pa.Array:
    _, d = values.shape
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), d)


def _ragged_list() -> pa.Table:
    return pa.table({"v": pa.array([[1.0, 2.0], [3.0]], type=pa.list_(pa.float32()))})


def _good_values(n: int = 3, d: int = 2) -> np.ndarray:
    return np.arange(n * d, dtype=np.float32).reshape(n, d)


def _with(values: np.ndarray, row: int, col: int, value: float) -> np.ndarray:
    values = values.copy()
    values[row, col] = value
    return values


# Each builder returns what is passed to run.log: {key: table-like}.
CASES = {
    "numpy-nan-embedding": lambda: {
        "t": flatspace.Table(
            dataframe=pa.table({"e": _embedding(_with(_good_values(), 2, 1, np.nan))})
        )
    },
    "numpy-inf-embedding": lambda: {
        "t": flatspace.Table(
            dataframe=pa.table({"e": _embedding(_with(_good_values(), 1, 0, np.inf))})
        )
    },
    "f64-overflows-f32": lambda: {
        "t": flatspace.Table(
            dataframe=pa.table(
                {"e": _embedding(_with(_good_values().astype(np.float64), 1, 1, 1e300))}
            )
        )
    },
    "arrow-ragged-list": lambda: {"t": flatspace.Table(dataframe=_ragged_list())},
    "arrow-zero-rows": lambda: {
        "t": flatspace.Table(dataframe=pa.table({"x": pa.array([], type=pa.float32())}))
    },
    "arrow-duplicate-columns": lambda: {
        "t": flatspace.Table(
            dataframe=pa.Table.from_arrays(
                [pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"]
            )
        )
    },
    "arrow-empty-column-name": lambda: {
        "t": flatspace.Table(
            dataframe=pa.Table.from_arrays(
                [pa.array([1, 2]), pa.array([3, 4])], names=["a", ""]
            )
        )
    },
    "arrow-binary-column": lambda: {
        "t": flatspace.Table(dataframe=pa.table({"b": pa.array([b"\xff", b"\x00"])}))
    },
    "empty-key": lambda: {"": flatspace.Table(columns=["x"], data=[[1], [2]])},
    "not-a-table": lambda: {"t": {"x": [1, 2]}},
    "image-not-an-image": lambda: {
        "t": flatspace.Table(columns=["img"], data=[[flatspace.Image(b"not a png")]])
    },
    "nan-in-numeric-column": lambda: {
        "t": flatspace.Table(columns=["x"], data=[[1.0], [float("nan")]])
    },
}

ERRORS = {"ValueError": ValueError, "TypeError": TypeError}


def _sdk_cases() -> list[dict]:
    cases = json.loads(MANIFEST.read_text())["cases"]
    return [c for c in cases if c["entry"] == "sdk"]


def _snapshot(store_dir: Path):
    tables = _native.Store(str(store_dir)).tables()
    files = sorted(
        (str(p.relative_to(store_dir)), p.stat().st_size)
        for p in store_dir.rglob("*")
        if p.is_file() and not p.name.startswith("catalog.sqlite")
    )
    return tables, files


def test_every_sdk_case_has_a_builder():
    names = {c["case"] for c in _sdk_cases()}
    assert len(names) >= 10
    assert names == set(CASES), names ^ set(CASES)


@pytest.mark.parametrize("case", _sdk_cases(), ids=lambda c: c["id"])
def test_bad_sdk_input_fails_clearly_and_changes_nothing(tmp_path, case):
    store_dir = tmp_path / "store"
    with flatspace.init(project="p", name="r", dir=store_dir) as run:
        run.log(
            {
                "good": flatspace.Table(
                    columns=["x", "e"], data=[[1, [0.5, 1.5]], [2, [2.5, 3.5]]]
                )
            }
        )
        before = _snapshot(store_dir)
        with pytest.raises(ERRORS[case["error"]]) as info:
            run.log(CASES[case["case"]]())
        message = str(info.value)
        for needle in case["expect"]:
            assert needle in message, f"{case['id']}: {message!r} lacks {needle!r}"
        assert _snapshot(store_dir) == before, case["id"]
