"""ReidScheduler: which tracks get a re-ID embedding in this step, and which have waited long enough
for a global ID without one.

A track is embedded when it is new and then every `every_n_frames` decoded frames, but only when its
box can describe a person: tall and wide enough, confident, and clear of the image border by
`border_margin_px`. A track that has not passed those gates within `max_wait_frames` of its first
frame is told to stop waiting (it gets an identity without appearance). Counting is in the camera's
decoded frame numbers, so dropped frames count as time passing. State per track lives in a
TrackTable per camera and is freed when the tracker removes the track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mctrt.boxes import clear_of_border
from mctrt.config import ReidScheduleConfig
from mctrt.tracking.track_table import TrackTable
from mctrt.types import Tracks


@dataclass
class ReidPlan:
    """One camera's plan for this step, M rows aligned with its Tracks.

    Attributes:
        due: (M,) bool, embed this track now.
        give_up: (M,) bool, this track has waited long enough for an ID without an embedding.
    """

    due: np.ndarray
    give_up: np.ndarray


class ReidScheduler:
    """Re-ID scheduling for many cameras (see the module docstring).

    Args:
        config: the schedule's settings.
        enabled: False when there is no re-ID model: nothing is due and nobody waits.
    """

    def __init__(self, config: ReidScheduleConfig | None = None, enabled: bool = True) -> None:
        self.config = config or ReidScheduleConfig()
        self.enabled = enabled
        self._tables: dict[str, TrackTable] = {}

    def plan(self, camera_id: str, frame_index: int, image_size: tuple[int, int], tracks: Tracks) -> ReidPlan:
        """What to do with one camera's tracks in its frame `frame_index` of size (width, height)."""
        table = self._tables.get(camera_id)
        if table is None:
            table = self._tables[camera_id] = TrackTable({"first_frame": -1, "last_embedded": -1})
        table.release(tracks.removed_id)
        rows = table.rows(tracks.track_id)
        first = table["first_frame"]
        first[rows] = np.where(first[rows] < 0, frame_index, first[rows])
        if not self.enabled:
            m = len(tracks)
            return ReidPlan(np.zeros(m, bool), np.ones(m, bool))
        cfg = self.config
        x0, y0, x1, y1 = tracks.xyxy.T
        good = ((y1 - y0 >= cfg.min_box_height) & (x1 - x0 >= cfg.min_box_width) & (tracks.score >= cfg.min_score)
                & clear_of_border(tracks.xyxy, image_size, cfg.border_margin_px))
        last = table["last_embedded"][rows]
        due = good & ((last < 0) | (frame_index - last >= cfg.every_n_frames))
        table["last_embedded"][rows[due]] = frame_index
        give_up = frame_index - first[rows] >= cfg.max_wait_frames
        return ReidPlan(due, give_up)
