"""EventEngine: turns each camera's people (global ID, track ID, box) per frame into events.

State is kept per (person, camera), not per track, so a person whose track flickers or is replaced
by a new one in the same camera stays one visit: no second entry, no early exit. Every position is
the foot point (bottom centre of the box), where a person stands on the floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mctrt.config import EventsConfig, LineConfig, ZoneConfig

EVENT_TYPES = ("entry", "exit", "first_seen", "last_seen", "dwell", "line_cross", "zone_enter", "zone_leave",
               "zone_dwell", "id_corrected", "camera_offline", "camera_slow", "camera_ok")


def corrected_id(global_id: int, corrections: dict[int, int]) -> int:
    """The ID a person has after `id_corrected` events, given as {old_global_id: global_id}: chains
    followed (a loop, which no run makes, stops where it closes)."""
    seen = set()
    while global_id in corrections and global_id not in seen:
        seen.add(global_id)
        global_id = corrections[global_id]
    return global_id


@dataclass
class _Visit:
    """A person's stay in one camera (or one zone)."""

    entered: float
    last_seen: float
    track_id: int
    frame: int
    dwell_reported: bool = False


@dataclass
class _Person:
    first_seen: float
    last_seen: float
    cameras: set[str] = field(default_factory=set)


def _event(kind: str, time: float, global_id: int | None, camera_id: str | None = None, track_id: int | None = None,
           frame: int | None = None, **details) -> dict:
    return {"type": kind, "time": float(time), "camera_id": camera_id,
            "global_id": None if global_id is None else int(global_id),
            "track_id": None if track_id is None else int(track_id), "frame": None if frame is None else int(frame),
            **details}


def _at(point: tuple[float, float] | None) -> dict:
    """The floor position (x, y metres) an event happened at, for floor lines and zones."""
    return {} if point is None else {"x": round(point[0], 3), "y": round(point[1], 3)}


def _line_frame(line: LineConfig, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """For points (N, 2), in the line's units (pixels, or metres on the floor): how far along a->b from
    a, the signed distance from the line through a and b (+ right of a->b as drawn on the image, or on
    a map of the floor with y up), and the segment's length."""
    (ax, ay), (bx, by) = line.points_m if line.on_floor else line.points
    dx, dy = bx - ax, by - ay
    length = float(np.hypot(dx, dy)) or 1.0
    px, py = points[:, 0] - ax, points[:, 1] - ay
    # Positive is to the right where y points down (images); on the floor y points up, so it flips.
    distance = (dx * py - dy * px) / length * (-1.0 if line.on_floor else 1.0)
    return (px * dx + py * dy) / length, distance, length


def _hysteresis(line: LineConfig) -> float:
    return line.hysteresis_m if line.on_floor else line.hysteresis_px


def line_side(line: LineConfig, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points (N, 2): (N,) int, +1 right of the line through a->b, -1 left, 0 within its hysteresis;
    and (N,) bool, beyond the segment's ends by more than the hysteresis (where a side alone says
    nothing of crossing the segment)."""
    along, distance, length = _line_frame(line, points)
    band = _hysteresis(line)
    side = np.where(np.abs(distance) > band, np.sign(distance), 0.0).astype(np.int64)
    return side, (along < -band) | (along > length + band)


def _passes_through(line: LineConfig, start, end) -> bool:
    """Whether the straight path start -> end, between points on opposite sides of the line, meets
    the segment (its ends widened by the hysteresis)."""
    along, distance, length = _line_frame(line, np.array([start, end], np.float64))
    at = along[0] + distance[0] / (distance[0] - distance[1]) * (along[1] - along[0])
    return -_hysteresis(line) <= at <= length + _hysteresis(line)


def inside_polygon(polygon: tuple[tuple[float, float], ...], points: np.ndarray) -> np.ndarray:
    """(N,) bool for points (N, 2), by the even-odd rule (ray casting to the right)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), bool)
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        if y0 != y1:
            inside ^= ((y0 > y) != (y1 > y)) & (x < x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    return inside


def distance_to_boundary(polygon: tuple[tuple[float, float], ...], points: np.ndarray) -> np.ndarray:
    """(N,) distance of points (N, 2) from the polygon's nearest edge."""
    nearest = np.full(len(points), np.inf)
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((points[:, 0] - x0) * dx + (points[:, 1] - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
        nearest = np.minimum(nearest, np.hypot(points[:, 0] - (x0 + t * dx), points[:, 1] - (y0 + t * dy)))
    return nearest


def zone_membership(zone: ZoneConfig, points: np.ndarray) -> tuple[list[bool], list[bool]]:
    """For points (N, 2): inside the zone's polygon, and inside or within its hysteresis of it (where
    someone already inside stays inside)."""
    polygon = zone.polygon_m if zone.on_floor else zone.polygon
    inside = inside_polygon(polygon, points)
    near = inside | (distance_to_boundary(polygon, points) <= (zone.hysteresis_m if zone.on_floor else zone.hysteresis_px))
    return inside.tolist(), near.tolist()


class EventEngine:
    """Events for many cameras. Feed update() once per processed camera frame, correct() when a track
    changes global ID, and finish() at the end of a run (closes every open visit). first_seen comes
    once per person; last_seen each time they have left every camera."""

    def __init__(self, config: EventsConfig | None = None) -> None:
        self.config = config or EventsConfig()
        self.visits: dict[str, dict[int, _Visit]] = {}  # camera_id -> global_id -> its visit
        self.zone_visits: dict[str, dict[int, _Visit]] = {z.name: {} for z in self.config.zones}  # zone name -> ...
        self.sides: dict[tuple[int, str], tuple[int, float, tuple]] = {}  # (global_id, line name) -> last firm side, when, where
        self.people: dict[int, _Person] = {}
        self.counts = dict.fromkeys(EVENT_TYPES, 0)
        self._lines = {}  # camera_id -> its lines; None -> the floor's
        self._zones = {}
        for line in self.config.lines:
            self._lines.setdefault(line.camera_id, []).append(line)
        for zone in self.config.zones:
            self._zones.setdefault(zone.camera_id, []).append(zone)
        self._placed: dict[int, float] = {}  # global ID -> when last placed on the floor

    def occupancy(self) -> dict[str, int]:
        """People inside each zone now."""
        return {name: len(inside) for name, inside in self.zone_visits.items()}

    def update(self, camera_id: str, time_s: float, frame: int, global_ids, track_ids, xyxy) -> list[dict]:
        """One frame of one camera: the people in it (global IDs, track IDs, (N, 4) xyxy boxes)."""
        events: list[dict] = []
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
        feet = np.c_[(xyxy[:, 0] + xyxy[:, 2]) / 2.0, xyxy[:, 3]]
        feet_at = feet.tolist()
        lines = [(line, *(a.tolist() for a in line_side(line, feet))) for line in self._lines.get(camera_id, ())]
        zones = [(zone, *zone_membership(zone, feet)) for zone in self._zones.get(camera_id, ())]
        visits = self.visits.setdefault(camera_id, {})
        threshold = self.config.dwell_threshold(camera_id)
        global_ids = np.asarray(global_ids).tolist()
        for k, (gid, tid) in enumerate(zip(global_ids, np.asarray(track_ids).tolist())):
            self._see_person(events, gid, camera_id, time_s)
            visit = visits.get(gid)
            if visit is None:
                visit = visits[gid] = _Visit(time_s, time_s, tid, frame)
                self._emit(events, _event("entry", time_s, gid, camera_id, tid, frame))
            visit.last_seen, visit.track_id, visit.frame = time_s, tid, frame
            if not visit.dwell_reported and time_s - visit.entered >= threshold:
                visit.dwell_reported = True
                self._emit(events, _event("dwell", time_s, gid, camera_id, tid, frame,
                                          duration_s=time_s - visit.entered, threshold_s=threshold))
            for line, sides, beyond in lines:
                self._cross(events, line, gid, tid, frame, time_s, sides[k], beyond[k], feet_at[k])
            for zone, inside, near in zones:
                self._zone(events, zone, gid, tid, frame, time_s, inside[k], near[k])
        present = set(global_ids)
        for gid in [g for g, v in visits.items() if g not in present and time_s - v.last_seen > self.config.exit_after_s]:
            self._leave_camera(events, gid, camera_id)
        return events

    def expire(self, time_s: float, updated: list[str]) -> list[dict]:
        """Exits from the cameras not among `updated` in this step (a camera that stopped sending, or a
        file that ended): a person unseen there for exit_after_s has left it, as update() finds for a
        camera that gives frames."""
        events: list[dict] = []
        for camera_id, visits in self.visits.items():
            if camera_id not in updated:
                for gid in [g for g, v in visits.items() if time_s - v.last_seen > self.config.exit_after_s]:
                    self._leave_camera(events, gid, camera_id)
        return events

    def update_floor(self, time_s: float, positions: list[dict]) -> list[dict]:
        """The people placed on the floor in this step (dicts with global_id, x, y in metres): floor
        zones and lines, one event per person whichever cameras see them. A person unplaced for
        exit_after_s has left every floor zone."""
        events: list[dict] = []
        points = np.array([[p["x"], p["y"]] for p in positions], np.float64).reshape(-1, 2)
        lines = [(line, *(a.tolist() for a in line_side(line, points))) for line in self._lines.get(None, ())]
        zones = [(zone, *zone_membership(zone, points)) for zone in self._zones.get(None, ())]
        for k, (p, point) in enumerate(zip(positions, points.tolist())):
            gid = int(p["global_id"])
            self._placed[gid] = time_s
            for line, sides, beyond in lines:
                self._cross(events, line, gid, None, None, time_s, sides[k], beyond[k], point, where=point)
            for zone, inside, near in zones:
                self._zone(events, zone, gid, None, None, time_s, inside[k], near[k], where=point)
        gone = [g for g, t in self._placed.items() if time_s - t > self.config.exit_after_s]
        for gid in gone:
            del self._placed[gid]
            for zone in self._zones.get(None, ()):
                visit = self.zone_visits[zone.name].get(gid)
                if visit is not None:
                    self._leave_zone(events, zone, gid, visit.last_seen)
            for line in self._lines.get(None, ()):
                self.sides.pop((gid, line.name), None)
        return events

    def correct(self, old_global_id: int, new_global_id: int, time_s: float, reason: str | None = None) -> list[dict]:
        """A track moved from old_global_id to new_global_id: an id_corrected event records the link, and
        the old person's open visits become the new one's. Where both were open in the same camera or
        zone, they merge (the earlier start stands) and the old one is closed by an exit / zone_leave
        carrying corrected_to, so that every entry still has exactly one exit."""
        events: list[dict] = []
        self._emit(events, _event("id_corrected", time_s, new_global_id, old_global_id=old_global_id, reason=reason))
        zones = {z.name: z for z in self.config.zones}
        for table in (self.zone_visits, self.visits):
            for where, visits in table.items():
                visit = visits.pop(old_global_id, None)
                if visit is None:
                    continue
                kept = visits.get(new_global_id)
                if kept is None:
                    visits[new_global_id] = visit
                    continue
                kept.entered = min(kept.entered, visit.entered)
                kept.dwell_reported |= visit.dwell_reported
                if visit.last_seen > kept.last_seen:  # the old ID's track was seen here last: it stands
                    kept.last_seen, kept.track_id, kept.frame = visit.last_seen, visit.track_id, visit.frame
                if table is self.visits:
                    self._emit(events, _event("exit", visit.last_seen, old_global_id, where, visit.track_id, visit.frame,
                                              duration_s=visit.last_seen - visit.entered, corrected_to=new_global_id))
                else:
                    zone = zones[where]
                    self._emit(events, _event("zone_leave", visit.last_seen, old_global_id, zone.camera_id,
                                              visit.track_id, visit.frame, zone=where,
                                              duration_s=visit.last_seen - visit.entered,
                                              occupancy=self.occupancy()[where], corrected_to=new_global_id))
        for (gid, line) in [k for k in self.sides if k[0] == old_global_id]:
            side = self.sides.pop((gid, line))  # the later of the two sides is where the person is
            self.sides[(new_global_id, line)] = max(side, self.sides.get((new_global_id, line), side), key=lambda s: s[1])
        if old_global_id in self._placed:
            self._placed[new_global_id] = max(self._placed.pop(old_global_id), self._placed.get(new_global_id, -np.inf))
        old = self.people.pop(old_global_id, None)  # its first_seen stays in the history
        new = self.people.get(new_global_id)
        if old is not None:
            if new is None:
                self.people[new_global_id] = old
            else:  # two first_seens, one person from now on: the old one's is closed, as its visits are
                self._emit(events, _event("last_seen", old.last_seen, old_global_id, duration_s=old.last_seen - old.first_seen,
                                          first_seen=old.first_seen, cameras=sorted(old.cameras), corrected_to=new_global_id))
                new.first_seen = min(new.first_seen, old.first_seen)
                new.last_seen = max(new.last_seen, old.last_seen)
                new.cameras |= old.cameras
        return events

    def close_unclosed(self, opened: list[dict]) -> list[dict]:
        """Exits and zone_leaves, with reason "unclosed", for visits an earlier run opened and never
        closed (EventStore.unclosed_visits: opening events with `until`), at the person's last stored
        event: so every entry keeps exactly one exit across a crash."""
        events: list[dict] = []
        for visit in opened:
            until = max(visit["until"], visit["time"])
            details = {"duration_s": until - visit["time"], "reason": "unclosed"}
            if visit["type"] == "zone_enter":
                details.update(zone=visit["zone"], occupancy=0)
            self._emit(events, _event("exit" if visit["type"] == "entry" else "zone_leave", until, visit["global_id"],
                                      visit["camera_id"], visit["track_id"], visit["frame"], **details))
        return events

    def finish(self) -> list[dict]:
        """Close every open visit (the end of a run): exits, zone leaves and last_seen events."""
        events: list[dict] = []
        for cam, visits in self.visits.items():
            for gid in list(visits):
                self._leave_camera(events, gid, cam)
        for zone in self._zones.get(None, ()):
            for gid, visit in list(self.zone_visits[zone.name].items()):
                self._leave_zone(events, zone, gid, visit.last_seen)
        self._placed.clear()
        return events

    # -- the rules ------------------------------------------------------------------------------------

    def _emit(self, events: list[dict], event: dict) -> None:
        self.counts[event["type"]] += 1
        events.append(event)

    def _see_person(self, events, gid: int, camera_id: str, time_s: float) -> None:
        person = self.people.get(gid)
        if person is None:
            person = self.people[gid] = _Person(time_s, time_s)
            self._emit(events, _event("first_seen", time_s, gid))
        person.last_seen = max(person.last_seen, time_s)
        person.cameras.add(camera_id)

    def _cross(self, events, line: LineConfig, gid, tid, frame, time_s, side: int, beyond: bool, point,
               where=None) -> None:
        """side, beyond: the person's line_side at point now. A crossing is a change of firm side along
        a path through the segment: seen past an end otherwise, the person is forgotten, so walking
        round an end is no crossing."""
        if side == 0 and not beyond:
            return  # inside the hysteresis band: keep the last firm side
        before = self.sides.get((gid, line.name))
        crossed = (side != 0 and before is not None and before[0] != side
                   and _passes_through(line, before[2], point))
        if beyond and not crossed:
            self.sides.pop((gid, line.name), None)
            return
        self.sides[(gid, line.name)] = (side, time_s, tuple(point))
        if crossed:
            self._emit(events, _event("line_cross", time_s, gid, line.camera_id, tid, frame, line=line.name,
                                      direction="forward" if side > 0 else "backward", **_at(where)))

    def _zone(self, events, zone: ZoneConfig, gid, tid, frame, time_s, inside: bool, near: bool, where=None) -> None:
        """inside: the polygon; near: inside or within its hysteresis (a visit goes on there)."""
        inside_now = self.zone_visits[zone.name]
        visit = inside_now.get(gid)
        if inside and visit is None:
            inside_now[gid] = visit = _Visit(time_s, time_s, tid, frame)
            self._emit(events, _event("zone_enter", time_s, gid, zone.camera_id, tid, frame, zone=zone.name,
                                      occupancy=self.occupancy()[zone.name], **_at(where)))
        elif not near and visit is not None:
            self._leave_zone(events, zone, gid, time_s, tid, frame)
            return
        if visit is None:
            return
        visit.last_seen, visit.track_id, visit.frame = time_s, tid, frame
        threshold = zone.dwell_threshold_s
        if threshold is not None and not visit.dwell_reported and time_s - visit.entered >= threshold:
            visit.dwell_reported = True
            self._emit(events, _event("zone_dwell", time_s, gid, zone.camera_id, tid, frame, zone=zone.name,
                                      duration_s=time_s - visit.entered, threshold_s=threshold,
                                      occupancy=self.occupancy()[zone.name]))

    def _leave_zone(self, events, zone: ZoneConfig, gid: int, time_s: float, tid=None, frame=None) -> None:
        visit = self.zone_visits[zone.name].pop(gid)
        self._emit(events, _event("zone_leave", time_s, gid, zone.camera_id, tid if tid is not None else visit.track_id,
                                  frame if frame is not None else visit.frame, zone=zone.name,
                                  duration_s=time_s - visit.entered, occupancy=self.occupancy()[zone.name]))

    def _leave_camera(self, events, gid: int, camera_id: str) -> None:
        visit = self.visits[camera_id].pop(gid)
        for zone in self._zones.get(camera_id, ()):
            if gid in self.zone_visits[zone.name]:
                self._leave_zone(events, zone, gid, visit.last_seen)
        for line in self._lines.get(camera_id, ()):
            self.sides.pop((gid, line.name), None)
        self._emit(events, _event("exit", visit.last_seen, gid, camera_id, visit.track_id, visit.frame,
                                  duration_s=visit.last_seen - visit.entered))
        if not any(gid in visits for visits in self.visits.values()):
            person = self.people.get(gid)
            if person is not None:
                self._emit(events, _event("last_seen", person.last_seen, gid, duration_s=person.last_seen - person.first_seen,
                                          first_seen=person.first_seen, cameras=sorted(person.cameras)))
