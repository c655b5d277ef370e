"""What the results writer holds in memory on a long run, settling rows as it goes against keeping them
all to the end, side by side in one run: the rows' bytes held at the end (before close), the longest
pause a step's writing took (a settling works then), close()'s time, and whether the files came out
the same.

A drawn site: CAMERAS cameras, PEOPLE people in each at every step, all replaced every 30 s, floor
positions for everyone; gap filling and smoothing as configs/demo.yaml sets them (20 and 2 frames).
The run is STEPS steps at 10 frames/s; settling is output.settle_after_s (600 s) unless --settle-after-s.
With --relink, a third writer keeps all and relinks at close (output.relink), given a 512-float re-ID
embedding for each track every 10th frame, as the re-ID schedule makes them: what the embeddings hold
and what the relinking adds to close(), beside keeping all without it.
Each step also sleeps --model-ms outside the timed writing, standing in for the models (which free
the GIL, as onnxruntime does): a settling runs on the writer's own thread meanwhile, as in a live
run, where 10 s of steps pass between two settlings rather than the few milliseconds this loop needs.

    python benchmarks/bench_results.py [--steps 20000] [--cameras 4] [--people 20] [--model-ms 5] [--relink]
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import print_table, save

from mctrt.io.results import ResultWriter

FRAME_RATE = 10
FILL_FRAMES, SMOOTH_FRAMES = 20, 2


def play(writer: ResultWriter, steps: int, cameras: list[str], people: int, model_s: float, seed: int = 0,
         embed: bool = False) -> tuple[float, float, int]:
    """The drawn site's steps into writer, each after model_s of sleep (with `embed`, each track's
    embedding every 10th frame) -> (the longest step's writing and all steps' writing in seconds, bytes
    held at the end)."""
    rng = np.random.default_rng(seed)
    looks = np.ones((people, 512), np.float32) / np.sqrt(512)
    longest = writing = 0.0
    for step in range(steps):
        time.sleep(model_s)
        start = time.perf_counter()
        ids = np.arange(1, people + 1, dtype=np.int64) + 1000 * (step // (30 * FRAME_RATE))
        for k, cam in enumerate(cameras):
            x = rng.uniform(0, 1000, people)
            boxes = np.c_[x, np.full(people, 10.0), x + 20, np.full(people, 70.0)].astype(np.float32)
            keep = rng.random(people) > 0.1  # one box in ten missed: gaps to fill
            embedded = (ids[keep] + step) % 10 == 0 if embed else None
            writer.add(cam, step + 1, ids[keep], ids[keep] + 100_000 * k, boxes[keep], np.full(keep.sum(), 0.9, np.float32),
                       image_size=(1280, 720), embedded=embedded, embeddings=looks[:keep.sum()] if embed else None)
        writer.add_positions(step / FRAME_RATE, step + 1, [{"global_id": int(i), "x": 1.0, "y": 2.0} for i in ids])
        longest = max(longest, time.perf_counter() - start)
        writing += time.perf_counter() - start
    return longest, writing, writer.held_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--settle-after-s", type=float, default=600.0)
    parser.add_argument("--model-ms", type=float, default=5.0, help="each step's time outside the writer (slept)")
    parser.add_argument("--relink", action="store_true", help="a third writer: keeping all and relinking at close")
    args = parser.parse_args()
    cameras = [f"cam{k}" for k in range(args.cameras)]
    work = Path(tempfile.mkdtemp(prefix="mctrt-results-"))
    rows, runs = [], {}
    writers = [("settling", round(args.settle_after_s * FRAME_RATE), False), ("keeping all", 0, False)]
    for name, settle, relink in writers + ([("keeping all, relinked", 0, True)] if args.relink else []):
        writer = ResultWriter(work / name, cameras, FILL_FRAMES, 2.0, SMOOTH_FRAMES, settle, relink=relink)
        longest, writing, held = play(writer, args.steps, cameras, args.people, args.model_ms / 1000, embed=relink)
        closing = time.perf_counter()
        writer.close()
        close = time.perf_counter() - closing
        runs[name] = {"settle_after_steps": settle, "held_mb": held / 2**20, "longest_step_s": longest,
                      "close_s": close, "writing_s": writing + close}
        rows.append([name, held / 2**20, longest * 1000, close, writing + close])
        print(f"{name}: {held / 2**20:.1f} MB held, longest step {longest * 1000:.0f} ms, close {close:.2f} s", flush=True)
    same = all(filecmp.cmp(work / "settling" / f, work / "keeping all" / f, shallow=False)
               for f in [f"{c}.txt" for c in cameras] + ["world.txt"])
    shutil.rmtree(work)  # hundreds of MB of rows, compared
    print_table(f"ResultWriter over {args.steps} steps ({args.steps / FRAME_RATE / 60:.0f} min at {FRAME_RATE} frames/s), "
                f"{args.cameras} cameras x {args.people} people; files the same: {same}",
                ["writer", "MB held at the end", "longest step (ms)", "close (s)", "writing and close (s)"], rows)
    save(f"results_writer_{args.cameras}x{args.people}{'_relink' if args.relink else ''}", {"steps": args.steps, "cameras": args.cameras, "people": args.people, "frame_rate": FRAME_RATE,
                            "model_ms": args.model_ms,
                            "runs": runs, "files_same": same})


if __name__ == "__main__":
    main()
