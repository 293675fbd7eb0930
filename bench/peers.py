"""One peer measurement in a fresh process: `python peers.py TASK --input X.npy --out Y.npy ...`.

Prints one JSON line: the parameters, and for each call its wall and CPU seconds (user + system of
all threads, from `time.process_time()` deltas, so imports and loading are left out as they are for
ours). Peers that JIT-compile (numba: pynndescent, umap-learn) are called twice in the same process:
`first` includes compilation, `warm` does not. bench/run.py sets the thread variables and an empty
numba cache directory before starting this process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


def timed(fn):
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, {
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }


def drop_self(indices: np.ndarray, k: int) -> np.ndarray:
    """Neighbour lists that include each row itself (as pynndescent's do) without it, k wide."""
    n = indices.shape[0]
    out = np.empty((n, k), dtype=np.int32)
    is_self = indices == np.arange(n)[:, None]
    for i in range(n):
        row = indices[i][~is_self[i]]
        out[i] = row[:k]
    return out


def knn_numpy(x: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """Exact kNN baseline: blocked GEMM distances (|x|^2 + |y|^2 - 2 x.y in float32, as a user
    would write it) and argpartition per block, then a sort of the k survivors."""
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty((n, k), dtype=np.int32)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        d = sq[lo:hi, None] + sq[None, :] - 2.0 * (x[lo:hi] @ x.T)
        d[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k]
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        out[lo:hi] = np.take_along_axis(part, order, axis=1)
    return out


def run_task(args: argparse.Namespace) -> dict:
    x = np.ascontiguousarray(np.load(args.input), dtype=np.float32)
    threads = args.threads
    calls: list[dict] = []
    result = None
    params: dict = {}

    if args.task == "knn-numpy":
        params = {"k": args.k, "block": 2048}
        result, cost = timed(lambda: knn_numpy(x, args.k))
        calls.append({"call": "single", **cost})
    elif args.task == "knn-pynndescent":
        from pynndescent import NNDescent

        params = {
            "k": args.k,
            "n_neighbors": args.k + 1,
            "random_state": args.seed,
            "n_jobs": threads,
        }

        def build():
            index = NNDescent(
                x, n_neighbors=args.k + 1, random_state=args.seed, n_jobs=threads
            )
            return index.neighbor_graph[0]

        for call in ("first", "warm")[: args.calls]:
            graph, cost = timed(build)
            calls.append({"call": call, **cost})
        result = drop_self(graph, args.k)
    elif args.task == "pca-sklearn":
        from sklearn.decomposition import PCA

        params = {
            "n_components": args.n_components,
            "svd_solver": args.solver,
            "random_state": args.seed,
        }
        model = PCA(
            n_components=args.n_components,
            svd_solver=args.solver,
            random_state=args.seed,
        )
        result, cost = timed(lambda: model.fit_transform(x))
        calls.append({"call": "single", **cost})
        params["explained_variance_ratio"] = [
            float(v) for v in model.explained_variance_ratio_
        ]
    elif args.task == "umap-learn":
        import umap

        # No random_state: umap-learn forces a single thread when seeded, and we compare against
        # its parallel mode on the same thread count.
        params = {
            "n_neighbors": args.n_neighbors,
            "min_dist": args.min_dist,
            "n_jobs": threads,
            "seed": None,
        }

        def fit():
            return umap.UMAP(
                n_neighbors=args.n_neighbors, min_dist=args.min_dist, n_jobs=threads
            ).fit_transform(x)

        for call in ("first", "warm")[: args.calls]:
            result, cost = timed(fit)
            calls.append({"call": call, **cost})
    elif args.task == "opentsne":
        from openTSNE import TSNE

        params = {
            "perplexity": args.perplexity,
            "negative_gradient_method": "fft",
            "n_jobs": threads,
            "random_state": args.seed,
        }

        def fit():
            tsne = TSNE(
                perplexity=args.perplexity,
                negative_gradient_method="fft",
                n_jobs=threads,
                random_state=args.seed,
            )
            return np.asarray(tsne.fit(x))

        for call in ("first", "warm")[: args.calls]:
            result, cost = timed(fit)
            calls.append({"call": call, **cost})
    elif args.task == "sklearn-tsne":
        from sklearn.manifold import TSNE

        params = {
            "perplexity": args.perplexity,
            "method": "barnes_hut",
            "init": "pca",
            "random_state": args.seed,
        }
        model = TSNE(
            perplexity=args.perplexity,
            init="pca",
            random_state=args.seed,
            n_jobs=threads,
        )
        result, cost = timed(lambda: model.fit_transform(x))
        calls.append({"call": "single", **cost})
    else:
        raise SystemExit(f"unknown task {args.task!r}")

    if args.out:
        np.save(args.out, np.ascontiguousarray(result))
    return {
        "task": args.task,
        "input": str(args.input),
        "n_rows": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "threads": threads,
        "params": params,
        "calls": calls,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "versions": versions(args.task),
    }


def versions(task: str) -> dict:
    from importlib.metadata import version

    names = {
        "knn-numpy": ["numpy"],
        "knn-pynndescent": ["pynndescent", "numba"],
        "pca-sklearn": ["scikit-learn"],
    }
    names |= {
        "umap-learn": ["umap-learn", "pynndescent", "numba"],
        "opentsne": ["openTSNE"],
    }
    names |= {"sklearn-tsne": ["scikit-learn"]}
    return {name: version(name) for name in names.get(task, []) + ["numpy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task")
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1"))
    )
    parser.add_argument(
        "--calls", type=int, default=2, help="1 = first call only (JIT peers)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--n-components", type=int, default=2)
    parser.add_argument("--solver", default="auto")
    parser.add_argument("--n-neighbors", type=int, default=15)
    parser.add_argument("--min-dist", type=float, default=0.1)
    parser.add_argument("--perplexity", type=float, default=30.0)
    args = parser.parse_args()
    line = run_task(args)
    sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
