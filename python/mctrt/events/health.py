"""CameraHealth: per-camera health events in live runs, debounced.

A camera is `offline` when no frame of it was processed for offline_after_s, `slow` when fewer than
min_fps of its frames a second were processed over the last window_s, and `ok` otherwise. A change
is reported (camera_offline, camera_slow, camera_ok) only once the new condition has lasted
debounce_s, so a hiccup raises nothing and a flapping camera raises one event, not dozens. Every
camera starts `ok`: a camera that never delivers a frame goes offline after offline_after_s plus the
debounce. The rate is judged only while frames come (a camera silent for debounce_s is on its way
offline, not slow: it keeps its reported condition until it is offline or frames come again) and
over frames since the last such silence (a camera back from an outage is ok, not slow while its
window refills): one outage is two events, offline and ok. A file that ended is not watched: its
end is no outage.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from mctrt.config import CameraHealthConfig

OK, OFFLINE, SLOW = "ok", "offline", "slow"
_EVENT = {OK: "camera_ok", OFFLINE: "camera_offline", SLOW: "camera_slow"}


@dataclass
class _Camera:
    started: float
    last_frame: float | None = None
    frames: deque = field(default_factory=deque)  # times of the frames processed within window_s
    measured_since: float | None = None  # the first frame after the last silence of debounce_s (or the start)
    reported: str = OK
    pending: str | None = None  # a condition waiting out the debounce, since pending_since
    pending_since: float = 0.0

    def silent_for(self, now: float) -> float:
        """Seconds since its last frame (since the start, before any)."""
        return now - (self.last_frame if self.last_frame is not None else self.started)


class CameraHealth:
    """Feed update() regularly (every step, and while no frame comes) with the wall-clock time and the
    cameras whose frames were just processed; it returns the health events that became due."""

    def __init__(self, config: CameraHealthConfig, camera_ids: list[str], now: float) -> None:
        self.config = config
        self._cameras = {cam: _Camera(started=now) for cam in camera_ids}

    def state(self, camera_id: str) -> str:
        """The last reported condition of a camera: ok, offline or slow."""
        return self._cameras[camera_id].reported

    def update(self, now: float, processed: list[str], reasons: dict[str, str] | None = None,
               ended: set[str] | frozenset[str] = frozenset()) -> list[dict]:
        """processed: camera_ids with a frame processed now; reasons: what each camera's reader says
        (e.g. why it is reconnecting), copied into offline events; ended: cameras whose file ended,
        not judged while they stay so (a change pending for them is dropped)."""
        events = []
        for cam in processed:
            state = self._cameras[cam]
            if state.silent_for(now) >= self.config.debounce_s:
                state.measured_since = now  # back after a silence: the rate is measured afresh
            state.last_frame = now
            state.frames.append(now)
        for cam, state in self._cameras.items():
            while state.frames and now - state.frames[0] > self.config.window_s:
                state.frames.popleft()
            if cam in ended:
                state.pending = None
                continue
            condition, fps = self._condition(state, now)
            if condition == state.reported:
                state.pending = None
                continue
            if condition != state.pending:
                state.pending, state.pending_since = condition, now
            if now - state.pending_since >= self.config.debounce_s:
                state.reported, state.pending = condition, None
                event = {"type": _EVENT[condition], "time": now, "camera_id": cam, "global_id": None,
                         "track_id": None, "frame": None, "since": state.pending_since, "fps": round(fps, 2)}
                if condition == OFFLINE and reasons and reasons.get(cam):
                    event["reason"] = reasons[cam]
                events.append(event)
        return events

    def _condition(self, state: _Camera, now: float) -> tuple[str, float]:
        """The camera's condition now and its processed frame rate over the window."""
        since = state.started if state.measured_since is None else state.measured_since
        observed = min(self.config.window_s, now - since)
        fps = len(state.frames) / observed if observed > 0 else 0.0
        silent_for = state.silent_for(now)
        if silent_for >= self.config.offline_after_s:
            return OFFLINE, fps
        if silent_for >= self.config.debounce_s:  # on its way offline: a slow camera that died is not ok
            return state.reported, fps
        judged = now - since >= self.config.window_s
        if self.config.min_fps is not None and judged and fps < self.config.min_fps:
            return SLOW, fps
        return OK, fps
