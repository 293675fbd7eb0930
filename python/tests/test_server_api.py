"""Round trip through the real server: tables logged from Python (lists, numpy 2-D, pandas,
polars, pyarrow, add_data row by row, images with captions, several steps) are read back through
`flatspace serve`'s HTTP API (docs/api.md) with the values that were logged.

Every value below is exactly representable in float32, so "equal" means equal, whatever float
width the store keeps."""

from __future__ import annotations

import io

import flatspace
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from PIL import Image as PILImage

N = 8  # rows per table: enough for the category rules (≤ half as many distinct values as rows)
LABELS = ["cat", "dog", "cat", "bird", "dog", "cat", "bird", "cat"]
SCORES = [0.5, -1.25, 3.0, 0.125, 2.5, -0.75, 8.0, 1.0]


def vectors(dim: int, seed: int) -> np.ndarray:
    """Random float32 vectors whose values are multiples of 1/64 (exact in any float width)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-256, 256, (N, dim)) / 64).astype(np.float32)


def find(items: list[dict], **match) -> dict:
    found = [i for i in items if all(i[k] == v for k, v in match.items())]
    assert len(found) == 1, f"expected one entry with {match} in {items}"
    return found[0]


def describe(server, table_id: int) -> tuple[dict, dict[str, dict]]:
    info = server.json(f"/api/v1/tables/{table_id}")
    return info, {c["name"]: c for c in info["columns"]}


def decoded_codes(server, table_id: int, column: str) -> list:
    """The category of every row, from the codes and categories endpoints."""
    cats = server.json(f"/api/v1/tables/{table_id}/columns/{column}/categories")
    body, headers = server.get(f"/api/v1/tables/{table_id}/columns/{column}/codes")
    dtype = {"uint8": "<u1", "uint16": "<u2", "uint32": "<u4"}[cats["code_type"]]
    assert headers["x-code-type"] == cats["code_type"]
    codes = np.frombuffer(body, dtype)
    assert len(codes) == sum(cats["counts"])
    return [cats["categories"][c] for c in codes]


def values(server, table_id: int, column: str) -> tuple[np.ndarray, float, float]:
    body, headers = server.get(f"/api/v1/tables/{table_id}/columns/{column}/values")
    return (
        np.frombuffer(body, "<f4"),
        float(headers["x-min"]),
        float(headers["x-max"]),
    )


def embedding(rows: pa.Table, column: str) -> np.ndarray:
    assert pa.types.is_fixed_size_list(rows.schema.field(column).type)
    return np.array(rows.column(column).to_pylist(), dtype=np.float32)


def png_file(tmp_path, pixels: np.ndarray, name: str, fmt: str) -> str:
    path = tmp_path / name
    PILImage.fromarray(pixels).save(path, format=fmt)
    return str(path)


def test_every_input_library_round_trips_through_the_http_api(
    store_dir, serve, tmp_path
):
    emb3, emb4, emb5, emb6, emb2 = (vectors(d, d) for d in (3, 4, 5, 6, 2))
    grid = vectors(3, 30)
    rng = np.random.default_rng(7)
    digits = [rng.integers(0, 17, (8, 8)) / 16 for _ in range(N - 2)]
    images = [
        flatspace.Image(pixels, caption=f"digit {i}") for i, pixels in enumerate(digits)
    ]
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    images.append(flatspace.Image(png_file(tmp_path, rgb, "rgb.png", "PNG")))
    images.append(
        flatspace.Image(png_file(tmp_path, rgb, "rgb.jpg", "JPEG"), caption=7)
    )
    captions = [f"digit {i}" for i in range(N - 2)] + [None, "7"]

    with flatspace.init(project="roundtrip", name="api", dir=store_dir) as run:
        # lists, with W&B's columns=/data=
        run.log(
            {
                "lists": flatspace.Table(
                    columns=["label", "score", "count", "flag", "emb"],
                    data=[
                        [LABELS[i], SCORES[i], 10 * i, i % 3 == 0, emb3[i].tolist()]
                        for i in range(N)
                    ],
                )
            },
            step=0,
        )
        # a 2-D numpy array as columns, and one as an embedding column
        from_numpy = flatspace.Table(columns=["a", "b", "c"], data=grid)
        from_numpy.add_col("vec", emb4)
        run.log({"numpy": from_numpy}, step=1)
        # a bare pandas DataFrame (vectors as an object column of 1-D arrays)
        df = pd.DataFrame({"species": LABELS, "x": SCORES, "emb": list(emb5)})
        run.log({"pandas": df}, step=2)
        # polars, with a fixed-size Array column
        pl_df = pl.DataFrame(
            {
                "name": [f"item {i}" for i in range(N)],
                "v": SCORES,
                "emb": pl.Series(emb6, dtype=pl.Array(pl.Float32, 6)),
            }
        )
        run.log({"polars": flatspace.Table(dataframe=pl_df)}, step=3)
        # pyarrow, with an integer label column
        targets = [i % 3 for i in range(N)]
        pa_table = pa.table(
            {
                "target": pa.array(targets, pa.int64()),
                "emb": pa.FixedSizeListArray.from_arrays(pa.array(emb2.reshape(-1)), 2),
            }
        )
        run.log({"pyarrow": pa_table}, step=4)
        # add_data row by row
        rowwise = flatspace.Table(columns=["id", "emb"])
        for i in range(N):
            rowwise.add_data(f"row-{i}", emb3[i])
        run.log({"rowwise": rowwise}, step=5)
        # images with captions
        run.log(
            {
                "images": flatspace.Table(
                    columns=["label", "image", "emb"],
                    data=[[LABELS[i], images[i], emb4[i]] for i in range(N)],
                )
            },
            step=6,
        )
        # one key at two steps: two versions, each with its own values
        run.log(
            {"points": flatspace.Table(columns=["s"], data=[[1.5], [2.5]])}, step=10
        )
        run.log({"points": flatspace.Table(columns=["s"], data=[[3.5]])}, step=20)

    server = serve(store_dir)
    project = find(server.json("/api/v1/projects"), name="roundtrip")
    assert project["n_runs"] == 1
    run_info = find(server.json(f"/api/v1/projects/{project['id']}/runs"), name="api")
    listed = server.json(f"/api/v1/runs/{run_info['id']}/tables")
    expected_steps = {
        "lists": 0,
        "numpy": 1,
        "pandas": 2,
        "polars": 3,
        "pyarrow": 4,
        "rowwise": 5,
        "images": 6,
    }
    ids = {}
    for key, step in expected_steps.items():
        entry = find(listed, key=key)
        assert (entry["step"], entry["n_rows"]) == (step, N)
        ids[key] = entry["id"]
    points = sorted(
        (t for t in listed if t["key"] == "points"), key=lambda t: t["step"]
    )
    assert [(t["step"], t["n_rows"]) for t in points] == [(10, 2), (20, 1)]

    # lists
    info, cols = describe(server, ids["lists"])
    assert (info["key"], info["step"], info["n_rows"]) == ("lists", 0, N)
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("label", "category"),
        ("score", "numeric"),
        ("count", "numeric"),
        ("flag", "bool"),
        ("emb", "embedding"),
    ]
    assert cols["emb"]["dim"] == 3 and cols["label"]["n_distinct"] == 3
    assert info["defaults"] == {
        "embedding": {"type": "single", "columns": ["emb"]},
        "color_by": "label",
        "overlay": None,
    }
    rows = server.rows(ids["lists"], N, ["label", "score", "count", "flag", "emb"])
    assert rows.column("label").to_pylist() == LABELS
    assert rows.column("score").to_pylist() == SCORES
    assert rows.column("count").to_pylist() == [10 * i for i in range(N)]
    assert rows.column("flag").to_pylist() == [i % 3 == 0 for i in range(N)]
    np.testing.assert_array_equal(embedding(rows, "emb"), emb3)
    assert decoded_codes(server, ids["lists"], "label") == LABELS
    score, lo, hi = values(server, ids["lists"], "score")
    np.testing.assert_array_equal(score, np.float32(SCORES))
    assert (lo, hi) == (min(SCORES), max(SCORES))
    count, lo, hi = values(server, ids["lists"], "count")
    np.testing.assert_array_equal(count, [10 * i for i in range(N)])
    assert (lo, hi) == (0, 10 * (N - 1))
    # embedding columns are left out of rows unless named
    body, _ = server.get(f"/api/v1/tables/{ids['lists']}/rows?limit={N}")
    assert pa.ipc.open_stream(body).read_all().column_names == [
        "label",
        "score",
        "count",
        "flag",
    ]

    # numpy
    info, cols = describe(server, ids["numpy"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("a", "numeric"),
        ("b", "numeric"),
        ("c", "numeric"),
        ("vec", "embedding"),
    ]
    assert cols["vec"]["dim"] == 4
    assert info["defaults"]["embedding"] == {"type": "single", "columns": ["vec"]}
    rows = server.rows(ids["numpy"], N, ["a", "b", "c", "vec"])
    for i, name in enumerate("abc"):
        np.testing.assert_array_equal(rows.column(name).to_numpy(), grid[:, i])
        np.testing.assert_array_equal(values(server, ids["numpy"], name)[0], grid[:, i])
    np.testing.assert_array_equal(embedding(rows, "vec"), emb4)

    # pandas
    info, cols = describe(server, ids["pandas"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("species", "category"),
        ("x", "numeric"),
        ("emb", "embedding"),
    ]
    assert cols["emb"]["dim"] == 5 and info["defaults"]["color_by"] == "species"
    rows = server.rows(ids["pandas"], N, ["species", "x", "emb"])
    assert rows.column("species").to_pylist() == LABELS
    assert rows.column("x").to_pylist() == SCORES
    np.testing.assert_array_equal(embedding(rows, "emb"), emb5)
    assert decoded_codes(server, ids["pandas"], "species") == LABELS

    # polars
    info, cols = describe(server, ids["polars"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("name", "text"),
        ("v", "numeric"),
        ("emb", "embedding"),
    ]
    assert cols["emb"]["dim"] == 6
    assert info["defaults"] == {
        "embedding": {"type": "single", "columns": ["emb"]},
        "color_by": None,
        "overlay": "name",
    }
    rows = server.rows(ids["polars"], N, ["name", "v", "emb"])
    assert rows.column("name").to_pylist() == [f"item {i}" for i in range(N)]
    np.testing.assert_array_equal(values(server, ids["polars"], "v")[0], SCORES)
    np.testing.assert_array_equal(embedding(rows, "emb"), emb6)

    # pyarrow: a small-integer column named like a label is a category, coded by value
    info, cols = describe(server, ids["pyarrow"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("target", "category"),
        ("emb", "embedding"),
    ]
    assert info["defaults"]["color_by"] == "target"
    rows = server.rows(ids["pyarrow"], N, ["target", "emb"])
    assert rows.column("target").to_pylist() == targets
    np.testing.assert_array_equal(embedding(rows, "emb"), emb2)
    assert [int(c) for c in decoded_codes(server, ids["pyarrow"], "target")] == targets

    # add_data row by row
    info, _ = describe(server, ids["rowwise"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("id", "text"),
        ("emb", "embedding"),
    ]
    rows = server.rows(ids["rowwise"], N, ["id", "emb"])
    assert rows.column("id").to_pylist() == [f"row-{i}" for i in range(N)]
    np.testing.assert_array_equal(embedding(rows, "emb"), emb3)

    # images: the hash column, the caption column after it, and each file's bytes as logged
    info, cols = describe(server, ids["images"])
    assert [(c["name"], c["kind"]) for c in info["columns"]] == [
        ("label", "category"),
        ("image", "image"),
        ("image_caption", "text"),
        ("emb", "embedding"),
    ]
    assert info["defaults"]["overlay"] == "image"
    rows = server.rows(ids["images"], N, ["label", "image", "image_caption", "emb"])
    assert rows.column("label").to_pylist() == LABELS
    assert rows.column("image_caption").to_pylist() == captions
    np.testing.assert_array_equal(embedding(rows, "emb"), emb4)
    hashes = rows.column("image").to_pylist()
    assert hashes == [im.hash for im in images]
    for image, digest in zip(images, hashes, strict=True):
        body, headers = server.get(f"/api/v1/media/{digest}")
        assert body == image.to_bytes()
        assert headers["content-type"] == image.mime
    assert images[-1].mime == "image/jpeg"
    # the 8×8 digit images decode to the pixels logged (floats in [0, 1] scaled to 0–255)
    for pixels, digest in zip(digits, hashes[: len(digits)], strict=True):
        served = PILImage.open(io.BytesIO(server.get(f"/api/v1/media/{digest}")[0]))
        np.testing.assert_array_equal(
            np.asarray(served), np.rint(pixels * 255).astype(np.uint8)
        )

    # two steps of one key
    for entry, expected in zip(points, [[1.5, 2.5], [3.5]], strict=True):
        rows = server.rows(entry["id"], len(expected), ["s"])
        assert rows.column("s").to_pylist() == expected
