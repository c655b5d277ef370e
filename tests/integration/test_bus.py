"""python -m mctrt.run across processes: two workers (west, east) and a central over a real Redis,
offline on the two-camera demo, score as the single process does; bad role arguments and an
unreachable bus are clear errors."""

import subprocess
import sys

import pytest
from conftest import run_mctrt
from mctrt.eval import evaluate_cameras

pytestmark = pytest.mark.slow


def test_two_workers_and_a_central_score_as_one_process_on_the_demo(assets, tmp_path, demo_config, demo_run, redis_url):
    config = demo_config(tmp_path)
    bus = ["--config", str(config), "--bus", redis_url, "--offline"]
    central = subprocess.Popen([sys.executable, "-m", "mctrt.run", *bus, "--role", "central", "--output",
                                str(tmp_path / "out"), "--no-server"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        workers = [subprocess.Popen([sys.executable, "-m", "mctrt.run", *bus, "--role", "worker", "--cameras", cam],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for cam in ("west", "east")]
        for worker in workers:
            out, err = worker.communicate(timeout=900)
            assert worker.returncode == 0, err[-3000:]
            assert "795 frames, 0 dropped, ended" in out
        out, err = central.communicate(timeout=300)
    finally:
        central.kill()
    assert central.returncode == 0, err[-3000:]
    assert "bus: 0 late steps, 0 delivered again" in out and "global IDs:" in out
    single, _ = evaluate_cameras(assets / "data/pets09_split2", demo_run[1] / "out")
    spread, _ = evaluate_cameras(assets / "data/pets09_split2", tmp_path / "out")
    print(f"pets09_split2 cross-camera IDF1: one process {single.idf1:.3f}, two workers + central {spread.idf1:.3f}")
    assert abs(spread.idf1 - single.idf1) <= 0.01
    assert (tmp_path / "out/events.jsonl").read_text().count('"type": "entry"') > 0


CONFIG = """
inputs:
  - {camera_id: west, path: west.mp4}
  - {camera_id: east, path: east.mp4}
modules:
  detector: {model: missing.onnx}
store: {path: null}
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
