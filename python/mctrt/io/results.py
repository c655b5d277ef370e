"""Offline results: DIR/<camera_id>.txt (MOTChallenge rows with global IDs) and DIR/events.jsonl.

A track's rows are held until the track ends and then written with its final global ID, so a
correction (see association/gallery.py) applies to the whole track; close() sorts each file by
frame and ID.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mctrt.io.mot import result_rows, write_mot


class ResultWriter:
    def __init__(self, output_dir: str | Path, camera_ids: list[str]) -> None:
        self.dir = Path(output_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._rows: dict[tuple[str, int], list[np.ndarray]] = {}
        self._done: dict[str, list[np.ndarray]] = {cam: [] for cam in camera_ids}
        self._events = open(self.dir / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add(self, camera_id: str, frame: int, track_ids: np.ndarray, xyxy: np.ndarray, scores: np.ndarray) -> None:
        for i, tid in enumerate(track_ids.tolist()):
            self._rows.setdefault((camera_id, tid), []).append(result_rows(frame, np.zeros(1), xyxy[i : i + 1], scores[i : i + 1]))

    def end_track(self, camera_id: str, track_id: int, global_id: int | None) -> None:
        rows = self._rows.pop((camera_id, track_id), [])
        if rows and global_id is not None:
            block = np.concatenate(rows)
            block[:, 1] = global_id
            self._done[camera_id].append(block)

    def add_events(self, events: list[dict]) -> None:
        for event in events:
            self._events.write(json.dumps(event) + "\n")
        self._events.flush()

    def close(self) -> None:
        """Write every camera's file, sorted by frame then ID (call end_track for live tracks first)."""
        for cam, blocks in self._done.items():
            rows = np.concatenate(blocks) if blocks else np.empty((0, 10))
            write_mot(self.dir / f"{cam}.txt", rows[np.lexsort((rows[:, 1], rows[:, 0]))])
        self._events.close()
