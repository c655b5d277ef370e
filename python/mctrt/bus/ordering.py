"""StepOrderer: a central's camera steps, arriving from many camera streams in any interleaving,
released as scene steps in capture-time order.

Each camera's stream is in order by itself; across cameras nothing is. A camera step is released once
the watermark has passed its capture time. The watermark is the oldest of the cameras' newest capture
times (every camera has sent something at least that new), so no camera that is still sending is
overtaken. Live, a camera that falls behind (a slow or dead worker) is not waited for longer than
`lateness_s`: the watermark is at least (newest time seen, or the wall clock) - lateness_s; but never past
the newest step of a camera whose stream still holds more to read (a backlog, as after a central's
restart: read in batches, it is behind only in the reading). A step that arrives after the scene has
moved past its time is late: it is released at once (never dropped) and counted. Offline, nothing is late: the orderer waits for every camera until its end marker.

Released steps are grouped: once the oldest head is due, the heads of the cameras whose capture times
lie within `window_s` of it make one scene step (at most one per camera), like the frames a single
process reads together.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from mctrt.bus.messages import END, CameraStep

T = TypeVar("T")  # whatever the transport needs back to acknowledge a step


class StepOrderer(Generic[T]):
    """See the module docstring.

    Args:
        camera_ids: the cameras to wait for.
        window_s: capture times within this of each other are one scene step.
        lateness_s: live: the longest wait for a camera that is behind; None offline (wait for all).
    """

    def __init__(self, camera_ids: list[str], window_s: float, lateness_s: float | None) -> None:
        self.window_s = window_s
        self.lateness_s = lateness_s
        self._queues: dict[str, deque[tuple[CameraStep, T]]] = {cam: deque() for cam in camera_ids}
        self._newest: dict[str, float | None] = dict.fromkeys(camera_ids)  # per camera, the newest time received
        self.ended: set[str] = set()
        self.released_until = float("-inf")  # capture time of the newest step released
        self.late = 0  # steps released after the scene had moved past their capture time
        self.ends: list[tuple[CameraStep, T]] = []  # end markers, for the transport to acknowledge
        self.backlogged: set[str] = set()  # cameras whose streams hold more than was read (set by the reader)

    def add(self, step: CameraStep, token: T) -> None:
        """A camera step (or end marker) as it arrived."""
        if step.camera_id not in self._queues:
            raise KeyError(f"a step from camera {step.camera_id!r}, which is not among {sorted(self._queues)}")
        if step.kind == END:
            self.ended.add(step.camera_id)
            self.ends.append((step, token))
            return
        self.ended.discard(step.camera_id)  # a worker started again after its end
        self._queues[step.camera_id].append((step, token))
        newest = self._newest[step.camera_id]
        self._newest[step.camera_id] = step.time_s if newest is None else max(newest, step.time_s)

    def watermark(self, now_s: float | None = None) -> float:
        """Capture times up to this may be released (now_s: the wall clock, live only)."""
        waiting = [t for cam, t in self._newest.items() if cam not in self.ended]
        mark = float("inf") if not waiting else (float("-inf") if None in waiting else min(waiting))
        if self.lateness_s is not None:
            seen = [t for t in self._newest.values() if t is not None]
            newest = max(seen + ([now_s] if now_s is not None else []), default=float("-inf"))
            mark = max(mark, newest - self.lateness_s)
            behind = [self._newest[cam] for cam in self.backlogged if cam not in self.ended]
            mark = min([mark] + [t for t in behind if t is not None])
        return mark

    def ready(self, now_s: float | None = None) -> Iterator[list[tuple[CameraStep, T]]]:
        """The scene steps that may be processed now, oldest first; each leaves the orderer only as it
        is taken (a caller that stops taking leaves the rest queued)."""
        mark = self.watermark(now_s)
        while True:
            heads = [q[0] for q in self._queues.values() if q]
            if not heads:
                return
            first = min(step.time_s for step, _ in heads)
            if first > mark:
                return
            group = [(s, t) for s, t in heads if s.time_s <= first + self.window_s]
            for step, _ in group:
                self._queues[step.camera_id].popleft()
                if step.time_s < self.released_until:
                    self.late += 1
            self.released_until = max(self.released_until, max(s.time_s for s, _ in group))
            yield group

    @property
    def done(self) -> bool:
        """Every camera has ended and every step has been released."""
        return len(self.ended) == len(self._queues) and not any(self._queues.values())

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())
