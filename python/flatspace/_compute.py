"""PCA, kNN, UMAP and t-SNE on numpy arrays, computed in Rust with the GIL released.

Parameters and defaults are the Rust crate's (``flatspace_compute``); ``tests/test_compute.py``
checks these signatures against them. ``progress=True`` draws a bar per stage on stderr.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from flatspace import _native


def _matrix(x: Any, what: str = "X") -> np.ndarray:
    array = np.asarray(x)
    if array.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array (rows × dims), got shape {array.shape}"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers, got dtype {array.dtype}")
    # No copy when X is already C-contiguous float32.
    return np.ascontiguousarray(array, dtype=np.float32)


def _own(X: Any) -> np.ndarray:
    """A float32 copy of X that nothing else refers to: fitted models keep it for transform."""
    train = _matrix(X)
    if np.may_share_memory(train, np.asarray(X)):
        train = train.copy()
    return train


def pca(
    X: Any,
    n_components: int = 2,
    *,
    center: bool = True,
    whiten: bool = False,
    solver: Literal["auto", "covariance", "randomized"] = "auto",
    seed: int = 42,
    progress: bool = False,
) -> np.ndarray:
    """Principal components of every row: an ``n × n_components`` float32 array.

    Example::

        coords = flatspace.pca(np.random.rand(1000, 50), n_components=2)
    """
    return PCA(
        n_components, center=center, whiten=whiten, solver=solver, seed=seed
    ).fit_transform(X, progress=progress)


class PCA:
    """Fitted PCA: ``components_``, ``explained_variance_ratio_``, ``mean_`` after ``fit``."""

    def __init__(
        self,
        n_components: int = 2,
        *,
        center: bool = True,
        whiten: bool = False,
        solver: Literal["auto", "covariance", "randomized"] = "auto",
        seed: int = 42,
    ):
        self.params = {
            "n_components": n_components,
            "center": center,
            "whiten": whiten,
            "solver": solver,
            "seed": seed,
        }

    def fit_transform(self, X: Any, progress: bool = False) -> np.ndarray:
        coords, ratio, components, mean = _native.pca(
            _matrix(X), progress, **self.params
        )
        self.explained_variance_ratio_ = ratio
        self.components_ = components
        self.mean_ = mean
        self.embedding_ = coords
        return coords


def knn(
    X: Any,
    k: int = 15,
    *,
    metric: Literal["euclidean", "cosine", "inner_product"] = "euclidean",
    method: Literal["auto", "exact", "nndescent"] = "auto",
    seed: int = 42,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every row (itself excluded): ``(indices, distances)``, both
    ``n × k`` (uint32, float32), nearest first.

    Example::

        indices, distances = flatspace.knn(X, 10, metric="cosine")
    """
    return _native.knn(
        _matrix(X), progress, k=k, metric=metric, method=method, seed=seed
    )


class UMAP:
    """UMAP with umap-learn's defaults (seed 42). ``fit`` / ``fit_transform`` / ``transform``.

    Example::

        model = flatspace.UMAP(n_neighbors=15).fit(X)
        model.embedding_            # n × 2
        model.transform(X_new)      # places new rows without moving the fitted ones
    """

    def __init__(
        self,
        n_neighbors: int = 15,
        n_components: int = 2,
        *,
        metric: Literal["euclidean", "cosine", "inner_product"] = "euclidean",
        knn_method: Literal["auto", "exact", "nndescent"] = "auto",
        n_epochs: int | None = None,
        learning_rate: float = 1.0,
        init: Literal["spectral", "pca", "random"] = "spectral",
        min_dist: float = 0.1,
        spread: float = 1.0,
        set_op_mix_ratio: float = 1.0,
        local_connectivity: float = 1.0,
        repulsion_strength: float = 1.0,
        negative_sample_rate: int = 5,
        a: float | None = None,
        b: float | None = None,
        seed: int = 42,
        mode: Literal["deterministic", "hogwild"] = "deterministic",
    ):
        self.params = {k: v for k, v in locals().items() if k != "self"}
        self._model: Any = None

    def fit(self, X: Any, progress: bool = False) -> UMAP:
        train = _own(X)
        self._model = _native.umap_fit(train, progress, **self.params)
        return self

    def fit_transform(self, X: Any, progress: bool = False) -> np.ndarray:
        return self.fit(X, progress).embedding_

    @property
    def embedding_(self) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("UMAP: call fit first")
        return self._model.embedding

    def transform(self, X: Any, progress: bool = False) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("UMAP: call fit first")
        return self._model.transform(_matrix(X), progress)


class TSNE:
    """t-SNE with openTSNE's defaults (seed 42). ``fit`` / ``fit_transform`` / ``transform``.

    Example::

        model = flatspace.TSNE(perplexity=30).fit(X)
        model.embedding_, model.kl_divergence_
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        perplexity: float = 30.0,
        learning_rate: float | Literal["auto"] = "auto",
        n_iter: int = 500,
        early_exaggeration: float = 12.0,
        early_exaggeration_iter: int = 250,
        exaggeration: float = 1.0,
        dof: float = 1.0,
        initial_momentum: float = 0.8,
        final_momentum: float = 0.8,
        max_step_norm: float | None = 5.0,
        metric: Literal["euclidean", "cosine"] = "euclidean",
        knn_method: Literal["auto", "exact", "nndescent"] = "auto",
        init: Literal["pca", "random"] = "pca",
        negative_gradient_method: Literal["auto", "fft", "bh", "exact"] = "auto",
        theta: float = 0.5,
        n_interpolation_points: int = 3,
        min_num_intervals: int = 50,
        ints_in_interval: float = 1.0,
        max_num_intervals: int = 200,
        seed: int = 42,
        loss_every: int = 50,
    ):
        self.params = {k: v for k, v in locals().items() if k != "self"}
        self._model: Any = None

    def fit(self, X: Any, progress: bool = False) -> TSNE:
        train = _own(X)
        self._model = _native.tsne_fit(train, progress, **self.params)
        return self

    def fit_transform(self, X: Any, progress: bool = False) -> np.ndarray:
        return self.fit(X, progress).embedding_

    @property
    def embedding_(self) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("TSNE: call fit first")
        return self._model.embedding

    @property
    def kl_divergence_(self) -> float:
        if self._model is None:
            raise RuntimeError("TSNE: call fit first")
        return self._model.kl_divergence

    def transform(self, X: Any, progress: bool = False) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("TSNE: call fit first")
        return self._model.transform(_matrix(X), progress)


def umap(X: Any, *, progress: bool = False, **params: Any) -> np.ndarray:
    """UMAP layout of every row (``n × n_components`` float32); ``params`` as :class:`UMAP`.

    Example::

        coords = flatspace.umap(X, n_neighbors=30, min_dist=0.05, progress=True)
    """
    return UMAP(**params).fit_transform(X, progress)


def tsne(X: Any, *, progress: bool = False, **params: Any) -> np.ndarray:
    """t-SNE layout of every row (``n × n_components`` float32); ``params`` as :class:`TSNE`.

    Example::

        coords = flatspace.tsne(X, perplexity=30)
    """
    return TSNE(**params).fit_transform(X, progress)
