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

    def _table_id(self, table: str | int, step: int | None = None) -> int:
        """The id of table ``table`` (a key of this run, newest version at ``step`` or at its
        highest step; or a table id)."""
        if isinstance(table, int) and not isinstance(table, bool):
            return table
        mine = [
            t
            for t in self._store.tables()
            if t["project"] == self.project and t["run"] == self.name
        ]
        found = [
            t for t in mine if t["key"] == table and (step is None or t["step"] == step)
        ]
        if not found:
            keys = sorted({t["key"] for t in mine})
            at = "" if step is None else f" at step {step}"
            raise KeyError(
                f"run {self.name!r} has no table {table!r}{at}; its tables are {keys}"
            )
        return max(found, key=lambda t: (t["step"], t["version"]))["id"]

    def save_selection(
        self,
        name: str,
        rows: Any,
        table: str | int,
        *,
        step: int | None = None,
    ) -> int:
        """Saves row ids (0-based row indices of the table) under ``name``, as the UI's lasso
        does; the same name again replaces the rows. Returns the selection's id.

        Example::

            run.save_selection("outliers", [3, 17, 42], table="embeddings")
        """
        table_id = self._table_id(table, step)
        return self._store.save_selection(table_id, name, [int(r) for r in rows])

    def selection(
        self,
        name: str,
        table: str | int | None = None,
        *,
        projection: int | None = None,
        step: int | None = None,
    ) -> Any:
        """The rows of the selection ``name`` (saved in the UI or with :meth:`save_selection`)
        as a pandas DataFrame: ``row_id``, then ``x``, ``y`` (``z``) of ``projection`` when
        given, then every column of the table. ``table`` is a key of this run or a table id;
        without it, the run's tables are searched for a selection of that name.

        Example::

            df = run.selection("cluster 3", table="embeddings")
        """
        if table is None:
            ids = sorted(
                {
                    t["id"]
                    for t in self._store.tables()
                    if t["project"] == self.project and t["run"] == self.name
                }
            )
            holding = [
                (i, s)
                for i in ids
                for s in self._store.selections(i)
                if s["name"] == name
            ]
            if len(holding) != 1:
                where = "no table" if not holding else f"{len(holding)} tables"
                raise KeyError(
                    f"{where} of run {self.name!r} has a selection named {name!r}; "
                    "pass table=<key or id>"
                )
            table_id, chosen = holding[0]
        else:
            table_id = self._table_id(table, step)
            saved = self._store.selections(table_id)
            chosen = next((s for s in saved if s["name"] == name), None)
            if chosen is None:
                names = [s["name"] for s in saved]
                raise KeyError(
                    f"table {table!r} has no selection named {name!r}; it has {names}"
                )
        rows = self._store.selection_rows(chosen["id"])
        return _to_pandas(self._store.export_rows(table_id, rows, projection))

    def projection(
        self,
        table: str | int,
        algorithm: str | None = None,
        *,
        id: int | None = None,
        step: int | None = None,
    ) -> Any:
        """The coordinates of a finished projection of ``table`` (the newest, of ``algorithm``
        when given, or the one with id ``id``) joined to the table, as a pandas DataFrame:
        ``row_id``, ``x``, ``y`` (``z``), then every column. A projection of a subset has its
        rows only.

        Example::

            df = run.projection(table="embeddings", algorithm="umap")
            df.plot.scatter("x", "y")
        """
        table_id = self._table_id(table, step)
        done = [
            p
            for p in self._store.projections(table_id)
            if p["status"] == "done"
            and (algorithm is None or p["algorithm"] == algorithm)
            and (id is None or p["id"] == id)
        ]
        if not done:
            what = f"{algorithm} " if algorithm else ""
            which = f" with id {id}" if id is not None else ""
            raise LookupError(
                f"table {table!r} has no finished {what}projection{which}; compute one in the "
                "viewer (flatspace serve) first"
            )
        chosen = done[-1]
        rows = self._store.projection_rows(chosen["id"])
        return _to_pandas(self._store.export_rows(table_id, rows, chosen["id"]))

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


def _to_pandas(table: Any) -> Any:
    import pyarrow as pa

    try:
        import pandas  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "reading rows back as a DataFrame needs pandas: pip install 'flatspace[pandas]'"
        ) from e
    return pa.table(table).to_pandas()


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
