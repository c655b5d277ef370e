"""mctrt.lapjv against scipy's linear_sum_assignment and lap.lapjv, time per call.

    python benchmarks/bench_lap.py

Square uniform random costs at sizes 10, 50, 200 and 1000 (the goal: mctrt no slower than the
fastest peer at every size), then tracking-shaped problems with a cost limit (rectangular 1 - IoU
matrices), where lap needs its extended (n+m)^2 form.
"""

from __future__ import annotations

import numpy as np
from common import best_time, print_table, save
from scipy.optimize import linear_sum_assignment

import mctrt

try:
    import lap
except ImportError:  # optional peer
    lap = None

SIZES = (10, 50, 200, 1000)


def square_suite(rng) -> list[dict]:
    results = []
    for n in SIZES:
        costs = [rng.random((n, n)) for _ in range(3)]
        times = {"mctrt": [], "scipy": [], "lap": []}
        for cost in costs:
            times["mctrt"].append(best_time(lambda: mctrt.lapjv(cost)))
            times["scipy"].append(best_time(lambda: linear_sum_assignment(cost)))
            if lap is not None:
                times["lap"].append(best_time(lambda: lap.lapjv(cost)))
            # every solver must agree on the optimum before its time counts
            r, c = linear_sum_assignment(cost)
            assert np.isclose(cost[np.arange(n), mctrt.lapjv(cost)[0]].sum(), cost[r, c].sum())
        row = {"size": n, **{k: float(np.median(v)) * 1e6 for k, v in times.items() if v}}
        results.append(row)
    return results


def iou_cost(rng, n_tracks, n_dets):
    """1 - IoU between predicted tracks and detections of a crowd: sparse overlaps, like ByteTrack's."""
    tl = rng.uniform(0, 2000, (n_tracks, 2))
    tracks = np.c_[tl, tl + rng.uniform(30, 60, (n_tracks, 2))].astype(np.float32)
    dets = tracks[rng.permutation(n_tracks)[:n_dets]] + rng.normal(0, 4, (n_dets, 4)).astype(np.float32)
    dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 1)
    return 1.0 - mctrt.iou_xyxy(tracks, dets).astype(np.float64)


def limited_suite(rng) -> list[dict]:
    results = []
    for n_tracks, n_dets in ((10, 8), (50, 45), (200, 180), (1000, 950)):
        cost = iou_cost(rng, n_tracks, n_dets)
        row = {"shape": f"{n_tracks}x{n_dets}",
               "mctrt": best_time(lambda: mctrt.lapjv(cost, cost_limit=0.8)) * 1e6}
        if lap is not None:
            row["lap"] = best_time(lambda: lap.lapjv(cost, extend_cost=True, cost_limit=0.8)) * 1e6
            ours = mctrt.lapjv(cost, cost_limit=0.8)[0]
            theirs = lap.lapjv(cost, extend_cost=True, cost_limit=0.8)[1]
            assert (ours >= 0).sum() == (theirs >= 0).sum()
        results.append(row)
    return results


def main() -> None:
    rng = np.random.default_rng(0)
    square = square_suite(rng)
    peers = [p for p in ("scipy", "lap") if p in square[0]]
    rows = []
    for r in square:
        fastest_peer = min(r[p] for p in peers)
        rows.append([r["size"], r["mctrt"], *[r[p] for p in peers], fastest_peer / r["mctrt"]])
    print_table("Square uniform costs, microseconds per call (median of 3 matrices, best of 5 runs each)",
                ["size", "mctrt", *peers, "fastest peer / mctrt"], rows)
    limited = limited_suite(rng)
    print_table("Tracking-shaped 1 - IoU costs with cost_limit=0.8, microseconds per call",
                ["shape", "mctrt", *(["lap (extend_cost)", "lap / mctrt"] if lap else [])],
                [[r["shape"], r["mctrt"], *([r["lap"], r["lap"] / r["mctrt"]] if lap else [])] for r in limited])
    if lap is None:
        print("\nlap is not installed (pip install 'mctrt[bench]'): compared with scipy only")
    save("lap", {"unit": "microseconds per call", "square": square, "cost_limited": limited,
                 "goal": "mctrt no slower than the fastest peer at every size"})


if __name__ == "__main__":
    main()
