"""Checks that `flatspace-bench metrics` scores layouts as scikit-learn does.

    bench/.venv/bin/python bench/check_metrics.py [path/to/flatspace-bench]

On digits (every row evaluated, no sampling) our trustworthiness must equal
`sklearn.manifold.trustworthiness` for a PCA layout and a random layout, and our 10-NN accuracy
must equal a leave-one-out 10-NN vote on scikit-learn's neighbours (ties to the nearest label).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import datasets
import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

ROOT = Path(__file__).resolve().parent.parent


def ours(binary: str, high: Path, low: Path, labels: Path, k: int) -> dict:
    argv = [binary, "metrics", "--high", str(high), "--low", str(low)]
    argv += ["--labels", str(labels), "--k", str(k), "--sample", "0"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def loo_knn_accuracy(low: np.ndarray, y: np.ndarray, k: int) -> float:
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(low).kneighbors(low)
    pred = []
    for votes in y[idx[:, 1:]]:
        counts = np.bincount(votes)
        tied = set(np.flatnonzero(counts == counts.max()))
        # Ties go to the tied label seen nearest, the rule flatspace documents.
        pred.append(next(v for v in votes if v in tied))
    return float((np.array(pred) == y).mean())


def main() -> None:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = (
        sys.argv[1]
        if len(sys.argv) > 1
        else str(target / "release" / "flatspace-bench")
    )
    ds = datasets.digits()
    x = np.load(ds.x)
    y = np.load(ds.labels)
    k = 10
    layouts = {
        "pca": PCA(n_components=2, random_state=0).fit_transform(x),
        "random": np.random.default_rng(0).normal(size=(x.shape[0], 2)),
    }
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, low in layouts.items():
            path = Path(tmp) / f"{name}.npy"
            np.save(path, low.astype(np.float32))
            got = ours(binary, ds.x, path, ds.labels, k)
            ref_t = trustworthiness(x, low.astype(np.float32), n_neighbors=k)
            ref_acc = loo_knn_accuracy(low.astype(np.float32), y, k)
            diff = abs(got["trustworthiness"] - ref_t)
            worst = max(worst, diff)
            print(
                f"{name}: trustworthiness ours {got['trustworthiness']:.6f} "
                f"scikit-learn {ref_t:.6f} (|diff| {diff:.1e}); "
                f"10-NN accuracy ours {got['knn_accuracy']:.4f} reference {ref_acc:.4f}"
            )
            if abs(got["knn_accuracy"] - ref_acc) > 0.005:
                raise SystemExit(
                    f"{name}: kNN accuracy differs by more than ties explain"
                )
    if worst > 1e-4:
        raise SystemExit(f"trustworthiness differs from scikit-learn by {worst:.2e}")
    print("ok: flatspace-bench metrics agrees with scikit-learn")


if __name__ == "__main__":
    main()
