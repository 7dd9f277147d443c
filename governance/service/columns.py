"""Growable column buffers behind the service's policy tables: append and update rows in place.

The policy core takes frozen tables of numpy arrays. The service grows them one registration at a
time, so each column keeps spare capacity (doubling) and `view()` hands out slices: O(1) amortised
per row instead of copying every column on every registration.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


class GrowableTable(Generic[T]):
    """Buffers for one columnar dataclass (`NodeTable`, `ServiceTable`, `ReplicaTable`, ...)."""

    def __init__(self, template: T, initial_capacity: int = 64) -> None:
        """Take column dtypes and trailing shapes from ``template`` (an instance with 0+ rows)."""
        self._type = type(template)
        self._names = [f.name for f in dataclasses.fields(template)]  # type: ignore[arg-type]
        rows = int(getattr(template, self._names[0]).shape[0])
        capacity = max(initial_capacity, rows)
        self._columns: dict[str, np.ndarray[Any, Any]] = {}
        for name in self._names:
            source = getattr(template, name)
            buffer = np.zeros((capacity, *source.shape[1:]), dtype=source.dtype)
            buffer[:rows] = source
            self._columns[name] = buffer
        self._size = rows

    def __len__(self) -> int:
        return self._size

    def _grow(self) -> None:
        for name, column in self._columns.items():
            bigger = np.zeros((2 * column.shape[0], *column.shape[1:]), dtype=column.dtype)
            bigger[: self._size] = column[: self._size]
            self._columns[name] = bigger

    def append(self, **values: Any) -> int:
        """Add one row (every column must be given); return its row index."""
        missing = set(self._names) - set(values)
        if missing:
            raise TypeError(f"missing columns: {sorted(missing)}")
        if self._size == next(iter(self._columns.values())).shape[0]:
            self._grow()
        row = self._size
        for name, value in values.items():
            self._columns[name][row] = value
        self._size += 1
        return row

    def update(self, row: int, **values: Any) -> None:
        """Overwrite some columns of one existing row."""
        if not 0 <= row < self._size:
            raise IndexError(f"row {row} out of range 0..{self._size - 1}")
        for name, value in values.items():
            self._columns[name][row] = value

    def column(self, name: str) -> np.ndarray[Any, Any]:
        """Return a writable view of one column's live rows."""
        return self._columns[name][: self._size]

    def view(self) -> T:
        """Return the live rows as the columnar dataclass (views: copy before mutating)."""
        return self._type(**{n: c[: self._size] for n, c in self._columns.items()})

    def replace(self, table: T) -> None:
        """Adopt the rows of ``table`` (e.g. a cycle's result); the row count may not shrink."""
        rows = int(getattr(table, self._names[0]).shape[0])
        if rows < self._size:
            raise ValueError(f"a table of {rows} rows cannot replace {self._size} rows")
        while rows > next(iter(self._columns.values())).shape[0]:
            self._grow()
        for name in self._names:
            self._columns[name][:rows] = getattr(table, name)
        self._size = rows
