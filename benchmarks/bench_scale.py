"""Scale-out over Redis Streams (--role worker / central), side by side in one run on this machine:

1. Bus cost: microseconds to publish and consume one camera step with 10 and 50 tracks (a tenth of
   them carrying a new embedding, as the re-ID schedule gives), and bytes per message; beside it the
   encoding and decoding alone (no Redis).
2. The two-camera demo offline: one process against two workers (one camera and one CPU thread each)
   and a central, and against one worker (both cameras) and a central, all on this machine: frames/s
   and cross-camera IDF1; then one process and two workers live for --live-frames frames per camera:
   capture -> result, the bus's delay (worker publishes -> central receives) and the central's wait
   for the other camera's step of the same time (ordering).
3. A simulation of scale: a publisher process replays the workers' recorded messages of (2) as N
   cameras at 30 steps/s each (N = 16, 64, 256; each pair of cameras on its own stretch of floor),
   into one central in this process: the central's sustained steps/s, its lag (capture -> result) and
   CPU per camera, and where it saturates.

    MCTRT_ASSETS=../shared python benchmarks/bench_scale.py [--cameras 16,64,256] [--seconds 15]

Goals (issue 15): the distributed demo >= 0.9x the single process's frames/s; the bus adds <= 10 ms
p99 on loopback.

The demo is configs/demo.yaml as shipped: on the CPU its detector is INT8 with input_size auto since
2026-12-05 (the runs before were FP32 at 640), the same on both sides of each comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import redis
from common import print_table, save

from mctrt.bus.messages import CameraStep, decode, encode
from mctrt.bus.redis_streams import RedisPublisher, RedisSubscriber, stream_name
from mctrt.central import Central
from mctrt.config import BusConfig, load_config
from mctrt.config.floor import CalibrationConfig
from mctrt.eval import evaluate_cameras
from mctrt.types import Tracks

CONFIG = Path(__file__).resolve().parents[1] / "configs/demo.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                                "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(300):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    return process, f"redis://127.0.0.1:{port}/0"


# -- 1. bus cost ----------------------------------------------------------------------------------------


def synthetic_step(m: int, index: int, rng) -> CameraStep:
    embedded = np.zeros(m, bool)
    embedded[: max(1, m // 10)] = True
    embeddings = np.zeros((m, 512), np.float32)
    rows = rng.normal(size=(int(embedded.sum()), 512)).astype(np.float32)
    embeddings[embedded] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    tracks = Tracks(rng.uniform(0, 700, (m, 4)).astype(np.float32), np.arange(1, m + 1, dtype=np.int64),
                    rng.uniform(0, 1, m).astype(np.float32), np.arange(m, dtype=np.int64), np.zeros(0, np.int64))
    status = {"camera_id": "cam", "kind": "file", "state": "reading", "reason": "", "frames_read": index,
              "frames_dropped": 0, "reconnects": 0, "fps": 30.0, "width": 1920, "height": 1080}
    return CameraStep("cam", index, time.time(), 0.0, (1920, 1080), m, tracks, embedded, embeddings,
                      np.zeros(m, bool), status=status)


def bus_cost(url: str, messages: int = 2000) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for m in (10, 50):
        steps = [synthetic_step(m, i + 1, rng) for i in range(messages)]
        start = time.perf_counter()
        for step in steps:
            decode(encode(step), 0.0)
        codec_us = (time.perf_counter() - start) / messages * 1e6
        redis.Redis.from_url(url).flushall()
        bus = BusConfig(url=url)
        publisher = RedisPublisher(bus, ["cam"])
        subscriber = RedisSubscriber(bus, ["cam"])
        subscriber.read()  # past the (empty) pending entries
        start = time.perf_counter()
        got = 0
        for step in steps:  # one step at a time, as a worker with one camera publishes them
            publisher.publish([step])
            received = subscriber.read(block_ms=1000)
            subscriber.ack([token for _, token in received])
            got += len(received)
        bus_us = (time.perf_counter() - start) / messages * 1e6
        assert got == messages, (got, messages)
        publisher.close()
        subscriber.close()
        size16 = sum(len(k) + len(v) for k, v in encode(steps[0], "float16").items())
        size32 = sum(len(k) + len(v) for k, v in encode(steps[0], "float32").items())
        rows.append({"tracks": m, "embedded": int(steps[0].embedded.sum()), "publish_consume_us": bus_us,
                     "encode_decode_us": codec_us, "bytes_float16": size16, "bytes_float32": size32})
    return rows


# -- 2. the demo: one process against two workers and a central --------------------------------------


def write_config(folder: Path, threads: int | None = None, name: str = "demo.yaml") -> Path:
    """configs/demo.yaml on onnxruntime; threads: its CPU threads per inference (default: one per core)."""
    text = CONFIG.read_text().replace("${MCTRT_ASSETS:-../../shared}", os.environ["MCTRT_ASSETS"])
    text = text.replace("backend: auto", "backend: onnxruntime")
    if threads is not None:  # each model's backend line gets its options beside it
        text = text.replace("backend: onnxruntime", f"backend: onnxruntime\n    backend_options: {{onnxruntime: {{threads: {threads}}}}}")
    path = folder / name
    path.write_text(text)
    return path


def mctrt_run(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mctrt.run", *args, "--no-store", "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 1800) -> str:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"{process.args} failed:\n{err[-3000:]}")
    return out


def latency(summary: str, name: str) -> tuple[float, float]:
    """(p50, p99) ms of a row of the run's summary table."""
    match = re.search(rf"^\s*{re.escape(name)}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", summary, re.M)
    return (float(match.group(1)), float(match.group(3))) if match else (float("nan"), float("nan"))


def distributed(url: str, config: Path, cameras: list[list[str]], output: Path | None, *extra: str) -> tuple[float, str]:
    """Workers (one per camera group, each with its own config) and a central from empty streams: the
    wall time until all have ended, and the central's summary."""
    redis.Redis.from_url(url).flushall()
    start = time.perf_counter()
    bus = ("--bus", url, *extra)
    central = mctrt_run("--config", str(config), *bus, "--role", "central", "--no-server",
                        *(("--output", str(output)) if output else ()))
    workers = [mctrt_run("--config", str(worker_config), *bus, "--role", "worker", "--cameras", ",".join(group))
               for worker_config, group in cameras]
    for worker in workers:
        finish(worker)
    summary = finish(central, timeout=120)
    return time.perf_counter() - start, summary


def demo(url: str, folder: Path, live_frames: int) -> tuple[dict, dict[str, list[dict]]]:
    config = write_config(folder)
    shared = write_config(folder, threads=1, name="one_thread.yaml")  # two workers on 2 cores: one core each
    gt = Path(os.environ["MCTRT_ASSETS"]) / "data/pets09_split2"
    frames = 2 * 795
    start = time.perf_counter()
    finish(mctrt_run("--config", str(config), "--offline", "--output", str(folder / "one"), "--no-server"))
    one_s = time.perf_counter() - start
    two_s, _ = distributed(url, config, [(shared, ["west"]), (shared, ["east"])], folder / "two", "--offline")
    client = redis.Redis.from_url(url)
    recorded = {cam: [fields for _, fields in client.xrange(stream_name("mctrt", cam))] for cam in ("west", "east")}
    both_s, _ = distributed(url, config, [(config, ["west", "east"])], folder / "both", "--offline")
    offline = {"one_process_fps": frames / one_s, "two_workers_fps": frames / two_s, "one_worker_fps": frames / both_s,
               "two_workers_ratio": one_s / two_s, "one_worker_ratio": one_s / both_s,
               "idf1_one_process": evaluate_cameras(gt, folder / "one")[0].idf1,
               "idf1_two_workers": evaluate_cameras(gt, folder / "two")[0].idf1,
               "idf1_one_worker": evaluate_cameras(gt, folder / "both")[0].idf1,
               "threads_per_worker_when_two": 1}

    n = str(live_frames)
    one = finish(mctrt_run("--config", str(config), "--no-server", "--max-frames", n))
    _, spread = distributed(url, config, [(shared, ["west"]), (shared, ["east"])], None, "--max-frames", n)
    live = {"frames_per_camera": live_frames,
            "one_process_capture_to_result_ms": latency(one, "capture->result"),
            "distributed_capture_to_result_ms": latency(spread, "capture->result"),
            "bus_worker_to_central_ms": latency(spread, "worker->here"),
            "central_ordering_wait_ms": latency(spread, "ordering")}
    return {"offline": offline, "live": live}, recorded


# -- 3. simulation of scale -------------------------------------------------------------------------------


def sim_config(cameras: int):
    """The demo config with `cameras` cameras: pairs of west and east, each pair on its own 100 m of
    floor (their calibrations shifted), floor zones and lines dropped (they are the demo's)."""
    config = load_config(CONFIG)
    west, east = config.inputs
    inputs = []
    for k in range(cameras):
        base = (west, east)[k % 2]
        shift = np.array([[1, 0, 100.0 * (k // 2)], [0, 1, 0], [0, 0, 1]])
        h = shift @ np.asarray(base.calibration.image_to_floor)
        calibration = CalibrationConfig(image_to_floor=tuple(tuple(r) for r in h.tolist()))
        inputs.append(dataclasses.replace(base, camera_id=f"cam{k}", calibration=calibration))
    events = dataclasses.replace(config.events, lines=(), zones=(), dwell_per_camera={})
    return dataclasses.replace(config, inputs=tuple(inputs), events=events,
                               association=dataclasses.replace(config.association, transit_windows=()),
                               store=dataclasses.replace(config.store, path=None))


def publish_replay(url: str, recording: Path, cameras: int, rate: float, seconds: float) -> None:
    """The publisher process: camera k replays recording k % 2 at `rate` steps/s, times = now."""
    recorded = pickle.loads(recording.read_bytes())
    sources = [recorded["west"], recorded["east"]]
    client = redis.Redis.from_url(url)
    start = time.time()
    tick = 0
    while time.time() - start < seconds:
        due = start + tick / rate
        if due > time.time():
            time.sleep(due - time.time())
        now = time.time()
        pipe = client.pipeline(transaction=False)
        for k in range(cameras):
            source = sources[k % 2]
            fields = dict(source[tick % len(source)])
            fields.update({b"camera": f"cam{k}".encode(), b"frame": str(tick + 1).encode(),
                           b"time": repr(now).encode(), b"sent": repr(now).encode()})
            fields.pop(b"status", None)
            pipe.xadd(stream_name("mctrt", f"cam{k}"), fields, maxlen=10_000, approximate=True)
        pipe.execute()
        tick += 1


def simulate(url: str, recording: Path, cameras: int, seconds: float, rate: float = 30.0) -> dict:
    redis.Redis.from_url(url).flushall()
    config = sim_config(cameras)
    central = Central(config, RedisSubscriber(config.bus, config.camera_ids, url), offline=False, use_store=False)
    publisher = subprocess.Popen([sys.executable, __file__, "--replay", url, str(recording), str(cameras), str(rate),
                                  str(seconds)])
    runner = threading.Thread(target=central.run)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    runner.start()
    publisher.wait()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    frames = central.metrics.snapshot()["total_frames"]
    central.stop()
    runner.join()
    lag = central.metrics.snapshot()["capture_to_result"]
    offered = cameras * rate
    return {"cameras": cameras, "offered_steps_per_s": offered, "processed_steps_per_s": frames / wall,
            "lag_ms_p50": lag["p50_ms"], "lag_ms_p99": lag["p99_ms"], "central_cpu_percent": 100 * cpu / wall,
            "cpu_percent_per_camera": 100 * cpu / wall / cameras, "late": central.orderer.late,
            "saturated": frames / wall < 0.95 * offered}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        url, recording, cameras, rate, seconds = sys.argv[2:7]
        publish_replay(url, Path(recording), int(cameras), float(rate), float(seconds))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", default="16,64,256", help="simulated cameras, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="each simulation's length")
    parser.add_argument("--live-frames", type=int, default=300, help="frames per camera of the live comparison")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    server, url = start_redis(folder)
    try:
        cost = bus_cost(url)
        print_table("1. bus cost per camera step (publish + consume on loopback Redis)",
                    ["tracks", "embedded", "publish+consume us", "encode+decode us", "bytes (f16)", "bytes (f32)"],
                    [[r["tracks"], r["embedded"], r["publish_consume_us"], r["encode_decode_us"], r["bytes_float16"],
                      r["bytes_float32"]] for r in cost])
        measured, recorded = demo(url, folder, args.live_frames)
        off, live = measured["offline"], measured["live"]
        print_table("2. the two-camera demo offline: one process vs workers + a central (same machine)",
                    ["", "frames/s", "x one process", "cross-camera IDF1"],
                    [["one process", off["one_process_fps"], 1.0, off["idf1_one_process"]],
                     ["2 workers (1 thread each) + central", off["two_workers_fps"], off["two_workers_ratio"],
                      off["idf1_two_workers"]],
                     ["1 worker (both cameras) + central", off["one_worker_fps"], off["one_worker_ratio"],
                      off["idf1_one_worker"]]])
        print_table(f"   live, {args.live_frames} frames per camera, 2 workers + central: latency ms", ["", "p50", "p99"],
                    [["one process capture->result", *live["one_process_capture_to_result_ms"]],
                     ["distributed capture->result", *live["distributed_capture_to_result_ms"]],
                     ["bus: worker publishes -> central receives", *live["bus_worker_to_central_ms"]],
                     ["central: waiting for the other camera (ordering)", *live["central_ordering_wait_ms"]]])
        recording = folder / "recording.pkl"
        recording.write_bytes(pickle.dumps(recorded))
        sims = [simulate(url, recording, int(n), args.seconds) for n in args.cameras.split(",")]
        print_table("3. one central, N simulated cameras at 30 steps/s each",
                    ["cameras", "offered/s", "processed/s", "lag p50 ms", "lag p99 ms", "central CPU %",
                     "CPU % per camera", "saturated"],
                    [[s["cameras"], s["offered_steps_per_s"], s["processed_steps_per_s"], s["lag_ms_p50"],
                      s["lag_ms_p99"], s["central_cpu_percent"], s["cpu_percent_per_camera"], s["saturated"]]
                     for s in sims])
        save("scale", {"bus_cost": cost, "demo": measured, "simulation": sims,
                       "notes": "all on one machine: Redis, the workers, the central and the simulated publisher "
                                "share its cores"})
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
