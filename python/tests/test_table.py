"""Table constructors and methods with the shapes of wandb.Table, logged and read back."""

from __future__ import annotations

import flatspace
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conftest import read_back, stored_tables


def log_and_read(run, table, key="t"):
    run.log({key: table})
    info = run.tables[-1]
    return read_back(run.dir, info["id"])


def test_columns_and_data_round_trip(run):
    t = flatspace.Table(
        columns=["label", "score", "count", "flag", "emb"],
        data=[
            ["a", 0.5, 1, True, [1, 2, 3]],
            ["b", 1.5, 2, False, [4.5, 5.5, 6.5]],
            ["é", -2.0, 3, True, np.array([7.0, 8.0, 9.0])],
        ],
    )
    back = log_and_read(run, t)
    assert back.column("label").to_pylist() == ["a", "b", "é"]
    assert back.column("score").to_pylist() == [0.5, 1.5, -2.0]
    assert back.column("count").to_pylist() == [1, 2, 3]
    assert back.column("flag").to_pylist() == [True, False, True]
    assert pa.types.is_fixed_size_list(back.schema.field("emb").type)
    np.testing.assert_array_equal(
        np.array(back.column("emb").to_pylist()),
        [[1, 2, 3], [4.5, 5.5, 6.5], [7, 8, 9]],
    )


def test_add_data_add_col_get_column(run):
    t = flatspace.Table(columns=["label"])
    for label in "xyz":
        t.add_data(label)
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    t.add_col("vec", vectors)
    t.add_column("rank", [3, 1, 2])
    assert t.columns == ["label", "vec", "rank"]
    assert t.get_column("rank") == [3, 1, 2]
    np.testing.assert_array_equal(t.get_column("vec", convert_to="numpy"), vectors)
    assert len(t.data) == 3 and t.data[1][0] == "y"
    back = log_and_read(run, t)
    np.testing.assert_array_equal(np.array(back.column("vec").to_pylist()), vectors)
    assert back.column("rank").to_pylist() == [3, 1, 2]


def test_add_data_after_numpy_column(run):
    t = flatspace.Table(columns=["a", "b"], data=np.array([[1.0, 2.0], [3.0, 4.0]]))
    t.add_data(5.0, 6.0)
    back = log_and_read(run, t)
    assert back.column("a").to_pylist() == [1.0, 3.0, 5.0]


def test_add_computed_columns(run):
    t = flatspace.Table(columns=["x"], data=[[1], [2], [3]])
    t.add_computed_columns(lambda ndx, row: {"double": row["x"] * 2, "ndx": ndx})
    assert t.get_column("double") == [2, 4, 6]
    assert t.get_column("ndx") == [0, 1, 2]
    back = log_and_read(run, t)
    assert back.column("double").to_pylist() == [2, 4, 6]


def digits_like_frame(n=40, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32), rng.integers(0, 4, n)


def test_pandas_dataframe(run):
    x, y = digits_like_frame()
    df = pd.DataFrame({"label": [str(v) for v in y], "size": y * 1.5})
    df["embedding"] = list(x)
    back = log_and_read(run, flatspace.Table(dataframe=df))
    assert back.column("label").to_pylist() == [str(v) for v in y]
    np.testing.assert_allclose(back.column("size").to_numpy(), y * 1.5)
    np.testing.assert_array_equal(
        np.array(back.column("embedding").to_pylist(), np.float32), x
    )


def test_bare_dataframes_of_each_library(run):
    x, y = digits_like_frame()
    frames = {
        "pandas": pd.DataFrame({"y": y, "f0": x[:, 0]}),
        "polars": pl.DataFrame({"y": y, "f0": x[:, 0], "emb": x.tolist()}),
        "pyarrow": pa.table({"y": y, "f0": x[:, 0]}),
    }
    run.log(frames)
    by_key = {t["key"]: t for t in run.tables}
    assert set(by_key) == set(frames)
    for key in frames:
        back = read_back(run.dir, by_key[key]["id"])
        assert back.column("y").to_pylist() == y.tolist()
        np.testing.assert_array_equal(back.column("f0").to_numpy(), x[:, 0])
    polars_back = read_back(run.dir, by_key["polars"]["id"])
    np.testing.assert_array_equal(
        np.array(polars_back.column("emb").to_pylist(), np.float32), x
    )


def test_two_dimensional_array_is_one_embedding_column(run):
    x, _ = digits_like_frame(n=10, dim=7)
    t = flatspace.Table(columns=["id"], data=[[i] for i in range(10)])
    t.add_column("emb", x)
    back = log_and_read(run, t)
    assert back.schema.field("emb").type.list_size == 7


def test_steps_and_versions(store_dir):
    with flatspace.init(project="p", name="r", dir=store_dir) as run:
        t = flatspace.Table(columns=["x"], data=[[1.0]])
        run.log({"t": t})
        run.log({"t": t})
        run.log({"t": t}, step=10)
        run.log({"t": t}, step=10)
    steps = [(t["step"], t["version"]) for t in stored_tables(store_dir)]
    assert steps == [(0, 1), (1, 1), (10, 1), (10, 2)]


def test_module_level_log_uses_current_run(store_dir):
    flatspace.finish()
    with pytest.raises(RuntimeError, match="init"):
        flatspace.log({"t": flatspace.Table(columns=["x"], data=[[1]])})
    run = flatspace.init(project="p", name="module", dir=store_dir, config={"lr": 0.1})
    assert flatspace.run is run
    flatspace.log({"t": flatspace.Table(columns=["x"], data=[[1]])})
    flatspace.finish()
    assert flatspace.run is None
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"t": flatspace.Table(columns=["x"], data=[[1]])})
    assert [t["run"] for t in stored_tables(store_dir)] == ["module"]


# ---- bad input: a ValueError/TypeError naming column and row; nothing stored ----


def assert_nothing_stored(store_dir):
    assert stored_tables(store_dir) == []
    media = store_dir / "media"
    assert not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize(
    ("column", "error", "words"),
    [
        ([[1.0, 2.0], [3.0]], ValueError, ["'v'", "row 1"]),
        ([[1.0, 2.0], [3.0, float("nan")]], ValueError, ["'v'", "row 1"]),
        ([[1.0, 2.0], [3.0, float("inf")]], ValueError, ["'v'", "row 1"]),
        ([1.0, float("nan")], ValueError, ["'v'", "row 1"]),
        ([1, "two"], TypeError, ["'v'", "row 1"]),
        (["one", 2.0], TypeError, ["'v'", "row 1"]),
        ([1, {"a": 1}], TypeError, ["'v'", "row 1", "dict"]),
        ([[1.0, 2.0], ["a", "b"]], TypeError, ["'v'", "row 1"]),
    ],
)
def test_bad_cells_name_column_and_row(store_dir, column, error, words):
    good_image = flatspace.Image(np.zeros((2, 2)))
    with flatspace.init(project="p", name="r", dir=store_dir) as run:
        good = flatspace.Table(columns=["img"], data=[[good_image], [good_image]])
        bad = flatspace.Table(columns=["v"], data=[[c] for c in column])
        with pytest.raises(error) as info:
            run.log({"good": good, "bad": bad})
    message = str(info.value)
    assert all(w in message for w in words), message
    assert_nothing_stored(store_dir)


def test_unknown_column_and_mismatched_lengths():
    t = flatspace.Table(columns=["a"], data=[[1], [2]])
    with pytest.raises(ValueError, match="'nope'"):
        t.get_column("nope")
    with pytest.raises(ValueError, match="'b'.*3 rows.*2"):
        t.add_col("b", [1, 2, 3])
    with pytest.raises(ValueError, match="row 2 has 2 values"):
        t.add_data(1, 2)
    assert t.columns == ["a"] and len(t) == 2


def test_exception_in_computed_column_names_row_and_leaves_table():
    t = flatspace.Table(columns=["x"], data=[[1], [0], [2]])
    with pytest.raises(ValueError, match="ZeroDivisionError.*row 1"):
        t.add_computed_columns(lambda ndx, row: {"inv": 1 / row["x"]})
    assert t.columns == ["x"]


def test_unsupported_log_value(run):
    with pytest.raises(TypeError, match="'x'"):
        run.log({"x": object()})
