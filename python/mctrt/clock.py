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
