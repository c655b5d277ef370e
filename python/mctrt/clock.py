"""One clock for the times of live frames, health and the bus: Unix seconds that never step.

Capture times are compared across cameras, processes and machines, so they must be wall time; but
the trackers, the floor and the health checks read a step of the system clock (NTP correcting it,
someone setting it) as a gap or as time going back. So a process reads the wall clock once, at
import, and counts on from it with the monotonic clock (which NTP slews, so rates stay true, but
never steps). Processes started apart agree as well as their wall clocks did at their starts; a
process started while its clock was wrong stays that far off until it is restarted.
"""

from __future__ import annotations

import time

_WALL_S, _MONOTONIC_S = time.time(), time.monotonic()


def wall_at(monotonic_s: float) -> float:
    """The Unix time of a time.monotonic() reading, on this process's clock."""
    return _WALL_S + (monotonic_s - _MONOTONIC_S)


def now() -> float:
    """Unix seconds now, on this process's clock (see the module docstring)."""
    return wall_at(time.monotonic())


class StreamTimes:
    """A stream's capture times from its own timestamps (RTP's, as FFmpeg gives them; a V4L2 webcam's
    buffer stamps), on this clock.

    The time of a read jitters with the network and the machine's load, and frames the stream had
    buffered arrive together (at a connect: a burst of seconds of frames within milliseconds); the
    camera's timestamps are regular. A frame's time is its timestamp plus the smallest delay seen so
    far (read time minus timestamp), which rises by LEAK_S_PER_S while unmet (a camera clock slower
    than ours), so times are never in the future, never go back, and carry no read's jitter (the
    frames of a burst, from which the delay is learnt, keep their reads' times). A frame is never
    placed more than MAX_LAG_S before its read (frames that come slower than their timestamps say,
    invented ones, or a file that decodes slower than it plays): the delay then catches up, as if
    frames had been dropped; a live central counts a camera further behind (bus.lateness_s 0.5 s)
    as late. A timestamp that goes back or jumps by over MAX_JUMP_S (the stream restarted) starts over
    from the read's time; a frame without one has the read's time.
    """

    LEAK_S_PER_S = 1e-3
    MAX_JUMP_S = 10.0
    MAX_LAG_S = 0.25

    def __init__(self) -> None:
        self._offset: float | None = None  # wall time minus timestamp, its smallest lately
        self._last: tuple[float, float] = (0.0, 0.0)  # the last (timestamp, wall time)

    def time_of(self, timestamp_s: float | None, wall_s: float) -> float:
        if timestamp_s is None:
            self._offset = None
            return wall_s
        last_stamp, last_wall = self._last
        self._last = (timestamp_s, wall_s)
        if self._offset is None or not 0.0 < timestamp_s - last_stamp <= self.MAX_JUMP_S:
            self._offset = wall_s - timestamp_s
        else:
            self._offset = min(self._offset + self.LEAK_S_PER_S * (wall_s - last_wall), wall_s - timestamp_s)
            self._offset = max(self._offset, wall_s - timestamp_s - self.MAX_LAG_S)
        return timestamp_s + self._offset
