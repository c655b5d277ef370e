"""`python -m mctrt.run` live with its dashboard, as a user runs it: the server comes up beside the
pipeline, answers while the cameras play, and SIGTERM stops everything cleanly with a summary."""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_int8_cached")]


def start_run(config: Path, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mctrt.run", "--config", str(config), "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def get_json(url: str, timeout: float = 60.0) -> tuple[int, dict]:  # a bound on a hang: loaded machines answer late
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_until_every_camera_read_a_frame(port: int, timeout: float = 60.0) -> None:
    """A live run stopped before a camera gave a frame rightly exits 1 ("never gave a frame"); on a loaded
    machine the readers can start after the dashboard does, so a clean-stop test waits for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, stats = get_json(f"http://127.0.0.1:{port}/api/stats")
            if stats["cameras"] and all(c["frames_read"] for c in stats["cameras"]):
                return
        except OSError:  # a slow reply on a loaded machine: ask again
            pass
        time.sleep(0.2)
    raise AssertionError(f"a camera read no frame in {timeout:g} s")


async def first_video_frame(port: int) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws/east") as ws:
            message = await ws.receive(timeout=30)
            (length,) = struct.unpack(">I", message.data[:4])
            return json.loads(message.data[4:4 + length])


async def test_live_run_serves_the_dashboard_and_stops_cleanly_on_sigterm(tmp_path, demo_config, free_port,
                                                                          wait_for_dashboard):
    port = free_port()
    process = start_run(demo_config(tmp_path), port)
    try:
        health = wait_for_dashboard(port, process)
        assert health["status"] == "ok" and health["running"]
        header = await first_video_frame(port)
        assert header["camera_id"] == "east" and header["frame"] >= 1
        status, stats = get_json(f"http://127.0.0.1:{port}/api/stats")
        assert status == 200 and stats["running"] and stats["total_frames"] >= 1
        wait_until_every_camera_read_a_frame(port)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert f"dashboard: http://127.0.0.1:{port}/" in stderr and "frames:" in stdout and "global IDs:" in stdout
    with socket.socket() as s:  # nothing listens there any more (connections may linger in TIME_WAIT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_a_taken_port_exits_2_naming_the_fix(tmp_path, demo_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_run(demo_config(tmp_path), port)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in stderr and "--port" in stderr


def test_binding_beyond_loopback_without_a_token_warns_loudly(tmp_path, demo_config, free_port, wait_for_dashboard):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MCTRT_TOKEN"}
    process = subprocess.Popen([sys.executable, "-m", "mctrt.run", "--config", str(demo_config(tmp_path)),
                                "--host", "0.0.0.0", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for_dashboard(port, process)
        wait_until_every_camera_read_a_frame(port)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert "SERVING ON 0.0.0.0 WITHOUT A TOKEN" in stderr
