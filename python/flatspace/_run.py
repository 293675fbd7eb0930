"""Runs: ``init`` / ``log`` / ``finish`` as W&B users expect, writing to a flatspace store."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any, Self

from flatspace import _native
from flatspace._table import Table, _is_dataframe

DEFAULT_DIR = "flatspace-data"


class Run:
    """A run of a project in a store directory; create it with :func:`flatspace.init`.

    Example::

        with flatspace.init(project="demo", dir="./flatspace-data") as run:
            run.log({"points": flatspace.Table(columns=["x"], data=[[1], [2]])})
    """

    def __init__(
        self,
        project: str,
        name: str,
        dir: str | os.PathLike[str],
        config: Mapping[str, Any] | None,
    ):
        self.project = project
        self.name = name
        self.config: dict[str, Any] = dict(config or {})
        self.summary: dict[str, Any] = {}
        self.step = 0
        self._store = _native.Store(os.fspath(dir))
        self.dir = self._store.root
        self._project_id = self._store.project(project)
        self.id = self._store.run(
            self._project_id, name, json.dumps(self.config, default=str, sort_keys=True)
        )
        self.tables: list[dict[str, Any]] = []
        self._finished = False

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool = True
    ) -> None:
        """Logs tables (``Table``, pandas/polars DataFrame, pyarrow Table) under their keys at
        ``step`` (default: the run's current step, which then advances as in W&B). Numbers are
        kept in ``run.summary``. Either every table of the call is stored or none is."""
        if self._finished:
            raise RuntimeError(
                f"run {self.name!r} is finished; call flatspace.init() again"
            )
        if not isinstance(data, Mapping):
            raise TypeError(
                f"log: expected a dict of key → table, got {type(data).__name__}"
            )
        if step is not None:
            if not isinstance(step, int) or step < 0:
                raise ValueError(
                    f"log: step must be a non-negative integer, got {step!r}"
                )
            self.step = step
        tables = []
        media: dict[bytes, tuple[bytes, str]] = {}
        for key, value in data.items():
            if isinstance(value, Table):
                table = value
            elif _is_dataframe(value):
                table = Table(dataframe=value)
            elif isinstance(value, (int, float, str, bool)):
                self.summary[key] = value
                continue
            else:
                raise TypeError(
                    f"log: key {key!r} holds {type(value).__name__}; expected a flatspace.Table, "
                    "a DataFrame (pandas, polars) or a pyarrow Table"
                )
            try:
                arrow, table_media = table.to_arrow()
            except (TypeError, ValueError) as e:
                raise type(e)(f"table {key!r}: {e}") from e
            tables.append((str(key), arrow))
            for blob in table_media:
                media[blob[0]] = blob
        if tables:
            written = self._store.write_tables(
                self.id, self.step, tables, list(media.values())
            )
            self.tables.extend(written)
        if commit:
            self.step += 1

    def finish(self, exit_code: int | None = None) -> None:
        """Ends the run; later ``log`` calls fail. Everything logged is already committed."""
        global _current
        self._finished = True
        if _current is self:
            _current = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def __repr__(self) -> str:
        return (
            f"Run(project={self.project!r}, name={self.name!r}, dir={str(self.dir)!r})"
        )


_current: Run | None = None


def init(
    project: str | None = None,
    name: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    config: Mapping[str, Any] | None = None,
    **_ignored: Any,
) -> Run:
    """Opens (or creates) a run. ``dir`` is the store directory (default ``$FLATSPACE_DATA`` or
    ``./flatspace-data``, as ``flatspace serve``); other W&B arguments are accepted and ignored.

    Example::

        run = flatspace.init(project="embeddings", name="first", config={"lr": 0.1})
    """
    global _current
    if _current is not None:
        _current.finish()
    directory = (
        dir if dir is not None else os.environ.get("FLATSPACE_DATA", DEFAULT_DIR)
    )
    run_name = name or time.strftime("run-%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    _current = Run(project or "uncategorized", run_name, directory, config)
    return _current


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """``run.log`` on the current run (the last :func:`init`)."""
    if _current is None:
        raise RuntimeError("flatspace.log: call flatspace.init() first")
    _current.log(data, step=step, commit=commit)


def finish(exit_code: int | None = None) -> None:
    """Finishes the current run, if any."""
    if _current is not None:
        _current.finish(exit_code)


def current_run() -> Run | None:
    return _current
