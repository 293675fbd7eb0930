"""Logging a table from Python vs a plain write of the same data, in the same run.

Three ways W&B users build a table, each timed from the user's data to the committed table:
- ``numpy``: a label column plus a 2-D float32 array added as one embedding column;
- ``dataframe``: a pandas DataFrame with a label column and one float32 column per dimension
  (as the digits example), logged bare;
- ``add_data``: ``Table(columns=["label", "embedding"])`` filled with ``add_data`` row by row.

Baselines of the same data, same run: ``np.save`` of the array, and ``pyarrow.parquet.write_table``
of the numpy table (label + fixed-size-list embedding) and of the DataFrame
(``pa.Table.from_pandas``).

Usage: python bench/sdk_log.py [--rows 100000] [--dim 768] [--repeats 3] [--modes numpy,dataframe,add_data]
Prints one JSON line per mode (median seconds, rows/s, MB/s of float data, ratio to parquet),
then a summary line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import flatspace
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def median_seconds(fn: Callable[[int], None], repeats: int) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="numpy,dataframe,add_data")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"numpy", "dataframe", "add_data"}
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}")

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    labels = np.array([f"class-{i}" for i in rng.integers(0, 10, args.rows)])
    megabytes = x.nbytes / 1e6
    results = []

    with tempfile.TemporaryDirectory(prefix="flatspace-sdk-log-") as tmp:
        out = Path(tmp)
        run = flatspace.init(project="bench", name="sdk_log", dir=out / "store")
        step = iter(range(1_000_000))

        def log_numpy(_: int) -> None:
            table = flatspace.Table(dataframe=pa.table({"label": labels}))
            table.add_column("embedding", x)
            run.log({"numpy": table}, step=next(step))

        def log_dataframe_of(df: pd.DataFrame) -> Callable[[int], None]:
            return lambda _: run.log({"dataframe": df}, step=next(step))

        def log_add_data(_: int) -> None:
            table = flatspace.Table(columns=["label", "embedding"])
            for label, vector in zip(labels, x, strict=True):
                table.add_data(label, vector)
            run.log({"add_data": table}, step=next(step))

        def save_numpy(i: int) -> None:
            np.save(out / f"x{i}.npy", x)

        def parquet_numpy(i: int) -> None:
            emb = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), args.dim)
            pq.write_table(
                pa.table({"label": labels, "embedding": emb}), out / f"n{i}.parquet"
            )

        np_save_s = median_seconds(save_numpy, args.repeats)
        parquet_np_s = median_seconds(parquet_numpy, args.repeats)
        for mode in modes:
            if mode == "dataframe":
                df = pd.DataFrame(x, columns=[f"d{j}" for j in range(args.dim)])
                df.insert(0, "label", labels)
                ours = median_seconds(log_dataframe_of(df), args.repeats)
                parquet_s = median_seconds(
                    lambda i, df=df: pq.write_table(
                        pa.Table.from_pandas(df, preserve_index=False),
                        out / f"d{i}.parquet",
                    ),
                    args.repeats,
                )
            elif mode == "numpy":
                ours = median_seconds(log_numpy, args.repeats)
                parquet_s = parquet_np_s
            else:
                ours = median_seconds(log_add_data, args.repeats)
                parquet_s = parquet_np_s
            result = {
                "mode": mode,
                "rows": args.rows,
                "dim": args.dim,
                "flatspace_log_s": round(ours, 4),
                "rows_per_s": round(args.rows / ours),
                "mb_per_s": round(megabytes / ours, 1),
                "parquet_write_s": round(parquet_s, 4),
                "np_save_s": round(np_save_s, 4),
                "ratio_to_parquet": round(ours / parquet_s, 3),
            }
            results.append(result)
            print(json.dumps(result), flush=True)
        run.finish()
    print(
        json.dumps(
            {
                "summary": {r["mode"]: r["flatspace_log_s"] for r in results},
                "parquet_numpy_s": round(parquet_np_s, 4),
                "np_save_s": round(np_save_s, 4),
                "repeats": args.repeats,
                "float_mb": round(megabytes, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
