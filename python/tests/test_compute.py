"""PCA, kNN, UMAP and t-SNE from Python: Rust defaults, known structure recovered, errors."""

from __future__ import annotations

import inspect
import threading
import time

import flatspace
import numpy as np
import pytest
from flatspace import _native


def blobs(n_per=80, dim=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10.0, size=(k, dim))
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centers]).astype(
        np.float32
    )
    return x, np.repeat(np.arange(k), n_per)


def knn_accuracy(coords, labels, k=5):
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return (labels[nn] == labels[:, None]).mean()


def signature_defaults(fn, skip=("X", "progress", "self")):
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if name not in skip
    }


@pytest.mark.parametrize(
    ("algorithm", "fn"),
    [
        ("pca", flatspace.pca),
        ("knn", flatspace.knn),
        ("umap", flatspace.UMAP),
        ("tsne", flatspace.TSNE),
    ],
)
def test_python_defaults_are_the_rust_defaults(algorithm, fn):
    rust = _native.defaults(algorithm)
    python = signature_defaults(fn)
    assert python.keys() == rust.keys()
    for key, value in rust.items():
        if isinstance(value, float):
            assert python[key] == pytest.approx(value), key
        else:
            assert python[key] == value, key


def test_pca_matches_numpy_svd():
    x = np.random.default_rng(0).normal(size=(200, 12)) * np.arange(1, 13)
    coords = flatspace.pca(x, n_components=3)
    centered = x - x.mean(0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    reference = centered @ vt[:3].T
    for i in range(3):
        corr = np.corrcoef(coords[:, i], reference[:, i])[0, 1]
        assert abs(corr) > 0.999, (i, corr)
    model = flatspace.PCA(3)
    model.fit_transform(x)
    ratio = (np.linalg.svd(centered, compute_uv=False) ** 2)[:3]
    np.testing.assert_allclose(
        model.explained_variance_ratio_, ratio / (centered**2).sum(), rtol=1e-3
    )


def test_exact_knn_matches_brute_force():
    x, _ = blobs(n_per=40)
    indices, distances = flatspace.knn(x, 5, method="exact")
    assert indices.shape == (120, 5) and distances.shape == (120, 5)
    d = ((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    truth = np.argsort(d, axis=1)[:, :5]
    recall = np.mean(
        [len(set(a) & set(b)) / 5 for a, b in zip(indices, truth, strict=True)]
    )
    assert recall > 0.99
    assert np.all(np.diff(distances, axis=1) >= -1e-5)


def test_umap_separates_blobs_and_transforms():
    x, y = blobs()
    model = flatspace.UMAP(n_epochs=100).fit(x)
    coords = model.embedding_
    assert coords.shape == (240, 2)
    assert knn_accuracy(coords, y) > 0.95
    again = flatspace.umap(x, n_epochs=100, progress=True)
    np.testing.assert_array_equal(
        coords, again
    )  # deterministic under the seed, bars or not
    new, new_y = blobs(n_per=5, seed=0)
    placed = model.transform(new)
    centroids = np.stack([coords[y == c].mean(0) for c in range(3)])
    nearest = np.argmin(((placed[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (nearest == new_y).mean() >= 0.9


def test_tsne_separates_blobs_and_transforms():
    x, y = blobs()
    model = flatspace.TSNE(n_iter=200, early_exaggeration_iter=100).fit(x)
    assert knn_accuracy(model.embedding_, y) > 0.95
    assert np.isfinite(model.kl_divergence_)
    placed = model.transform(x[:10])
    assert placed.shape == (10, 2)


def test_gil_is_released_while_rust_works():
    x = np.random.default_rng(0).normal(size=(3000, 32)).astype(np.float32)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    start = time.perf_counter()
    flatspace.umap(x, n_epochs=50)
    end = time.perf_counter()
    done.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    # Were the GIL held, the ticking thread could not run during the call.
    assert len(during) > 5


def test_bad_compute_input():
    x = np.ones((20, 3), np.float32)
    x[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7"):
        flatspace.pca(x)
    with pytest.raises(ValueError, match="2-D"):
        flatspace.knn(np.ones(5))
    with pytest.raises(ValueError, match="metric"):
        flatspace.knn(np.ones((5, 2)), 2, metric="manhattan")
    with pytest.raises(TypeError):
        flatspace.umap(np.ones((5, 2)), bogus=1)
    with pytest.raises(ValueError, match="n_neighbors"):
        flatspace.umap(np.ones((5, 2)), n_neighbors=1)
