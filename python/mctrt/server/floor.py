"""The dashboard's floor: the map (/api/floor: cameras, their views, floor zones and lines, the plan)
and the people on it with their recent trails (/api/positions, /ws/positions). Positions and trails
are in floor metres, times in scene seconds."""

from __future__ import annotations

from collections import deque

from mctrt.config import PipelineConfig
from mctrt.geometry.layout import floor_layout

PLAN_URL = "/api/floor/plan"
_DECIMALS = 3  # millimetres: finer than any calibration, and it keeps the messages short


def floor_map(config: PipelineConfig, image_sizes: dict[str, tuple[int, int]]) -> dict:
    """The body of /api/floor: the floor layout and, when server.floor_plan is set, how to place its image."""
    plan = config.server.floor_plan
    placement = None if plan is None else {"url": PLAN_URL, "origin_px": list(plan.origin_px),
                                           "pixels_per_m": plan.pixels_per_m, "y_axis": plan.y_axis}
    return {**floor_layout(config, image_sizes), "plan": placement}


class PeopleOnFloor:
    """The people placed on the floor at the newest step, each with the positions they had over the
    last trail_s seconds of scene time. Used on the event loop only."""

    def __init__(self, trail_s: float) -> None:
        self.trail_s = trail_s
        self.time_s: float | None = None
        self.people: list[dict] = []
        self._trails: dict[int, deque[tuple[float, float, float]]] = {}  # global ID -> (time_s, x, y), oldest first

    def update(self, step_time_s: float, people: list[dict]) -> None:
        """The associator's floor_positions() after the step at step_time_s (scene seconds)."""
        self.time_s, self.people = step_time_s, people
        for person in people:
            trail = self._trails.setdefault(person["global_id"], deque())
            if not trail or person["time"] > trail[-1][0]:  # a person not re-placed this step adds no point
                trail.append((person["time"], person["x"], person["y"]))
        oldest_s = step_time_s - self.trail_s
        for gid in list(self._trails):  # the trails of people who have gone age out too
            trail = self._trails[gid]
            while trail and trail[0][0] < oldest_s:
                trail.popleft()
            if not trail:
                del self._trails[gid]

    def body(self) -> dict:
        """The body of /api/positions (and of a /ws/positions message, with its type)."""
        people = []
        for person in self.people:
            trail = self._trails.get(person["global_id"], ())
            people.append({
                "global_id": int(person["global_id"]), "cameras": list(person["cameras"]),
                "time": float(person["time"]),
                **{key: round(person[key], _DECIMALS) for key in ("x", "y", "vx", "vy")},
                "trail": [[round(x, _DECIMALS), round(y, _DECIMALS)] for _, x, y in trail]})
        return {"time": self.time_s, "people": people}
