"""TrackTable: per-track state of one camera as numpy columns, one row per live track, so that a
frame's tracks are read and written with array operations instead of a loop over objects."""

from __future__ import annotations

import numpy as np

from mctrt._native import core


class TrackTable:
    """Columns of per-track values (name -> the value a new track starts with), a row per track ID.

    Rows are found for a frame's IDs with rows() (core.SlotMap, in C++); an ID seen for the first time
    gets a fresh row with every column at its start value. release() frees the rows of tracks the
    tracker removed.

    >>> table = TrackTable({"last_embedded": -1})
    >>> rows = table.rows(np.array([3, 7]))
    >>> table["last_embedded"][rows] = 10
    """

    def __init__(self, columns: dict[str, float | int | bool], capacity: int = 16) -> None:
        self._start = dict(columns)
        self._columns = {name: np.full(capacity, value, dtype=np.asarray(value).dtype) for name, value in columns.items()}
        self._slots = core.SlotMap()  # track ID -> row

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._slots

    def rows(self, track_ids: np.ndarray) -> np.ndarray:
        """(M,) int64 rows of these IDs, making rows for new ones."""
        rows, fresh = self._slots.find_or_add(np.asarray(track_ids, np.int64))
        size = len(next(iter(self._columns.values()))) if self._columns else 0
        if self._slots.slots_used > size:
            grown = max(2 * size, self._slots.slots_used, 16)
            for name, column in self._columns.items():
                self._columns[name] = np.concatenate([column, np.full(grown - size, self._start[name], column.dtype)])
        if fresh.any():
            for name, column in self._columns.items():
                column[rows[fresh]] = self._start[name]
        return rows

    def release(self, track_ids) -> None:
        """Forget these tracks (IDs not in the table are ignored)."""
        self._slots.release(np.asarray(track_ids, np.int64).reshape(-1))
