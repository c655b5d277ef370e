"""What every benchmark shares: a description of the machine, timing, a table, and the results file.

Benchmarks compare mctrt with peers side by side in one run on one machine; ratios are what count,
since absolute times on a shared machine drift.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import mctrt
from mctrt import _native
from mctrt.boxes import tlwh_to_xyxy

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The instruction set extensions that matter for numeric code, as /proc/cpuinfo lists them."""
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_tile", "neon")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                present = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in present]
    except OSError:
        pass
    return []


def git_commit() -> str:
    """The commit, with -dirty when the code that ran differs from it (a copy of the repository on another
    machine, or uncommitted changes); results files written by earlier benchmarks do not count."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent,
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)benchmarks/results")
        return (commit + "-dirty" * bool(changed)) or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> dict:
    cuda = _native.cuda_status()
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "gpu": ", ".join(d["name"] for d in cuda.devices) or f"none ({cuda.reason})",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mctrt": mctrt.__version__,
        "git_commit": git_commit(),
    }


def device_name() -> str:
    """A short name for the results file: the GPU if there is one, else 'cpu'."""
    cuda = _native.cuda_status()
    name = cuda.devices[0]["name"] if cuda.devices else "cpu"
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def best_time(fn: Callable[[], object], repeat: int = 5, min_seconds: float = 0.2) -> float:
    """Seconds per call of fn: the best of `repeat` runs, each looping long enough to time reliably."""
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds / repeat or loops >= 1 << 20:
            break
        loops *= 2
    best = elapsed / loops
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in columns]] + [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(columns))]
    print(f"\n{title}")
    for k, row in enumerate(cells):
        print("  ".join(v.rjust(w) if k and j else v.ljust(w) for j, (v, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def save(benchmark: str, payload: dict) -> Path:
    """Write benchmarks/results/<benchmark>_<device>.json with the machine's description."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}_{device_name()}.json"
    record = {"benchmark": benchmark, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "device": device_name(), "machine": machine(), **payload}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nsaved {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path


def match_boxes(mine: np.ndarray, truth: np.ndarray) -> list[tuple[int, int]]:
    """One frame's MOTChallenge rows (left, top, width, height in columns 2-5) paired one-to-one with
    the ground truth's, IoU >= 0.5 (the evaluation's threshold), most overlap first: (row of mine, row
    of truth) pairs."""
    if not len(mine) or not len(truth):
        return []
    overlap = mctrt.iou_xyxy(*(tlwh_to_xyxy(r[:, 2:6]).astype(np.float32) for r in (mine, truth)))
    row_to_col, _ = mctrt.lapjv(1.0 - overlap.astype(np.float64), 0.5)
    return [(i, j) for i, j in enumerate(row_to_col.tolist()) if j >= 0]
