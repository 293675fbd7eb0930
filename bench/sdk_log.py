"""Logging a table from Python vs pyarrow.parquet.write_table of the same data, same run.

Usage: python bench/sdk_log.py [--rows 100000] [--dim 768] [--repeats 3]
Prints one JSON line: median seconds of each and their ratio (flatspace / parquet).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import flatspace
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    labels = np.array([f"class-{i}" for i in rng.integers(0, 10, args.rows)])
    ours, parquet = [], []
    with tempfile.TemporaryDirectory() as tmp:
        run = flatspace.init(project="bench", name="sdk_log", dir=Path(tmp) / "store")
        for i in range(args.repeats):
            start = time.perf_counter()
            table = flatspace.Table(dataframe=pa.table({"label": labels}))
            table.add_column("embedding", x)
            run.log({"emb": table}, step=i)
            ours.append(time.perf_counter() - start)

            start = time.perf_counter()
            emb = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), args.dim)
            pq.write_table(
                pa.table({"label": labels, "embedding": emb}),
                Path(tmp) / f"{i}.parquet",
            )
            parquet.append(time.perf_counter() - start)
        run.finish()
    result = {
        "rows": args.rows,
        "dim": args.dim,
        "flatspace_log_s": statistics.median(ours),
        "parquet_write_s": statistics.median(parquet),
    }
    result["ratio"] = result["flatspace_log_s"] / result["parquet_write_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
