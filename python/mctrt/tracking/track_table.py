"""TrackTable: per-track state of one camera as numpy columns, one row per live track, so that a
frame's tracks are read and written with array operations instead of a loop over objects."""

from __future__ import annotations

import numpy as np


class TrackTable:
    """Columns of per-track values (name -> the value a new track starts with), a row per track ID.

    Rows are found for a frame's IDs with rows(); an ID seen for the first time gets a fresh row with
    every column at its start value. release() frees the rows of tracks the tracker removed.

    >>> table = TrackTable({"last_embedded": -1})
    >>> rows = table.rows(np.array([3, 7]))
    >>> table["last_embedded"][rows] = 10
    """

    def __init__(self, columns: dict[str, float | int | bool], capacity: int = 16) -> None:
        self._start = dict(columns)
        self._columns = {name: np.full(capacity, value, dtype=np.asarray(value).dtype) for name, value in columns.items()}
        self._row_of: dict[int, int] = {}
        self._free = list(range(capacity - 1, -1, -1))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._row_of

    def rows(self, track_ids: np.ndarray) -> np.ndarray:
        """(M,) int64 rows of these IDs, making rows for new ones."""
        out = np.empty(len(track_ids), np.int64)
        row_of = self._row_of
        for i, tid in enumerate(track_ids.tolist()):
            row = row_of.get(tid)
            if row is None:
                row = row_of[tid] = self._new_row()
            out[i] = row
        return out

    def release(self, track_ids) -> None:
        """Forget these tracks (IDs not in the table are ignored)."""
        for tid in np.asarray(track_ids).tolist():
            row = self._row_of.pop(tid, None)
            if row is not None:
                self._free.append(row)

    def _new_row(self) -> int:
        if not self._free:
            size = len(next(iter(self._columns.values()))) if self._columns else 0
            for name, column in self._columns.items():
                grown = np.full(max(2 * size, 16), self._start[name], dtype=column.dtype)
                grown[:size] = column
                self._columns[name] = grown
            self._free = list(range(max(2 * size, 16) - 1, size - 1, -1))
        row = self._free.pop()
        for name, column in self._columns.items():
            column[row] = self._start[name]
        return row
