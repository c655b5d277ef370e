"""A real RTSP camera that goes away and comes back: Debian's RTSP server (rtsp-server-perl) on
127.0.0.1, fed by ffmpeg, read by the pipeline's CameraReader. The reader must connect, notice that
the stream stopped, say so in its status, reconnect with backoff once the server is back, and go on
delivering frames, while a file camera read beside it is not held up."""

import shutil
import socket
import subprocess
import time

import cv2
import numpy as np
import pytest

from mctrt.config import InputConfig
from mctrt.io.sources import CONNECTED, RECONNECTING, Backoff, CameraReader

pytestmark = pytest.mark.skipif(
    not (shutil.which("rtsp-server-perl") and shutil.which("ffmpeg")),
    reason="needs Debian's rtsp-server-perl and ffmpeg (apt-get install rtsp-server-perl ffmpeg; .ci/run does)")


class RtspCamera:
    """An RTSP server plus an ffmpeg publisher sending a 10 frames/s test pattern to it."""

    def __init__(self, client_port: int, source_port: int) -> None:
        self.client_port, self.source_port = client_port, source_port
        self.rtp_port = 20000 + self.client_port % 20000  # even, spread away from other runs' ports
        self.rtp_port -= self.rtp_port % 2
        self.url = f"rtsp://127.0.0.1:{self.client_port}/cam"
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        server = subprocess.Popen(
            ["rtsp-server-perl", "--clientport", str(self.client_port), "--serverport", str(self.source_port),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
             "--rtp_start_port", str(self.rtp_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(server)
        wait_for_port(self.source_port)
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", "testsrc=size=320x240:rate=10", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "10", "-f", "rtsp",
             f"rtsp://127.0.0.1:{self.source_port}/cam"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(publisher)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.kill()
            process.wait(10)
        self.processes.clear()


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the RTSP server did not listen on port {port}")


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def camera(free_port):
    cam = RtspCamera(free_port(), free_port())
    yield cam
    cam.stop()


def looping_file_reader(path) -> CameraReader:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for k in range(10):
        writer.write(np.full((48, 64, 3), 20 * k, np.uint8))
    writer.release()
    return CameraReader(InputConfig("hall", str(path), loop=True), capacity=2)


def test_rtsp_camera_reconnects_after_the_server_goes_away(camera, tmp_path):
    camera.start()
    beside = looping_file_reader(tmp_path / "hall.avi")
    beside.start()
    reader = CameraReader(
        InputConfig("door", camera.url, rtsp_transport="udp", open_timeout_s=3.0, read_timeout_s=2.0),
        capacity=2, backoff=Backoff(initial_s=0.2, max_s=1.0))
    reader.start()
    try:
        wait_until(lambda: reader.status.frames_read >= 10, 30, "the first frames over RTSP")
        assert reader.status.state == CONNECTED and reader.status.kind == "stream"
        assert (reader.status.width, reader.status.height) == (320, 240)
        frame = reader.queue.get(1)
        assert frame is not None and frame.image.shape == (240, 320, 3) and frame.camera_id == "door"

        camera.stop()  # server and publisher gone
        wait_until(lambda: reader.status.state == RECONNECTING, 15, "the reader to notice the lost stream")
        assert reader.status.reason
        stalled_at, beside_at = reader.status.frames_read, beside.status.frames_read
        wait_until(lambda: beside.status.frames_read >= beside_at + 5, 10, "the file camera to read on meanwhile")

        camera.start()  # back on the same ports
        wait_until(lambda: reader.status.state == CONNECTED and reader.status.frames_read >= stalled_at + 10, 40,
                   "frames again after the server came back")
        assert reader.status.reconnects >= 1
        later = reader.queue.get(1)
        assert later is not None and later.index > frame.index  # numbering goes on across reconnects
    finally:
        for r in (reader, beside):
            r.stop()
            r.join(10)
    assert not reader.is_alive() and beside.status.state == CONNECTED


def test_rtsp_frames_are_timed_by_the_streams_timestamps(camera):
    """Frames the server had buffered arrive together at the connect, and later reads jitter with the
    machine's load; the times follow the stream's own timestamps: 0.1 s apart once live, never back,
    never ahead of the wall clock."""
    from mctrt import clock

    camera.start()
    reader = CameraReader(InputConfig("door", camera.url, rtsp_transport="udp", open_timeout_s=3.0, read_timeout_s=2.0),
                          capacity=200)
    reader.start()
    try:
        wait_until(lambda: reader.status.frames_read >= 40, 40, "40 frames over RTSP")
    finally:
        reader.stop()
        reader.join(10)
    frames = []
    while (f := reader.queue.get(0)) is not None:
        frames.append(f)
    times = np.array([f.time_s for f in frames])
    assert len(times) >= 40 and (np.diff(times) >= 0).all() and (times <= clock.now()).all()
    steps = np.diff(times[-10:])  # the smallest delay is still being found: a few ms at a new one
    assert np.allclose(steps, 0.1, atol=0.01) and abs(np.median(steps) - 0.1) < 5e-4, np.diff(times)
