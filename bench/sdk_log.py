"""Logging a table from Python vs a plain write of the same data, in the same run.

Ways W&B users build a table, each timed from the user's data to the committed (fsynced) table,
with the store on disk:
- ``numpy``: a label column plus a 2-D float32 array added as one embedding column;
- ``pyarrow``: a bare ``pa.Table`` with a label column and a fixed-size-list float32 column;
- ``pandas``: a bare pandas DataFrame with a label column and an ``embedding`` column holding one
  1-D float32 array per row (``list(X)``, as W&B users fill ``wandb.Table(dataframe=df)``);
- ``dataframe``: a pandas DataFrame with a label column and one float32 column per dimension
  (as the digits example), logged bare;
- ``add_data``: ``Table(columns=["label", "embedding"])`` filled with ``add_data`` row by row.

Baselines of the same data, same run, timed alternately with ours (repeat i of every mode, then
repeat i of every baseline): ``np.save`` of the array, ``pyarrow.parquet.write_table`` of the
label + fixed-size-list table (as ``pyarrow`` logs it; pyarrow's defaults, no fsync) and of the wide
DataFrame (``pa.Table.from_pandas``), and the first again followed by an fsync of the file
(``parquet_fsync``), because the store fsyncs every table it commits. Before every timed call,
ours or a baseline, an untimed ``os.sync()`` flushes what the earlier calls left dirty, so no call
waits for another's write-back.

Memory: ``--peak-rss`` logs once in a fresh child process (one per mode) and reports that
process's peak resident set size (``ru_maxrss``) beside the size of the float array it created.

Usage: python bench/sdk_log.py [--rows 100000] [--dim 768] [--repeats 5]
                               [--modes numpy,pyarrow,pandas,dataframe,add_data] [--peak-rss]
Prints one JSON line per mode (median wall and CPU seconds, each run's seconds, rows/s, MB/s of
float data, ratio to parquet, the load average), then a summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import flatspace
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

MODES = ("numpy", "pyarrow", "pandas", "dataframe", "add_data")


class Timings:
    """Wall and CPU (user + system, this process, all threads) seconds of each call."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn: Callable[[], None]) -> None:
        # Untimed: flush what earlier calls left dirty (Parquet files are not fsynced), so no
        # call pays for the write-back of another's data.
        os.sync()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        fn()
        self.wall.append(time.perf_counter() - wall0)
        self.cpu.append(time.process_time() - cpu0)

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def make_data(rows: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    labels = np.array([f"class-{i}" for i in rng.integers(0, 10, rows)])
    return x, labels


def loggers(
    mode: str, x: np.ndarray, labels: np.ndarray
) -> tuple[Callable[[], object], Callable[[flatspace.Run, object, int], None]]:
    """(build the user's object, log it): building a DataFrame is the user's code, not ours, so
    only ``log`` (and for numpy/add_data, the Table calls) is timed."""
    dim = x.shape[1]
    if mode == "numpy":

        def log_numpy(run: flatspace.Run, _: object, step: int) -> None:
            table = flatspace.Table(dataframe=pa.table({"label": labels}))
            table.add_column("embedding", x)
            run.log({"numpy": table}, step=step)

        return lambda: None, log_numpy
    if mode == "pyarrow":
        return lambda: arrow_table(x, labels), lambda run, t, step: run.log(
            {"pyarrow": t}, step=step
        )
    if mode == "pandas":
        return lambda: pd.DataFrame(
            {"label": labels, "embedding": list(x)}
        ), lambda run, df, step: run.log({"pandas": df}, step=step)
    if mode == "dataframe":

        def wide() -> pd.DataFrame:
            df = pd.DataFrame(x, columns=[f"d{j}" for j in range(dim)])
            df.insert(0, "label", labels)
            return df

        return wide, lambda run, df, step: run.log({"dataframe": df}, step=step)

    def log_add_data(run: flatspace.Run, _: object, step: int) -> None:
        table = flatspace.Table(columns=["label", "embedding"])
        for label, vector in zip(labels, x, strict=True):
            table.add_data(label, vector)
        run.log({"add_data": table}, step=step)

    return lambda: None, log_add_data


def arrow_table(x: np.ndarray, labels: np.ndarray) -> pa.Table:
    emb = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])
    return pa.table({"label": labels, "embedding": emb})


def peak_rss_child(args: argparse.Namespace, mode: str) -> None:
    """Runs in a fresh process: create the data, log it once, print the peak RSS."""
    x, labels = make_data(args.rows, args.dim)
    build, log = loggers(mode, x, labels)
    obj = build()
    before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="flatspace-sdk-rss-") as tmp:
        run = flatspace.init(project="bench", name="rss", dir=Path(tmp) / "store")
        t = Timings()
        t.time(lambda: log(run, obj, 0))
        run.finish()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    array_mib = x.nbytes / 2**20
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": args.rows,
                "dim": args.dim,
                "log_s": round(t.wall[0], 3),
                "log_cpu_s": round(t.cpu[0], 3),
                "array_mib": round(array_mib, 1),
                "peak_rss_before_log_mib": round(before_mib, 1),
                "peak_rss_mib": round(peak_mib, 1),
                "peak_over_array": round(peak_mib / array_mib, 3),
                "loadavg_1m": os.getloadavg()[0],
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", default="numpy,pyarrow,pandas,dataframe,add_data")
    parser.add_argument(
        "--peak-rss",
        action="store_true",
        help="log once per mode, each in a fresh child process, and report its peak RSS",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; known: {list(MODES)}")

    if args.child:
        peak_rss_child(args, args.child)
        return
    if args.peak_rss:
        for mode in modes:
            cmd = [
                sys.executable,
                __file__,
                "--rows",
                str(args.rows),
                "--dim",
                str(args.dim),
            ]
            subprocess.run([*cmd, "--child", mode], check=True)
        return

    x, labels = make_data(args.rows, args.dim)
    megabytes = x.nbytes / 1e6
    built = {}
    for mode in modes:
        build, log = loggers(mode, x, labels)
        built[mode] = (build(), log)
    wide = built["dataframe"][0] if "dataframe" in built else None

    ours = {mode: Timings() for mode in modes}
    base = {
        name: Timings()
        for name in ("np_save", "parquet", "parquet_fsync", "parquet_wide")
    }
    loads = []
    with tempfile.TemporaryDirectory(prefix="flatspace-sdk-log-") as tmp:
        out = Path(tmp)
        run = flatspace.init(project="bench", name="sdk_log", dir=out / "store")
        step = 0

        def parquet(i: int, fsync: bool) -> None:
            path = out / f"n{i}{'-sync' if fsync else ''}.parquet"
            pq.write_table(arrow_table(x, labels), path)
            if fsync:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

        for i in range(args.repeats):
            loads.append(os.getloadavg()[0])
            for mode in modes:
                obj, log = built[mode]
                ours[mode].time(lambda obj=obj, log=log, step=step: log(run, obj, step))
                step += 1
            base["np_save"].time(lambda i=i: np.save(out / f"x{i}.npy", x))
            base["parquet"].time(lambda i=i: parquet(i, fsync=False))
            base["parquet_fsync"].time(lambda i=i: parquet(i, fsync=True))
            if wide is not None:
                base["parquet_wide"].time(
                    lambda i=i: pq.write_table(
                        pa.Table.from_pandas(wide, preserve_index=False),
                        out / f"d{i}.parquet",
                    )
                )
        run.finish()

    def r(v: float) -> float:
        return round(v, 4)

    for mode in modes:
        t = ours[mode]
        baseline = base["parquet_wide" if mode == "dataframe" else "parquet"]
        print(
            json.dumps(
                {
                    "mode": mode,
                    "rows": args.rows,
                    "dim": args.dim,
                    "flatspace_log_s": r(t.median_wall()),
                    "flatspace_log_cpu_s": r(t.median_cpu()),
                    "runs_s": [r(v) for v in t.wall],
                    "rows_per_s": round(args.rows / t.median_wall()),
                    "mb_per_s": round(megabytes / t.median_wall(), 1),
                    "parquet_write_s": r(baseline.median_wall()),
                    "parquet_write_cpu_s": r(baseline.median_cpu()),
                    "ratio_to_parquet": round(
                        t.median_wall() / baseline.median_wall(), 3
                    ),
                }
            ),
            flush=True,
        )
    print(
        json.dumps(
            {
                "summary": {m: r(ours[m].median_wall()) for m in modes},
                "baselines_s": {
                    k: r(v.median_wall()) for k, v in base.items() if v.wall
                },
                "baselines_cpu_s": {
                    k: r(v.median_cpu()) for k, v in base.items() if v.wall
                },
                "repeats": args.repeats,
                "float_mb": round(megabytes, 1),
                "loadavg_1m_at_each_repeat": loads,
            }
        )
    )


if __name__ == "__main__":
    main()
