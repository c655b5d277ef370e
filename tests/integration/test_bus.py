"""python -m mctrt.run across processes: two workers (west, east) and a central over a real Redis,
offline on the two-camera demo, score as the single process does, and a central killed mid-run and
restarted stores what an uninterrupted one stores; bad role arguments and an unreachable bus are
clear errors."""

import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import redis

from mctrt.eval import evaluate_cameras
from mctrt.store import EventStore

from conftest import events_by_content, run_mctrt

pytestmark = pytest.mark.slow


def mctrt(*args):
    return subprocess.Popen([sys.executable, "-m", "mctrt.run", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def ended(process, timeout=900) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def stored_events(path) -> list[str]:
    store = EventStore(path)
    try:
        return events_by_content(store)
    finally:
        store.close()


def test_two_workers_and_a_central_killed_mid_run_end_as_one_process_and_an_uninterrupted_central(
        assets, tmp_path, demo_config, demo_run, redis_url):
    """Two workers (west, east) and a central run together on the demo; the central is killed (SIGKILL)
    once it has checkpointed, and started again. Its store then holds the events an uninterrupted
    central gives on the same messages (no duplicate, none missing), and the uninterrupted central's
    cross-camera IDF1 is the single process's."""
    config = demo_config(tmp_path)
    killed_store = tmp_path / "killed.db"
    text = config.read_text()
    config.write_text(text.replace(f"path: {tmp_path / 'store.db'}", f"path: {killed_store}"))
    bus = ["--config", str(config), "--bus", redis_url, "--offline"]
    central = mctrt(*bus, "--role", "central", "--no-server")
    workers = [mctrt(*bus, "--role", "worker", "--cameras", cam) for cam in ("west", "east")]
    try:
        deadline = time.monotonic() + 300
        while not (killed_store.exists() and _checkpoints(killed_store)):
            assert central.poll() is None and time.monotonic() < deadline, "the central never checkpointed"
            time.sleep(0.2)
        assert all(w.poll() is None for w in workers)  # mid-run: the workers are still reading
        central.send_signal(signal.SIGKILL)
        central.wait(timeout=30)
        restarted = mctrt(*bus, "--role", "central", "--no-server")
        for worker in workers:
            assert "795 frames, 0 dropped, ended" in ended(worker)
        out = ended(restarted, timeout=300)
    finally:
        for process in [central, *workers]:
            process.kill()
    assert "bus: 0 late steps" in out
    # the same messages again, into an uninterrupted central (the group's position set back to the start)
    client = redis.Redis.from_url(redis_url)
    for cam in ("west", "east"):
        client.xgroup_setid(f"mctrt:step:{cam}", "central", "0")
    config.write_text(text)  # its store: tmp_path/store.db
    ended(mctrt(*bus, "--role", "central", "--no-server", "--output", str(tmp_path / "out")), timeout=300)
    events = stored_events(killed_store)
    assert len(events) > 50 and events == stored_events(tmp_path / "store.db")
    single, _ = evaluate_cameras(assets / "data/pets09_split2", demo_run[1] / "out")
    spread, _ = evaluate_cameras(assets / "data/pets09_split2", tmp_path / "out")
    print(f"pets09_split2 cross-camera IDF1: one process {single.idf1:.3f}, two workers + central {spread.idf1:.3f}")
    assert abs(spread.idf1 - single.idf1) <= 0.01


def _checkpoints(path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM checkpoints WHERE length(state) > 0").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0
    finally:
        db.close()


CONFIG = """
inputs:
  - {camera_id: west, path: west.mp4}
  - {camera_id: east, path: east.mp4}
modules:
  detector: {model: missing.onnx}
store: {path: null}
server: {port: 0}
"""


@pytest.mark.parametrize("args, message", [
    (["--role", "central", "--bus", "redis://127.0.0.1:{port}/0"], "cannot reach Redis at redis://127.0.0.1:{port}/0"),
    (["--role", "worker", "--cameras", "north", "--bus", "redis://127.0.0.1:{port}/0"], "--cameras names north"),
    (["--role", "central", "--cameras", "west"], "--cameras is for --role worker"),
    (["--bus", "redis://127.0.0.1:{port}/0"], "--bus is for --role worker or central"),
    (["--role", "central", "--bus", "http://x"], "bus URL 'http://x' is not a Redis URL"),
], ids=["unreachable", "unknown-camera", "cameras-on-central", "bus-on-one-process", "not-redis"])
def test_bad_role_arguments_and_an_unreachable_bus_are_clear_errors(tmp_path, free_port, args, message):
    (tmp_path / "c.yaml").write_text(CONFIG)
    port = free_port()
    result = run_mctrt(["--config", str(tmp_path / "c.yaml"), *(a.format(port=port) for a in args)], tmp_path, timeout=60)
    assert result.returncode == 2 and message.format(port=port) in result.stderr, result.stderr
