"""Run-time metrics: per-stage latency percentiles, frames per second per camera, capture -> result
latency and queue drops, kept over a sliding window so they describe now, not the whole run."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

STAGES = ("detect", "track", "reid", "floor", "associate", "events", "output")


class LatencyWindow:
    """The last `size` samples (seconds) and their percentiles in milliseconds."""

    def __init__(self, size: int = 2000) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0
        self.total_s = 0.0

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)
        self.count += 1
        self.total_s += seconds

    def summary(self) -> dict:
        if not self._samples:
            return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "count": 0}
        p50, p95, p99 = np.percentile(np.fromiter(self._samples, float), [50, 95, 99]) * 1e3
        return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99),
                "mean_ms": 1e3 * self.total_s / self.count, "count": self.count}


class Metrics:
    """Thread-safe: the pipeline records, the dashboard and the summary read snapshot()."""

    def __init__(self, fps_window_s: float = 5.0) -> None:
        self.started = time.monotonic()
        self.fps_window_s = fps_window_s
        self.stages = {name: LatencyWindow() for name in STAGES}
        self.capture_to_result = LatencyWindow()
        self.frames: dict[str, int] = {}
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self.stages[name].add(seconds)

    def reset_stages(self) -> None:
        """Forget the stage times so far (a benchmark's warm-up steps)."""
        with self._lock:
            self.stages = {name: LatencyWindow() for name in self.stages}

    def result(self, camera_id: str, capture_ts: float, now: float) -> None:
        """A frame of camera_id captured at capture_ts (monotonic) has its results at now."""
        with self._lock:
            self.capture_to_result.add(now - capture_ts)
            self.frames[camera_id] = self.frames.get(camera_id, 0) + 1
            recent = self._recent.setdefault(camera_id, deque())
            recent.append(now)
            while recent and now - recent[0] > self.fps_window_s:
                recent.popleft()

    def snapshot(self) -> dict:
        now = time.monotonic()
        with self._lock:
            elapsed = now - self.started
            fps = {}
            for cam, recent in self._recent.items():
                span = min(self.fps_window_s, elapsed)
                fps[cam] = sum(1 for t in recent if now - t <= self.fps_window_s) / span if span > 0 else 0.0
            total = sum(self.frames.values())
            return {
                "uptime_s": elapsed,
                "frames": dict(self.frames),
                "total_frames": total,
                "fps": fps,
                "average_fps": total / elapsed if elapsed > 0 else 0.0,
                "stages": {name: w.summary() for name, w in self.stages.items()},
                "capture_to_result": self.capture_to_result.summary(),
            }


class StageTimer:
    """Times consecutive stages of one step: done(name) records the time since the last call."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.metrics.stage(stage, now - self.last)
        self.last = now
