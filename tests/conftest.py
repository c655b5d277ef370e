"""Shared fixtures: the assets folder (MCTRT_ASSETS), real detections, and skips for missing hardware.

Tests import the installed mctrt, never the source tree.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

from mctrt import _native
from mctrt.io.mot import iter_detection_frames, read_mot


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cuda = _native.cuda_status()
    for item in items:
        if item.get_closest_marker("gpu") and not cuda.usable:
            item.add_marker(pytest.mark.skip(reason=f"needs a GPU: {cuda.reason}"))
        if item.get_closest_marker("tensorrt"):
            try:
                import tensorrt  # noqa: F401
            except ImportError:
                item.add_marker(pytest.mark.skip(reason="needs TensorRT: the tensorrt package is not installed"))


@pytest.fixture(scope="session")
def assets() -> Path:
    """The shared models and footage (../shared in CI), or a skip naming the setting."""
    root = os.environ.get("MCTRT_ASSETS")
    if not root:
        pytest.skip("MCTRT_ASSETS is not set: point it at the shared models and footage (e.g. ../shared)")
    path = Path(root)
    if not (path / "data").is_dir():
        pytest.fail(f"MCTRT_ASSETS={root} has no data/ folder; it should point at the shared assets")
    return path


@pytest.fixture(scope="session")
def pets09_detections(assets: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """PETS09-S2L1 YOLOv8n detections, one (xyxy float32, scores float32) per frame, 795 frames."""
    rows = read_mot(assets / "data/pets09_s2l1/det/yolov8n_640.txt")
    return [(xyxy, scores) for _, xyxy, scores in iter_detection_frames(rows)]


def _synthetic_scene(seed: int, frames: int = 120, people: int = 12, size: float = 640.0):
    """Walking people with detector noise, dropouts, low-score frames, false positives, and the odd
    double detection of one person (an NMS miss, which is what makes duplicate tracks).

    Yields (xyxy float32, scores float32) per frame; deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform(50, size - 100, (people, 2))
    vel = rng.normal(0, 3, (people, 2))
    wh = np.c_[rng.uniform(20, 45, people), rng.uniform(60, 130, people)]
    for _ in range(frames):
        pos += vel
        vel += rng.normal(0, 0.3, vel.shape)
        bounce = (pos < 0) | (pos > size - 50)
        vel[bounce] *= -1
        visible = rng.random(people) > 0.1
        boxes = np.c_[pos, pos + wh][visible] + rng.normal(0, 1.5, (visible.sum(), 4))
        scores = np.where(rng.random(visible.sum()) < 0.2, rng.uniform(0.15, 0.6, visible.sum()),
                          rng.uniform(0.6, 0.95, visible.sum()))
        doubled = rng.random(len(boxes)) < 0.05
        boxes = np.r_[boxes, boxes[doubled] + rng.normal(0, 3, (doubled.sum(), 4))]
        scores = np.r_[scores, rng.uniform(0.7, 0.9, doubled.sum())]
        clutter = rng.integers(0, 3)
        fp = rng.uniform(0, size - 60, (clutter, 2))
        boxes = np.r_[boxes, np.c_[fp, fp + rng.uniform(15, 60, (clutter, 2))]]
        scores = np.r_[scores, rng.uniform(0.05, 0.75, clutter)]
        order = rng.permutation(len(boxes))
        yield boxes[order].astype(np.float32), scores[order].astype(np.float32)


@pytest.fixture(scope="session")
def synthetic_scene():
    """A function (seed, frames=120, people=12, size=640) -> list of per-frame (xyxy, scores)."""
    return lambda seed, **kw: list(_synthetic_scene(seed, **kw))


# -- running the main job as a user does ----------------------------------------------------------------

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="session")
def free_port():
    """A function giving a TCP port free on 127.0.0.1 right now."""

    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return pick


def pin_onnxruntime(config_text: str) -> str:
    """A config file's text with its models on onnxruntime: the figures the tests guard were measured
    there, and "auto" may pick openvino on a CPU where it runs faster, whose scores differ by ~1e-4 -
    enough to move an identity figure."""
    return config_text.replace("backend: auto", "backend: onnxruntime")


def warm_detector(config_path: Path) -> None:
    """Builds a config's INT8 detector in this process and runs it on the first frame of each input, so
    that its INT8 copy (quantized once, then cached under engines/ where the tests run) is in the cache."""
    from mctrt.config import load_config
    from mctrt.io.sources import open_capture
    from mctrt.models import Detector

    config = load_config(config_path)
    if config.detector.precision != "int8":
        return
    frames = []
    for source in config.inputs:
        capture = open_capture(source)
        try:
            frames.append(capture.read())
        finally:
            capture.close()
        assert frames[-1] is not None, f"{source.path} gave no first frame"
    Detector.from_config(config.detector).detect(frames)


@pytest.fixture(scope="session")
def demo_config(assets: Path):
    """A function writing configs/demo.yaml into a folder, with the assets' path filled in, its models
    on onnxruntime (pin_onnxruntime) and its SQLite store in that folder (store.db); it returns the new
    file's path."""

    def write(folder: Path) -> Path:
        text = (CONFIGS / "demo.yaml").read_text().replace("path: ../runs/mctrt.db", f"path: {folder / 'store.db'}")
        config = folder / "demo.yaml"
        config.write_text(pin_onnxruntime(text.replace("${MCTRT_ASSETS:-../../shared}", str(assets))))
        return config

    return write


@pytest.fixture(scope="session")
def demo_int8_cached(demo_config, tmp_path_factory) -> None:
    """configs/demo.yaml's INT8 detector built once (warm_detector), for tests that wait on a demo run
    with a time limit: its first start would otherwise quantize inside their waits."""
    warm_detector(demo_config(tmp_path_factory.mktemp("warm")))


@pytest.fixture(scope="session")
def wait_for_dashboard():
    """A function waiting (up to `timeout` s) until the `python -m mctrt.run` process serving on `port`
    answers /health with 200; it returns the health body, or fails with the process's stderr if it exited."""

    def wait(port: int, process: subprocess.Popen, timeout: float = 90.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"mctrt.run exited early:\n{process.stderr.read()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        return json.load(response)
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the dashboard on port {port} did not come up in {timeout:g} s")

    return wait


def run_mctrt(args: list[str], assets: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """python -m mctrt.run with these arguments and MCTRT_ASSETS set, to its end."""
    return subprocess.run([sys.executable, "-m", "mctrt.run", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "MCTRT_ASSETS": str(assets)})


@pytest.fixture(scope="session")
def demo_run(assets, tmp_path_factory, demo_config):
    """configs/demo.yaml run offline in one process, with its store in a temporary folder: (the
    finished process, the folder; results in folder/out)."""
    tmp = tmp_path_factory.mktemp("demo")
    config = demo_config(tmp)
    result = run_mctrt(["--config", str(config), "--offline", "--output", str(tmp / "out"), "--no-server"], assets)
    return result, tmp


def start_redis(port: int, folder: Path) -> subprocess.Popen:
    """redis-server (Debian's) on 127.0.0.1:port, answering PING, without persistence; skips the test
    where none is installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (Debian: apt install redis-server; .ci/run installs it)")
    import redis

    process = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"redis-server on port {port} did not start") from None
            time.sleep(0.1)
    client.close()
    return process


@pytest.fixture(scope="session")
def redis_server(free_port, tmp_path_factory):
    """The URL of a redis-server started on a free 127.0.0.1 port for this session (start_redis)."""
    port = free_port()
    process = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server):
    """redis_server emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(scope="session")
def postgres_server(free_port):
    """A PostgreSQL server (Debian's binaries) started in a temporary folder on a free 127.0.0.1 port
    for this session, trusting local connections; yields a function giving the URL of a new, empty
    database. Skips where PostgreSQL is not installed. PostgreSQL refuses to run as root: as root the
    server runs as the postgres user Debian's package creates."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL is not installed (Debian: apt install postgresql; .ci/run installs it)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is missing: pip install 'mctrt[postgres]'")
    bindir = Path(initdb[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="mctrt-pg-"))  # not under pytest's root-only folders
    as_user = []
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "mctrt", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                    "-w", "start"], check=True, capture_output=True)
    admin = psycopg.connect(f"postgresql://mctrt@127.0.0.1:{port}/postgres", autocommit=True)

    def new_database() -> str:
        name = f"t{uuid.uuid4().hex[:12]}"
        admin.execute(f"CREATE DATABASE {name}")
        return f"postgresql://mctrt@127.0.0.1:{port}/{name}"

    yield new_database
    admin.close()
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def events_by_content(store) -> list[str]:
    """A store's events, sorted, as JSON without their row ids and absolute times (an offline central's
    clock starts at its own start), other floats rounded to 6 places: to compare two runs' stores."""
    absolute = ("id", "time", "first_seen", "until", "since")
    return sorted(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in e.items() if k not in absolute},
                             sort_keys=True) for e in store.events(limit=10_000))
