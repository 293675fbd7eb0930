"""``flatspace.umap(X)`` from Python vs the Rust benchmark driver on the same data and threads.

Alternates runs (driver, Python, driver, Python, ...), each in a fresh process with
``RAYON_NUM_THREADS`` set, both with the library defaults (n_neighbors 15, min_dist 0.1, spectral
init, deterministic mode, seed 42). Both sides time the fit alone, after loading the input:
the driver reports its own ``wall_s``/``cpu_s`` (getrusage, all threads); the Python child times
``flatspace.umap(X)`` with ``time.perf_counter`` and ``time.process_time`` (all threads). Both
layouts are written and compared: in deterministic mode they must be equal, which shows the two
sides did the same work.

Usage: python bench/sdk_umap.py [--input bench/data/mixture_70k_50d.x.npy] [--threads 2]
                                [--repeats 3] [--bench PATH/TO/flatspace-bench]
Prints one JSON line per run, then a summary line (medians, Python/driver ratios, binary mtime).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import json, os, resource, sys, time
import numpy as np
import flatspace
x = np.load(sys.argv[1])
cpu0, wall0 = time.process_time(), time.perf_counter()
coords = flatspace.umap(x)
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
np.save(sys.argv[2], coords)
print(json.dumps({"wall_s": wall, "cpu_s": cpu,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="bench/data/mixture_70k_50d.x.npy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--bench",
        default=str(Path.home() / ".cache/flatspace-target/release/flatspace-bench"),
    )
    args = parser.parse_args()
    env = {**os.environ, "RAYON_NUM_THREADS": str(args.threads)}
    bench_mtime = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.stat(args.bench).st_mtime)
    )
    runs: dict[str, list[dict[str, float]]] = {"rust": [], "python": []}
    with tempfile.TemporaryDirectory(prefix="flatspace-sdk-umap-") as tmp:
        for i in range(args.repeats):
            for side in ("rust", "python"):
                out = Path(tmp) / f"{side}{i}.npy"
                load = os.getloadavg()[0]
                if side == "rust":
                    cmd = [args.bench, "--threads", str(args.threads), "umap"]
                    cmd += ["--input", args.input, "--out", str(out)]
                else:
                    cmd = [sys.executable, "-c", CHILD, args.input, str(out)]
                done = subprocess.run(
                    cmd, env=env, check=True, capture_output=True, text=True
                )
                line = json.loads(done.stdout.strip().splitlines()[-1])
                run = {
                    "side": side,
                    "repeat": i,
                    "wall_s": round(line["wall_s"], 3),
                    "cpu_s": round(line["cpu_s"], 3),
                    "peak_rss_mib": round(line["peak_rss_mib"], 1),
                    "loadavg_1m_before": load,
                }
                runs[side].append(run)
                print(json.dumps(run), flush=True)
        mtime_after = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.stat(args.bench).st_mtime)
        )
        rust0 = np.load(Path(tmp) / "rust0.npy")
        py0 = np.load(Path(tmp) / "python0.npy")
        max_abs_diff = float(np.max(np.abs(rust0 - py0)))

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[side])

    print(
        json.dumps(
            {
                "input": args.input,
                "threads": args.threads,
                "repeats": args.repeats,
                "rust_wall_s": median("rust", "wall_s"),
                "python_wall_s": median("python", "wall_s"),
                "rust_cpu_s": median("rust", "cpu_s"),
                "python_cpu_s": median("python", "cpu_s"),
                "wall_ratio": round(
                    median("python", "wall_s") / median("rust", "wall_s"), 4
                ),
                "cpu_ratio": round(
                    median("python", "cpu_s") / median("rust", "cpu_s"), 4
                ),
                "layouts_max_abs_diff": max_abs_diff,
                "bench_binary": args.bench,
                "bench_binary_mtime_utc": bench_mtime,
                "bench_binary_rebuilt_during_runs": mtime_after != bench_mtime,
                "flatspace_module": subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "import flatspace._native as m; print(m.__file__)",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip(),
            }
        )
    )


if __name__ == "__main__":
    main()
