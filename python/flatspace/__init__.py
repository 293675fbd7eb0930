"""flatspace: log tables of embeddings the way you log a ``wandb.Table``, and project them with
PCA, UMAP or t-SNE computed in Rust.

Example::

    import flatspace as wandb

    wandb.init(project="embedding_tutorial")
    wandb.log({"embeddings": wandb.Table(columns=["D1", "D2"], data=[[0.2, 0.4], [0.3, 0.1]])})
    wandb.finish()

    coords = wandb.umap(X)  # numpy in, numpy out
"""

from __future__ import annotations

from typing import Any

from flatspace._compute import PCA, TSNE, UMAP, knn, pca, tsne, umap
from flatspace._image import Image
from flatspace._run import Run, current_run, finish, init, log
from flatspace._table import Table

__version__ = "0.1.0"

__all__ = [
    "PCA",
    "TSNE",
    "UMAP",
    "Image",
    "Run",
    "Table",
    "finish",
    "init",
    "knn",
    "log",
    "pca",
    "tsne",
    "umap",
]


def __getattr__(name: str) -> Any:
    # `wandb.run` is the current run (None before init), as in W&B.
    if name == "run":
        return current_run()
    raise AttributeError(f"module 'flatspace' has no attribute {name!r}")
