"""MOTChallenge text files: detections in, tracking results out, ground truth for evaluation.

Every file is CSV with one box per row: frame (1-based), id, left, top, width, height, then
format-specific columns (score for detections and results, flags and classes for ground truth).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mctrt.boxes import tlwh_to_xyxy
from mctrt.errors import DataError

MIN_COLUMNS = 6


def read_mot(path: str | Path, what: str = "MOT file", min_columns: int = MIN_COLUMNS) -> np.ndarray:
    """All rows of a MOTChallenge CSV file as (R, C) float64, C >= min_columns; (0, 10) when empty.

    Raises DataError naming the file (and `what` it should be) when it is missing or malformed.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path} does not exist; check the path")
    if not path.is_file():
        raise DataError(f"{what} {path} is not a file; give the path of a MOTChallenge .txt file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on an empty file; empty is allowed
            rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(
            f"{what} {path} is not a MOTChallenge CSV file ({exc}); expected rows like "
            "'frame,id,left,top,width,height,score,...'"
        ) from None
    if rows.size == 0:
        return np.empty((0, 10))
    if rows.shape[1] < min_columns:
        raise DataError(
            f"{what} {path} has {rows.shape[1]} columns; it needs at least {min_columns}: "
            + ",".join(["frame", "id", "left", "top", "width", "height", "score"][:min_columns])
        )
    bad = ~np.isfinite(rows[:, :MIN_COLUMNS]).all(axis=1) | (rows[:, 0] < 1) | (rows[:, 4] < 0) | (rows[:, 5] < 0)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 1
        raise DataError(
            f"{what} {path}, line {line}: frame must be >= 1 and the box finite with width, height >= 0"
        )
    return rows


def iter_detection_frames(rows: np.ndarray, num_frames: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (frame, xyxy (N, 4) float32, scores (N,) float32) for every frame 1..num_frames in order,
    frames without rows included (N = 0). Detection rows: frame,-1,left,top,width,height,score,...
    """
    if rows.shape[1] < 7 and len(rows):
        raise DataError("detection rows need a score in column 7: frame,-1,left,top,width,height,score")
    last = int(rows[:, 0].max()) if len(rows) else 0
    num_frames = last if num_frames is None else num_frames
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    frames = rows[:, 0].astype(np.int64)
    bounds = np.searchsorted(frames, np.arange(1, num_frames + 2))
    xyxy_all = tlwh_to_xyxy(rows[:, 2:6]).astype(np.float32) if len(rows) else np.empty((0, 4), np.float32)
    scores_all = rows[:, 6].astype(np.float32) if len(rows) else np.empty(0, np.float32)
    for frame in range(1, num_frames + 1):
        lo, hi = bounds[frame - 1], bounds[frame]
        yield frame, xyxy_all[lo:hi], scores_all[lo:hi]


def result_rows(frame: int, track_id: np.ndarray, xyxy: np.ndarray, score: np.ndarray) -> np.ndarray:
    """MOTChallenge result rows (M, 10): frame,id,left,top,width,height,score,-1,-1,-1."""
    out = np.full((len(track_id), 10), -1.0)
    out[:, 0] = frame
    out[:, 1] = track_id
    out[:, 2:4] = xyxy[:, 0:2]
    out[:, 4:6] = xyxy[:, 2:4] - xyxy[:, 0:2]
    out[:, 6] = score
    return out


MOT_FORMAT = ["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%.4f", "%d", "%d", "%d"]


def csv_text(rows: np.ndarray, fmt: list[str]) -> str:
    """Rows (R, C) as CSV lines, column c formatted with fmt[c] (what np.savetxt writes, several times faster:
    the formatting is of Python floats, one string per row)."""
    line = ",".join(fmt) + "\n"
    return "".join(line % tuple(row) for row in rows.tolist())


def write_mot(path: str | Path, rows: np.ndarray) -> None:
    """Write result rows (R, 10) as MOTChallenge CSV, creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(rows.reshape(-1, 10), MOT_FORMAT), encoding="utf-8")
