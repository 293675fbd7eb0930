"""Reading Explore results back in Python: a saved selection and a projection's coordinates as
pandas DataFrames joined to the table (the same rows the UI and `flatspace export` give)."""

from __future__ import annotations

import json

import flatspace
import numpy as np
import pandas as pd
import pytest
from flatspace import _native


def _log_points(run, n: int = 30) -> int:
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    frame = pd.DataFrame(
        {
            "label": [f"c{i % 3}" for i in range(n)],
            "score": np.arange(n, dtype=np.float64) / 2,
            "emb": list(emb),
        }
    )
    run.log({"points": frame})
    return run.tables[-1]["id"]


def test_selection_reads_back_its_rows_and_columns(run):
    table_id = _log_points(run)
    run.save_selection("picked", [12, 3, 29, 3], table="points")
    df = run.selection("picked", table="points")
    assert list(df.columns) == ["row_id", "label", "score", "emb"]
    assert df["row_id"].tolist() == [3, 12, 29]
    assert df["score"].tolist() == [1.5, 6.0, 14.5]
    assert df["label"].tolist() == ["c0", "c0", "c2"]
    # Without table=, the run's tables are searched; by id works too.
    assert df.equals(run.selection("picked"))
    assert df.equals(run.selection("picked", table=table_id))
    # Saving the same name replaces the rows.
    run.save_selection("picked", [0], table="points")
    assert run.selection("picked", table="points")["row_id"].tolist() == [0]
    with pytest.raises(KeyError, match="'picked'"):
        run.selection("nope", table="points")
    with pytest.raises(KeyError, match="no table 'other'"):
        run.selection("picked", table="other")
    with pytest.raises(ValueError, match="row 30 is out of range"):
        run.save_selection("bad", [30], table="points")


def test_projection_coordinates_join_the_table(run, store_dir):
    n = 30
    table_id = _log_points(run, n)
    coords = np.arange(2 * n, dtype=np.float32) * 0.25
    store = _native.Store(str(store_dir))
    fields = json.dumps({"type": "single", "columns": ["emb"]})
    pid = store.put_projection(table_id, "umap", coords.tolist(), 2, fields)
    df = run.projection(table="points", algorithm="umap")
    assert list(df.columns[:3]) == ["row_id", "x", "y"]
    assert df["row_id"].tolist() == list(range(n))
    np.testing.assert_array_equal(df["x"].to_numpy(), coords[0::2])
    np.testing.assert_array_equal(df["y"].to_numpy(), coords[1::2])
    assert df["label"].tolist() == [f"c{i % 3}" for i in range(n)]

    # A subset projection holds its rows only; a selection can carry its coordinates.
    subset = [1, 4, 9]
    sub = store.put_projection(
        table_id, "tsne", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, fields, rows=subset
    )
    df = run.projection(table="points", algorithm="tsne")
    assert df["row_id"].tolist() == subset
    assert df["x"].tolist() == [1.0, 3.0, 5.0]
    run.save_selection("two", [4, 5], table="points")
    both = run.selection("two", table="points", projection=sub)
    assert both["x"].iloc[0] == 3.0 and pd.isna(both["x"].iloc[1])
    assert run.projection(table="points", id=pid)["x"].iloc[1] == coords[2]
    with pytest.raises(LookupError, match="no finished pca projection"):
        run.projection(table="points", algorithm="pca")


def test_selection_of_a_reopened_run(store_dir):
    with flatspace.init(project="p", name="r", dir=store_dir) as run:
        _log_points(run)
        run.save_selection("s", [2], table="points")
    again = flatspace.init(project="p", name="r", dir=store_dir)
    assert again.selection("s", table="points")["row_id"].tolist() == [2]
    again.finish()
