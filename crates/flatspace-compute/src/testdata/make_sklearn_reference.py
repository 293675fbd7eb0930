"""Writes the scikit-learn reference values the compute tests compare against.

Run from the repository root: .venv/bin/python crates/flatspace-compute/src/testdata/make_sklearn_reference.py
"""

from pathlib import Path

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

rng = np.random.default_rng(2024)
out = []


def emit(name, arr):
    arr = np.atleast_2d(np.asarray(arr, dtype=np.float64))
    out.append(f"{name} {arr.shape[0]} {arr.shape[1]}")
    for row in arr:
        out.append(" ".join(repr(float(v)) for v in row))


# PCA: 80 rows x 7 dims, correlated, with an offset.
latent = rng.normal(size=(80, 3)) * np.array([5.0, 2.0, 1.0])
mix = rng.normal(size=(3, 7))
xp = (latent @ mix + 0.3 * rng.normal(size=(80, 7)) + 4.0).astype(np.float32)
pca = PCA(n_components=3, svd_solver="full").fit(xp)
emit("pca_x", xp)
emit("pca_components", pca.components_)
emit("pca_ratio", pca.explained_variance_ratio_)
emit("pca_coords", pca.transform(xp))
emit(
    "pca_whiten_coords",
    PCA(n_components=3, svd_solver="full", whiten=True).fit_transform(xp),
)

# Trustworthiness / continuity: 120 rows x 6 dims and a distorted 2-d layout.
xt = rng.normal(size=(120, 6)).astype(np.float32)
yt = (xt[:, :2] + 0.7 * rng.normal(size=(120, 2))).astype(np.float32)
emit("trust_x", xt)
emit("trust_y", yt)
vals = []
for k in (5, 10):
    vals.append(
        [
            k,
            trustworthiness(xt, yt, n_neighbors=k),
            trustworthiness(yt, xt, n_neighbors=k),
        ]
    )
emit("trust_k_t_c", vals)
header = f"# scikit-learn {sklearn.__version__} reference values; written by src/testdata/make_sklearn_reference.py"
Path(__file__).with_name("sklearn_reference.txt").write_text(
    header + "\n" + "\n".join(out) + "\n"
)
print(vals, pca.explained_variance_ratio_)
