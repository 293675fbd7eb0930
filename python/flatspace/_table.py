"""``Table`` with the shapes of ``wandb.Table``, stored column-wise and handed to Rust as Arrow."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from flatspace._image import Image

# A column is a list of Python cells, a numpy array (1-D values or 2-D: one vector per row) or
# Arrow data (from a DataFrame); numpy and Arrow columns reach Rust without a Python loop.
Column = list | np.ndarray | pa.Array | pa.ChunkedArray

IMAGE_METADATA = {b"flatspace.kind": b"image"}


class Table:
    """A table of rows to log, as ``wandb.Table``.

    Example::

        t = Table(columns=["label", "embedding"], data=[["a", [0.1, 0.2]], ["b", [0.3, 0.4]]])
        t.add_data("c", np.array([0.5, 0.6]))
        t.add_column("score", [1, 2, 3])
        t.get_column("score")  # [1, 2, 3]
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | np.ndarray | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
    ):
        self._columns: dict[str, Column] = {}
        if dataframe is not None:
            if columns is not None or data is not None or rows is not None:
                raise ValueError(
                    "Table: pass either dataframe= or columns=/data=, not both"
                )
            self._columns = _from_dataframe(dataframe)
            return
        if rows is not None:
            if data is not None:
                raise ValueError("Table: pass data= or rows=, not both")
            data = rows
        if data is not None and _is_dataframe(data):
            self._columns = _from_dataframe(data)
            return
        if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype != object:
            names = (
                list(columns)
                if columns is not None
                else [f"col{i}" for i in range(data.shape[1])]
            )
            if len(names) != data.shape[1]:
                raise ValueError(
                    f"Table: {len(names)} column names for an array of {data.shape[1]} columns"
                )
            for i, name in enumerate(names):
                self._add(str(name), data[:, i])
            return
        names = [str(c) for c in columns] if columns is not None else None
        rows_list = [list(r) if not isinstance(r, list) else r for r in (data or [])]
        if names is None:
            width = len(rows_list[0]) if rows_list else 0
            names = [f"col{i}" for i in range(width)]
        for name in names:
            self._add(name, [])
        for index, row in enumerate(rows_list):
            self._check_row_length(row, index)
        for i, name in enumerate(names):
            self._columns[name] = [row[i] for row in rows_list]

    # ---- W&B methods ----

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    @property
    def data(self) -> list[list[Any]]:
        """The rows as lists (built on demand; prefer ``get_column`` for large tables)."""
        cols = [self.get_column(name) for name in self._columns]
        return [list(row) for row in zip(*cols, strict=True)]

    def __len__(self) -> int:
        for column in self._columns.values():
            return len(column)
        return 0

    def add_data(self, *data: Any) -> None:
        """Appends one row: one value per column."""
        self._check_row_length(data, len(self))
        for name, value in zip(list(self._columns), data, strict=True):
            column = self._columns[name]
            if not isinstance(column, list):
                column = self.get_column(name)
                self._columns[name] = column
            column.append(value)

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Adds a column; ``data`` may be a list, a 1-D array, a 2-D array (one embedding per row),
        a pandas/polars Series or Arrow array."""
        name = str(name)
        if name in self._columns:
            raise ValueError(f"Table.add_column: column {name!r} already exists")
        column = _as_column(data)
        if self._columns and len(column) != len(self):
            raise ValueError(
                f"Table.add_column: column {name!r} has {len(column)} rows, the table has {len(self)}"
            )
        self._columns[name] = column

    add_col = add_column

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column ``name`` as a list (or a numpy array with ``convert_to="numpy"``)."""
        if name not in self._columns:
            raise ValueError(
                f"Table.get_column: no column {name!r}; the columns are {self.columns}"
            )
        column = self._columns[name]
        if convert_to == "numpy":
            if isinstance(column, np.ndarray):
                return column
            if isinstance(column, (pa.Array, pa.ChunkedArray)):
                return np.asarray(
                    column.to_pylist(), dtype=object if _is_listish(column) else None
                )
            return np.array(column)
        if isinstance(column, np.ndarray):
            return list(column) if column.ndim == 2 else column.tolist()
        if isinstance(column, (pa.Array, pa.ChunkedArray)):
            return column.to_pylist()
        return list(column)

    def get_index(self) -> list[int]:
        return list(range(len(self)))

    def add_computed_columns(
        self, fn: Callable[[int, dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Adds the columns ``fn(ndx, row)`` returns (a dict per row; ``row`` maps column names to
        values), as ``wandb.Table.add_computed_columns``. The table is unchanged if ``fn`` fails."""
        names = self.columns
        values = [self.get_column(n) for n in names]
        new: dict[str, list[Any]] = {}
        for ndx in range(len(self)):
            row = {n: v[ndx] for n, v in zip(names, values, strict=True)}
            try:
                result = fn(ndx, row)
            except Exception as e:
                raise ValueError(
                    f"Table.add_computed_columns: the function raised {type(e).__name__}: {e} "
                    f"at row {ndx}"
                ) from e
            if not isinstance(result, dict):
                raise TypeError(
                    f"Table.add_computed_columns: row {ndx}: the function returned "
                    f"{type(result).__name__}, expected a dict of new column values"
                )
            if ndx == 0:
                new = {str(k): [] for k in result}
                for k in new:
                    if k in self._columns:
                        raise ValueError(
                            f"Table.add_computed_columns: column {k!r} already exists (row 0)"
                        )
            elif set(map(str, result)) != set(new):
                raise ValueError(
                    f"Table.add_computed_columns: row {ndx} returned columns {sorted(map(str, result))}, "
                    f"row 0 returned {sorted(new)}"
                )
            for k, v in result.items():
                new[str(k)].append(v)
        self._columns.update(new)

    # ---- conversion ----

    def to_arrow(self) -> tuple[pa.Table, list[tuple[bytes, str]]]:
        """The table as Arrow plus the media its image columns refer to. Raises ``TypeError`` /
        ``ValueError`` naming the column and row for cells that cannot be stored; the Rust side
        then checks vectors and numbers (ragged, NaN, infinity) the same way."""
        arrays = []
        fields = []
        media: dict[str, tuple[bytes, str]] = {}
        for name, column in self._columns.items():
            array, is_image = _column_to_arrow(name, column, media)
            arrays.append(array)
            fields.append(
                pa.field(
                    name, array.type, metadata=IMAGE_METADATA if is_image else None
                )
            )
            captions = _captions(name, column, self._columns) if is_image else None
            if captions is not None:
                arrays.append(captions)
                fields.append(pa.field(caption_column(name), pa.string()))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), list(
            media.values()
        )

    def _add(self, name: str, column: Column) -> None:
        if name in self._columns:
            raise ValueError(
                f"Table: column name {name!r} appears twice; names must be unique"
            )
        self._columns[name] = column

    def _check_row_length(self, row: Sequence[Any], index: int) -> None:
        if len(row) != len(self._columns):
            raise ValueError(
                f"Table: row {index} has {len(row)} values, expected {len(self._columns)} "
                f"(one per column: {self.columns})"
            )

    def __repr__(self) -> str:
        return f"Table({len(self)} rows, columns={self.columns})"


def _is_dataframe(obj: Any) -> bool:
    module = type(obj).__module__
    return (
        _in_package(module, "pandas")
        or _in_package(module, "polars")
        or isinstance(obj, (pa.Table, pa.RecordBatch))
        or hasattr(obj, "__arrow_c_stream__")
    )


def _is_listish(column: pa.Array | pa.ChunkedArray) -> bool:
    return (
        pa.types.is_list(column.type)
        or pa.types.is_large_list(column.type)
        or pa.types.is_fixed_size_list(column.type)
    )


def _in_package(module: str, package: str) -> bool:
    # pandas and polars report public classes either as "pandas" or "pandas.core.frame".
    return module == package or module.startswith(package + ".")


def _from_dataframe(df: Any) -> dict[str, Column]:
    module = type(df).__module__
    if _in_package(module, "pandas"):
        out: dict[str, Column] = {}
        for name in df.columns:
            key = str(name)
            if key in out:
                raise ValueError(
                    f"Table: column name {key!r} appears twice; names must be unique"
                )
            out[key] = _as_column(df[name])
        return out
    if _in_package(module, "polars") and any(str(t) == "Object" for t in df.dtypes):
        return {str(name): df[name].to_list() for name in df.columns}
    if isinstance(df, pa.RecordBatch):
        df = pa.Table.from_batches([df])
    table = df if isinstance(df, pa.Table) else pa.table(df)
    out = {}
    for i, name in enumerate(table.column_names):
        # A dict would keep only the last of two equal names: refuse rather than drop a column.
        if name in out:
            raise ValueError(
                f"Table: column name {name!r} appears twice (columns {table.column_names.index(name)} "
                f"and {i}); names must be unique"
            )
        out[name] = table.column(i)
    return out


def _as_column(data: Any) -> Column:
    if isinstance(data, (pa.Array, pa.ChunkedArray)):
        return data
    module = type(data).__module__
    if _in_package(module, "pandas"):
        if data.dtype == object:
            return list(data)
        return pa.array(data)
    if _in_package(module, "polars"):
        if str(data.dtype) == "Object":
            return data.to_list()
        return (
            pa.chunked_array(data.to_arrow())
            if hasattr(data, "to_arrow")
            else list(data)
        )
    if isinstance(data, np.ndarray):
        if data.dtype == object or data.ndim == 0:
            return list(data.reshape(-1)) if data.ndim != 0 else [data.item()]
        if data.ndim > 2:
            raise ValueError(
                f"expected a 1-D array (one value per row) or 2-D array (one vector per row), "
                f"got shape {data.shape}"
            )
        return data
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        return list(data)
    raise TypeError(
        f"expected a list or array of column values, got {type(data).__name__}"
    )


def _kind(value: Any) -> str | None:
    """The kind of one cell: what it can be stored as."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Image):
        return "image"
    if isinstance(value, np.ndarray):
        return "vector" if value.ndim == 1 else None
    if isinstance(value, (list, tuple)):
        return "vector"
    return None


_KIND_WORDS = {
    "bool": "a bool",
    "int": "a number",
    "float": "a number",
    "str": "a string",
    "image": "an Image",
    "vector": "a vector (list or 1-D array of numbers)",
}


def _column_to_arrow(
    name: str, column: Column, media: dict[str, tuple[bytes, str]]
) -> tuple[pa.Array | pa.ChunkedArray, bool]:
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column, False
    if isinstance(column, np.ndarray):
        if column.ndim == 2:
            values = np.ascontiguousarray(column, dtype=np.float32).reshape(-1)
            return pa.FixedSizeListArray.from_arrays(
                pa.array(values), column.shape[1]
            ), False
        if column.dtype.kind in "biuf":
            return pa.array(column), False
        if column.dtype.kind in "US":
            return pa.array(column.astype(str).tolist(), pa.string()), False
        raise TypeError(f"column {name!r}: numpy dtype {column.dtype} is not supported")

    first_kind: str | None = None
    first_row = -1
    for row, value in enumerate(column):
        kind = _kind(value)
        if kind is None and value is not None:
            raise TypeError(
                f"column {name!r}, row {row}: a cell of type {type(value).__name__} is not "
                "supported; expected a number, bool, string, Image, or list/1-D array of numbers"
            )
        if kind is None:
            continue
        if first_kind is None:
            first_kind, first_row = kind, row
        elif kind != first_kind and {kind, first_kind} != {"int", "float"}:
            raise TypeError(
                f"column {name!r}, row {row}: found {_KIND_WORDS[kind]} ({value!r:.40}), expected "
                f"{_KIND_WORDS[first_kind]} like row {first_row}"
            )
    if first_kind == "image":
        hashes = []
        for value in column:
            if value is None:
                hashes.append(None)
            else:
                hashes.append(value.hash)
                media.setdefault(value.hash, (value.to_bytes(), value.mime))
        return pa.array(hashes, pa.string()), True
    if first_kind == "vector":
        return _vectors(name, column), False
    if first_kind == "float" or (first_kind == "int" and _has_float(column)):
        return pa.array(column, pa.float64()), False
    if first_kind == "int":
        try:
            return pa.array(column, pa.int64()), False
        except (OverflowError, pa.ArrowInvalid):
            return pa.array(column, pa.float64()), False
    if first_kind == "bool":
        return pa.array(
            [None if v is None else bool(v) for v in column], pa.bool_()
        ), False
    if first_kind == "str":
        return pa.array(column, pa.string()), False
    raise TypeError(
        f"column {name!r}: every cell is empty; expected at least one value"
    )


def caption_column(image_column: str) -> str:
    """The text column that holds the captions of ``image_column``'s images."""
    return f"{image_column}_caption"


def _captions(
    name: str, column: list[Any], columns: dict[str, Column]
) -> pa.Array | None:
    """The captions of an image column as a text column (null where an image has none), or
    ``None`` when no image of the column has one. The table model has no per-cell annotations, so
    a caption is its own column: searchable and shown like any text column."""
    captions = [None if image is None else image.caption for image in column]
    if all(c is None for c in captions):
        return None
    target = caption_column(name)
    if target in columns:
        raise ValueError(
            f"column {name!r}: its images have captions, which are stored in a column "
            f"{target!r}, but the table already has a column of that name; rename it"
        )
    return pa.array(captions, pa.string())


def _has_float(column: list[Any]) -> bool:
    return any(
        isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)
        for v in column
    )


def _vectors(name: str, column: list[Any]) -> pa.Array:
    """Vector cells as one Arrow list column. Equal lengths become one float32 block (no Python
    loop over values); ragged rows go to Rust as a list column, whose check names the row."""
    for row, value in enumerate(column):
        if value is None:
            raise ValueError(
                f"column {name!r}, row {row}: missing vector; every row of an embedding column "
                "needs one"
            )
    try:
        block = np.asarray(column, dtype=np.float32)
    except (ValueError, TypeError):
        block = None
    if block is not None and block.ndim == 2 and block.shape[1] > 0:
        return pa.FixedSizeListArray.from_arrays(
            pa.array(block.reshape(-1)), block.shape[1]
        )
    cells = []
    for row, value in enumerate(column):
        try:
            cell = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise TypeError(
                f"column {name!r}, row {row}: the vector holds values that are not numbers ({e})"
            ) from e
        if cell.ndim != 1:
            raise TypeError(
                f"column {name!r}, row {row}: expected a flat vector of numbers, got shape {cell.shape}"
            )
        cells.append(cell)
    return pa.array(cells, pa.list_(pa.float64()))
