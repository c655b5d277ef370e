"""Camera readers: every frame in order offline, freshest frames live, and faults (a missing file, a
corrupt file, a failed camera beside a good one) that change only their own camera's status."""

import logging
import re
import socket
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from mctrt.config import InputConfig, config_from_dict
from mctrt.errors import MctrtError, SourceError
from mctrt.io import sources
from mctrt.io.decode import DecodeError
from mctrt.io.sources import ENDED, FAILED, RECONNECTING, Backoff, CameraReader, FrameQueue, open_capture, why_unreachable
from mctrt.pipeline import Pipeline
from mctrt.types import Detections, Frame


def write_video(path, frames=12, fps=10.0, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for k in range(frames):
        image = np.full((size[1], size[0], 3), 10 * k, np.uint8)  # frame k has brightness 10 k
        writer.write(image)
    writer.release()
    return path


def drain(reader, timeout=10.0):
    frames, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = reader.queue.get(timeout=0.5)
        if frame is None and reader.queue.closed:
            return frames
        if frame is not None:
            frames.append(frame)
    raise AssertionError("the reader did not finish")


def wait_until(condition, timeout, poll=0.02):
    """Poll condition() until it holds or timeout seconds pass (the assertions after it say which)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(poll)


class NoPeople:
    """A detector that finds nobody: for tests of cameras, not of people."""

    def detect(self, images):
        return [Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
                for _ in images]


def frame(k):
    return Frame("c", k, 0.0, 0.0, np.zeros((1, 1, 3), np.uint8))


def test_live_queue_keeps_the_freshest_frames_and_counts_drops():
    queue = FrameQueue(capacity=2, drop_oldest=True)
    for k in range(1, 6):
        queue.put(frame(k))
    assert queue.dropped == 3
    assert [queue.get(0).index, queue.get(0).index, queue.get(0)] == [4, 5, None]


def test_offline_queue_waits_instead_of_dropping():
    queue = FrameQueue(capacity=1, drop_oldest=False)
    queue.put(frame(1))
    done = threading.Event()
    threading.Thread(target=lambda: (queue.put(frame(2)), done.set()), daemon=True).start()
    assert not done.wait(0.2)  # blocked: full
    assert queue.get(1).index == 1
    assert done.wait(30) and queue.get(1).index == 2 and queue.dropped == 0


def test_backoff_doubles_up_to_its_cap_with_bounded_jitter():
    backoff = Backoff(initial_s=0.5, max_s=4.0, jitter=0.2)
    for attempt, base in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(set(delays)) > 1


def test_backoff_stays_at_its_cap_however_long_a_camera_stays_away():
    assert 0.8 * 4.0 <= Backoff(initial_s=0.5, max_s=4.0, jitter=0.2).delay(5000) <= 1.2 * 4.0  # no overflow


def test_frames_of_any_width_come_contiguous(tmp_path):
    """FFmpeg pads rows to its alignment; the pre-processing in C++ needs plain C-order frames."""
    reader = CameraReader(InputConfig("cam", str(write_video(tmp_path / "odd.avi", frames=3, size=(100, 50)))), offline=True)
    reader.start()
    frames = drain(reader)
    assert len(frames) == 3 and all(f.image.shape == (50, 100, 3) and f.image.flags.c_contiguous for f in frames)


def test_offline_reader_gives_every_frame_in_order_with_video_time(tmp_path):
    path = write_video(tmp_path / "v.avi", frames=12, fps=10.0)
    reader = CameraReader(InputConfig("cam", str(path)), offline=True, capacity=2, clock_origin=1000.0)
    reader.start()
    frames = drain(reader)
    assert [f.index for f in frames] == list(range(1, 13))
    assert [round(f.time_s - 1000.0, 3) for f in frames[:3]] == [0.0, 0.1, 0.2]
    assert abs(int(frames[5].image.mean()) - 50) <= 3  # decoded frame 6 is the 6th written
    assert reader.status.state == ENDED and reader.status.frames_read == 12 and reader.status.fps == 10.0


@pytest.mark.parametrize("late_s", [0.0, 100.0], ids=["on-time", "far-behind"])
def test_a_live_file_keeps_its_own_timeline_not_the_reads(tmp_path, late_s):
    """Live, a file's frames are read when due, a few ms early or late as the machine allows; their
    times are the file's (the run's start plus (index - 1) / fps), so two files stay aligned and a run
    that drops nothing tracks as offline does. A file behind its timeline (here by 100 s: the run's
    start long past) goes on from no more than StreamTimes.MAX_LAG_S before its reads, as a stream would."""
    from mctrt import clock

    path = write_video(tmp_path / "v.avi", frames=6, fps=10.0)
    origin = clock.now() + 0.3 - late_s  # on time: the first frame is due after the file has opened
    reader = CameraReader(InputConfig("cam", str(path)), capacity=10, clock_origin=origin)
    reader.start()
    reader.join(10)
    frames = drain(reader)
    times = np.array([f.time_s for f in frames])
    assert [f.index for f in frames] == list(range(1, 7))
    assert np.allclose(np.diff(times), 0.1, rtol=0, atol=1e-6)  # Unix seconds: float64 steps of 2.4e-7
    if not late_s:
        assert np.allclose(times - origin, [k / 10.0 for k in range(6)], rtol=0, atol=1e-6)
    behind = np.array([clock.wall_at(f.capture_ts) for f in frames]) - times
    assert (behind >= -1e-3).all() and (behind <= clock.StreamTimes.MAX_LAG_S + 1e-6).all(), behind


def test_live_file_is_paced_at_its_frame_rate_and_can_loop(tmp_path):
    path = write_video(tmp_path / "v.avi", frames=5, fps=10.0)
    reader = CameraReader(InputConfig("cam", str(path), loop=True), capacity=50)
    started = time.monotonic()
    reader.start()
    while reader.status.frames_read < 12 and time.monotonic() - started < 10:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    reader.stop()
    reader.join(5)
    assert reader.status.frames_read >= 12  # looped past the 5-frame file
    assert elapsed >= 0.9  # 12 frames at 10 frames/s cannot arrive in much under 1.1 s


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.mp4", r"video file .*missing.mp4 does not exist; fix inputs\[cam\].path"),
        (lambda d: (d / "corrupt.mp4").write_bytes(b"\x00not a video" * 500) and d / "corrupt.mp4",
         r"corrupt.mp4 (cannot be decoded|has no decodable frames)"),
    ],
    ids=["missing", "corrupt"],
)
def test_bad_file_fails_its_camera_with_a_reason(tmp_path, make, reason):
    reader = CameraReader(InputConfig("cam", str(make(tmp_path))), offline=True)
    reader.start()
    reader.join(10)
    assert reader.status.state == FAILED
    assert reader.status.frames_read == 0
    assert re.search(reason, reader.status.reason), reader.status.reason
    assert reader.queue.closed and reader.queue.get(0) is None


def test_a_file_that_stops_decoding_midway_is_reported_not_taken_for_its_end(tmp_path):
    whole = write_video(tmp_path / "whole.avi", frames=24).read_bytes()
    (tmp_path / "cut.avi").write_bytes(whole[:len(whole) // 2])  # a copy cut off halfway
    reader = CameraReader(InputConfig("cam", str(tmp_path / "cut.avi")), offline=True)
    reader.start()
    frames = drain(reader)
    assert 0 < len(frames) < 20 and reader.status.state == FAILED, reader.status
    assert re.search(rf"cut.avi stopped decoding after {len(frames)} of the 24 frames it declares \(the rest is "
                     rf"corrupt or missing\); the {len(frames)} frames before it were used", reader.status.reason)
    reader = CameraReader(InputConfig("cam", str(tmp_path / "whole.avi")), offline=True)
    reader.start()
    assert len(drain(reader)) == 24 and reader.status.state == ENDED  # the whole file ends normally


def write_images(folder, frames=12, name="frame_{}.png", size=(96, 64)):
    """Frames k = 1..frames as images (brightness 10 k), numbered without zero padding: name order
    alone would put frame_10 before frame_2."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(1, frames + 1):
        assert cv2.imwrite(str(folder / name.format(k)), np.full((size[1], size[0], 3), 10 * k, np.uint8))
    return folder


def test_a_folder_of_images_is_read_as_a_video_at_the_rate_its_sequence_declares(tmp_path):
    """A MOTChallenge sequence (SEQ/img1/ and SEQ/seqinfo.ini) given by its own folder: every image a
    frame, in the order of the numbers in their names, timed at the declared frameRate."""
    write_images(tmp_path / "SEQ" / "img1")
    (tmp_path / "SEQ" / "notes.txt").write_text("not a frame")
    (tmp_path / "SEQ" / "seqinfo.ini").write_text("[Sequence]\nname=SEQ\nimDir=img1\nframeRate=5\nseqLength=12\n")
    reader = CameraReader(InputConfig("cam", str(tmp_path / "SEQ")), offline=True, clock_origin=1000.0)
    reader.start()
    frames = drain(reader)
    assert [f.index for f in frames] == list(range(1, 13))
    assert [round(f.image.mean()) for f in frames] == [10 * k for k in range(1, 13)]
    assert np.allclose(np.diff([f.time_s for f in frames]), 0.2)  # 5 frames/s
    assert reader.status.state == ENDED and reader.status.reason == "end of the images after 12 frames"
    assert reader.status.fps == 5.0 and (reader.status.width, reader.status.height) == (96, 64)


def test_unreadable_images_are_skipped_and_reported_and_the_frames_after_them_keep_their_numbers(tmp_path, caplog):
    """One that is no image midway; the last two cut short, as a copy that did not finish leaves them
    (a JPEG cut short would decode with its lower part grey); macOS's hidden ._ companions left out."""
    caplog.set_level(logging.INFO, logger="mctrt.io.sources")
    folder = write_images(tmp_path / "frames", name="{:06d}.jpg")
    (folder / "000005.jpg").write_bytes(b"\xff\xd8 not a JPEG, though it ends as one \xff\xd9")
    for k in (11, 12):
        whole = (folder / f"{k:06d}.jpg").read_bytes()
        (folder / f"{k:06d}.jpg").write_bytes(whole[: len(whole) * 3 // 4])
    (folder / "._000001.jpg").write_bytes(b"Mac OS X resource fork")
    reader = CameraReader(InputConfig("cam", str(folder), fps=10.0), offline=True)
    reader.start()
    frames = drain(reader)
    assert [f.index for f in frames] == [k for k in range(1, 11) if k != 5]  # as the ground truth numbers them
    assert reader.status.state == ENDED, reader.status  # not a file cut short: its images were all there
    assert ("3 image(s) could not be decoded and were skipped (the last: 000012.jpg is truncated (no JPEG end "
            "marker))") in reader.status.reason
    logged = " ".join(r.getMessage() for r in caplog.records)  # the first as it happens, the rest as it ends
    assert "000005.jpg is not an image OpenCV can read), before frame 6" in logged
    assert "camera cam: ended (end of the images after 10 frames; 3 image(s) could not be decoded" in logged


def test_image_names_sort_by_their_numbers_whatever_else_they_hold(tmp_path):
    from mctrt.io.paths import image_files

    for name in ("b10.png", "b9.png", "a1\u00b22.png", "a1.PNG", "x.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in image_files(tmp_path)] == ["a1.PNG", "a1\u00b22.png", "b9.png", "b10.png"]


@pytest.mark.parametrize(("make", "reason"), [
    (lambda d: write_images(d / "frames"), r"image folder .*frames does not say its frame rate: set inputs\[cam\].fps"),
    (lambda d: (d / "empty").mkdir() or d / "empty", r"folder .*empty holds no images \(.jpg, .jpeg, .png, .bmp\)"),
    (lambda d: (d / "bad").mkdir() or (d / "bad" / "1.png").write_bytes(b"no") and d / "bad",
     r"none of the 1 images in .*bad can be read"),
], ids=["no frame rate", "no images", "no readable image"])
def test_a_folder_that_cannot_be_played_fails_its_camera_saying_what_to_fix(tmp_path, make, reason):
    reader = CameraReader(InputConfig("cam", str(make(tmp_path))), offline=True)
    reader.start()
    reader.join(10)
    assert reader.status.state == FAILED and reader.status.frames_read == 0
    assert re.search(reason, reader.status.reason), reader.status.reason


def test_a_folder_that_cannot_be_listed_fails_its_camera_with_the_reason(tmp_path, monkeypatch):
    def refused(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sources, "image_files", refused)  # as root (CI), chmod would not refuse
    with pytest.raises(SourceError, match=r"folder .*frames cannot be read \(Permission denied\); fix inputs\[cam\].path "
                                          "or its permissions"):
        open_capture(InputConfig("cam", str(write_images(tmp_path / "frames"))))


def test_a_live_folder_of_images_is_paced_at_its_fps_and_loops(tmp_path):
    reader = CameraReader(InputConfig("cam", str(write_images(tmp_path / "f", frames=4)), fps=20.0, loop=True), capacity=50)
    started = time.monotonic()
    reader.start()
    wait_until(lambda: reader.status.frames_read >= 10, 10)
    elapsed = time.monotonic() - started
    reader.stop()
    reader.join(5)
    frames = drain(reader)
    assert reader.status.frames_read >= 10 and [round(f.image.mean()) for f in frames[:6]] == [10, 20, 30, 40, 10, 20]
    assert elapsed >= 0.4  # 10 frames at 20 frames/s cannot arrive in much under 0.45 s


def test_a_corrupt_file_gets_our_message_without_ffmpegs_and_opencvs_own_lines(tmp_path, capfd):
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00not a video" * 500)
    capfd.readouterr()
    reader = CameraReader(InputConfig("cam", str(tmp_path / "corrupt.mp4")), offline=True)
    reader.start()
    reader.join(10)
    assert reader.status.state == FAILED and "corrupt.mp4" in reader.status.reason
    written = capfd.readouterr()  # at the file descriptors: FFmpeg writes to stderr from C
    assert "moov atom" not in written.err and "WARN" not in written.err, written.err


def test_an_unreadable_input_is_a_source_error_like_every_other_mctrt_error(tmp_path):
    with pytest.raises(SourceError, match=r"missing.mp4 does not exist; fix inputs\[cam\].path") as failure:
        open_capture(InputConfig("cam", str(tmp_path / "missing.mp4")))
    assert isinstance(failure.value, MctrtError) and failure.value.permanent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_stream_says_so_and_its_retries_are_logged_now_and_then(caplog, monkeypatch):
    monkeypatch.setattr(sources, "RETRY_LOG_EVERY_S", 0.0)  # every retry, to see them here
    caplog.set_level(logging.WARNING, logger="mctrt.io.sources")
    port = free_port()
    reader = CameraReader(InputConfig("door", f"rtsp://127.0.0.1:{port}/live"), backoff=Backoff(initial_s=0.05, max_s=0.1))
    reader.start()
    wait_until(lambda: reader.status.reconnects >= 3, 20)
    reader.stop()
    reader.join(10)
    assert f"refused the connection: nothing listens on 127.0.0.1:{port}" in reader.status.reason, reader.status.reason
    retries = [r.getMessage() for r in caplog.records if "still unreachable" in r.getMessage()]
    assert retries and retries[0].startswith("camera door: still unreachable after 2 tries; the next in")


class SizedCapture:
    """A stand-in for a decoder (io/decode.Capture) that delivers `frames` frames of one size, then
    ends: a stream whose camera went away."""

    fps, frame_count, skipped, skip_reason, skip_unit, position = 10.0, 0, 0, "", "packet(s)", None

    def __init__(self, size, frames):
        self.size, self.left = size, frames
        self.width, self.height = size

    def read(self):
        self.left -= 1
        return np.zeros((self.size[1], self.size[0], 3), np.uint8) if self.left >= 0 else None

    def rewind(self):
        pass

    def close(self):
        pass


def test_a_stream_that_opens_but_sends_nothing_is_reopened_after_a_wait_not_at_once(monkeypatch):
    opened = []

    def open_silent(config):
        opened.append(time.monotonic())
        return SizedCapture((96, 64), 0)

    monkeypatch.setattr(sources, "open_capture", open_silent)
    reader = CameraReader(InputConfig("door", "rtsp://127.0.0.1:1/live"), backoff=Backoff(initial_s=0.05, max_s=0.05, jitter=0.0))
    reader.start()
    wait_until(lambda: len(opened) >= 4, 20)
    reader.stop()
    reader.join(10)
    assert len(opened) >= 4 and np.diff(opened[:4]).min() >= 0.045  # it reopened thousands of times a second


def test_a_camera_whose_frames_change_size_is_reported_in_its_status_and_the_log(caplog, monkeypatch):
    """A camera reopened at another resolution: its calibration and zones no longer fit; say so."""
    caplog.set_level(logging.WARNING, logger="mctrt.io.sources")
    captures = iter([SizedCapture((96, 64), 3), SizedCapture((192, 128), 10**9)])
    monkeypatch.setattr(sources, "open_capture", lambda config: next(captures))
    reader = CameraReader(InputConfig("door", "rtsp://127.0.0.1:1/live"), capacity=100, backoff=Backoff(initial_s=0.01, max_s=0.01))
    reader.start()
    wait_until(lambda: reader.status.frames_read >= 6, 20)
    reader.stop()
    reader.join(10)
    assert (reader.status.width, reader.status.height) == (192, 128)
    expected = "the frames changed size from 96x64 to 192x128 at frame 4"
    assert expected in reader.status.reason, reader.status
    assert [r.getMessage() for r in caplog.records if expected in r.getMessage()][:1] == [f"camera door: {reader.status.reason}"]


def test_a_file_whose_resolution_changes_midway_gives_its_frames_as_they_are_and_says_so(tmp_path, caplog):
    """OpenCV scaled such frames to the first size without a word; the decoder now hands them over."""
    caplog.set_level(logging.WARNING, logger="mctrt.io.sources")
    sizes = [(96, 64)] * 3 + [(192, 128)] * 3
    jpegs = [cv2.imencode(".jpg", np.full((h, w, 3), 40 * k, np.uint8))[1].tobytes() for k, (w, h) in enumerate(sizes)]
    (tmp_path / "sizes.mjpeg").write_bytes(b"".join(jpegs))  # a raw MJPEG stream: each frame its own size
    reader = CameraReader(InputConfig("cam", str(tmp_path / "sizes.mjpeg")), offline=True)
    reader.start()
    frames = drain(reader)
    assert [(f.image.shape[1], f.image.shape[0]) for f in frames] == sizes
    expected = "the frames changed size from 96x64 to 192x128 at frame 4"
    assert reader.status.state == ENDED and expected in reader.status.reason, reader.status
    assert (reader.status.width, reader.status.height) == (192, 128)
    assert any(expected in r.getMessage() for r in caplog.records)


def test_a_corrupt_frame_midway_is_skipped_and_reported_and_the_rest_of_the_file_is_read(tmp_path, caplog):
    """OpenCV took a frame it could not decode for the end of the file (12 of 24 frames here)."""
    caplog.set_level(logging.WARNING, logger="mctrt.io.sources")
    data = bytearray(write_video(tmp_path / "whole.avi", frames=24).read_bytes())
    tables = [m.start() for m in re.finditer(b"\xff\xdb", bytes(data))]  # each JPEG frame's quantisation table
    assert len(tables) == 24
    data[tables[12] + 2:tables[12] + 4] = b"\x43\x00"  # frame 13's table length made impossible
    (tmp_path / "bad.avi").write_bytes(bytes(data))
    reader = CameraReader(InputConfig("cam", str(tmp_path / "bad.avi")), offline=True)
    reader.start()
    frames = drain(reader)
    brightness = np.array([f.image.mean() for f in frames])
    expected_brightness = [10 * k for k in range(24) if k != 12]  # every frame but the broken one, in order
    assert len(frames) == 23 and np.abs(brightness - expected_brightness).max() < 2, brightness.round()
    # numbered as in the file (ground truth and results by frame number agree after the lost one), and timed so
    assert [f.index for f in frames] == [k + 1 for k in range(24) if k != 12]
    assert np.allclose(np.diff([f.time_s for f in frames]), [0.2 if k == 12 else 0.1 for k in range(1, 23)])
    assert reader.status.state == ENDED, reader.status
    assert "1 packet(s) could not be decoded and were skipped (the last: Invalid data" in reader.status.reason
    assert [r.getMessage() for r in caplog.records if "could not be decoded" in r.getMessage()][:1] == [
        f"camera cam: 1 packet(s) could not be decoded and were skipped (the last: Invalid data found when processing "
        "input), before frame 14"]


class BreakingCapture(SizedCapture):
    """A file whose container cannot be read past `frames` frames (an I/O error, FFmpeg's words)."""

    frame_count = 10

    def read(self):
        if self.left <= 0:
            raise DecodeError("Input/output error")
        return super().read()


def test_a_file_whose_container_breaks_midway_is_failed_with_ffmpegs_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "open_capture", lambda config: BreakingCapture((96, 64), 3))
    reader = CameraReader(InputConfig("cam", str(tmp_path / "broken.mp4")), offline=True)
    reader.start()
    assert len(drain(reader)) == 3 and reader.status.state == FAILED
    assert reader.status.reason == (f"video file {tmp_path / 'broken.mp4'} stopped decoding after 3 of the 10 frames it "
                                    "declares (Input/output error); the 3 frames before it were used")


def test_a_stream_whose_name_does_not_resolve_says_so():
    assert "the host name nowhere.invalid does not resolve" in why_unreachable("rtsp://nowhere.invalid/cam", 1.0)
    assert why_unreachable("rtsp://127.0.0.1:notaport/cam", 1.0) == "has no valid host:port; fix the URL"


def test_a_server_that_hangs_up_at_once_is_not_said_to_have_timed_out():
    """It answered and closed before the open timeout: FFmpeg's reason, not "within 10 s"."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def hang_up():
        for _ in range(4):
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        with pytest.raises(SourceError) as error:
            open_capture(InputConfig("door", f"rtsp://127.0.0.1:{port}/cam", open_timeout_s=30.0))
    finally:
        server.close()
    message = str(error.value)
    assert f"answers on 127.0.0.1:{port} but the stream could not be opened (" in message and "within" not in message


def test_a_missing_webcam_is_retried_with_a_reason_and_stops_cleanly():
    reader = CameraReader(InputConfig("desk", "57"), backoff=Backoff(initial_s=0.05, max_s=0.1))
    reader.start()
    wait_until(lambda: reader.status.reconnects >= 2, 10)
    assert reader.status.kind == "webcam" and reader.status.state == RECONNECTING
    assert "webcam 57 cannot be opened" in reader.status.reason and "inputs[desk].path" in reader.status.reason
    reader.stop()
    reader.join(5)
    assert not reader.is_alive() and reader.queue.closed


class FakeWebcam:
    """A cv2.VideoCapture of a 10 frames/s camera whose frames are read 40-80 ms after the camera gave
    them (the first on time), as on a loaded machine; with V4L2, each carries its buffer's stamp."""

    def __init__(self, backend, frames=12):
        self.backend, self.frames, self.read_count, self.start = backend, frames, 0, None
        self.delays = [0.0, *np.random.default_rng(5).uniform(0.04, 0.08, frames - 1)]

    def isOpened(self):
        return True

    def getBackendName(self):
        return self.backend

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: 10.0, cv2.CAP_PROP_FRAME_WIDTH: 32, cv2.CAP_PROP_FRAME_HEIGHT: 24,
                cv2.CAP_PROP_POS_MSEC: 5_000_000.0 + 100.0 * (self.read_count - 1) if self.read_count else 0.0}.get(prop, 0.0)

    def read(self):
        if self.read_count == self.frames:
            time.sleep(0.05)
            return False, None
        self.start = self.start or time.monotonic()
        due = self.start + 0.1 * self.read_count + self.delays[self.read_count]
        time.sleep(max(0.0, due - time.monotonic()))
        self.read_count += 1
        return True, np.zeros((24, 32, 3), np.uint8)

    def release(self):
        pass


@pytest.mark.parametrize("backend", ["V4L2", "MSMF"])
def test_a_webcam_is_timed_by_its_buffer_stamps_where_v4l2_gives_them(monkeypatch, backend):
    """Read 40-80 ms late at random (the first on time, whose delay the rest are placed at), a V4L2
    webcam's frames keep their camera's 0.1 s spacing (the buffers' stamps); where the backend gives
    no such stamp, the reads' times it is. Either way never after the read, never going back."""
    from mctrt import clock

    camera = FakeWebcam(backend)
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda *args: camera)
    reader = CameraReader(InputConfig("desk", "0"), capacity=50)
    reader.start()
    wait_until(lambda: reader.status.frames_read >= 12, 10)
    reader.stop()
    reader.join(5)
    frames = drain(reader)
    gaps = np.diff([f.time_s for f in frames])
    read_gaps = np.diff([f.capture_ts for f in frames])
    assert len(frames) == 12 and np.ptp(read_gaps) > 0.01 and (gaps > 0).all()
    assert all(f.time_s <= clock.wall_at(f.capture_ts) + 1e-6 for f in frames)
    if backend == "V4L2":  # the spacing of the stamps, but for the smallest delay's 1 ms/s leak
        assert np.allclose(gaps, 0.1, rtol=0, atol=2e-4), gaps
    else:
        assert np.allclose(gaps, read_gaps, rtol=0, atol=1e-3), (gaps, read_gaps)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="V4L2 is Linux's")
@pytest.mark.parametrize("v4l2_opens", [True, False])
def test_a_webcam_is_opened_through_v4l2_where_it_can_be(monkeypatch, v4l2_opens):
    """On Linux a webcam is opened through V4L2 (whose buffers carry stamps) rather than whatever
    backend CAP_ANY would pick; where V4L2 cannot open it, any backend that can."""
    tried, released = [], []

    def video_capture(index, backend):
        tried.append((index, backend))
        camera = FakeWebcam("V4L2" if backend == cv2.CAP_V4L2 else "GSTREAMER")
        camera.isOpened = lambda: backend != cv2.CAP_V4L2 or v4l2_opens
        camera.release = lambda: released.append(backend)
        return camera

    monkeypatch.setattr(sources.cv2, "VideoCapture", video_capture)
    capture = open_capture(InputConfig("desk", "2"))
    assert tried == ([(2, cv2.CAP_V4L2)] if v4l2_opens else [(2, cv2.CAP_V4L2), (2, cv2.CAP_ANY)])
    assert released == ([] if v4l2_opens else [cv2.CAP_V4L2])  # the capture that did not open is let go
    assert capture._stamped == v4l2_opens


def test_offline_mode_refuses_streams():
    with pytest.raises(ValueError, match="offline mode reads files only"):
        CameraReader(InputConfig("cam", "rtsp://127.0.0.1/x"), offline=True)


def test_a_live_run_reports_a_camera_that_never_delivers_as_offline_once(tmp_path):
    """Live, a looping file camera beside one whose file is missing: the pipeline raises one
    camera_offline for the missing one (debounced) and keeps processing."""
    write_video(tmp_path / "good.avi", frames=20)
    config = config_from_dict({
        "inputs": [{"camera_id": "good", "path": "good.avi", "loop": True}, {"camera_id": "gone", "path": "gone.avi"}],
        "modules": {"detector": {"model": "unused.onnx"}},
        "events": {"camera_health": {"offline_after_s": 1.5, "debounce_s": 0.5}}, "store": {"path": None}}, tmp_path)
    pipeline = Pipeline(config, detector=NoPeople())
    events = []
    pipeline.listeners.append(lambda results, step_events: events.extend(step_events))
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    wait_until(lambda: any(e["type"] == "camera_offline" and e["camera_id"] == "gone" for e in events), 60, poll=0.1)
    time.sleep(1.0)  # long enough for a second, wrong event to show up
    pipeline.stop()
    runner.join(timeout=30)
    # (on a loaded machine the looping camera may stall past offline_after_s and be judged too, rightly)
    health = [(e["type"], e["camera_id"]) for e in events if e["type"].startswith("camera_") and e["camera_id"] == "gone"]
    assert health == [("camera_offline", "gone")]
    others = sum(e["type"] == "camera_offline" for e in events if e["camera_id"] != "gone")
    assert pipeline.snapshot()["events"]["camera_offline"] == 1 + others  # counted in the run's summary too
    offline = next(e for e in events if e["type"] == "camera_offline" and e["camera_id"] == "gone")
    assert "gone.avi does not exist" in offline["reason"] and offline["global_id"] is None
    assert pipeline.metrics.snapshot()["total_frames"] > 0  # the good camera went on


def test_live_frames_keep_their_pace_when_the_system_clock_steps(tmp_path, monkeypatch):
    """Live frames are stamped on mctrt.clock: the wall time at start counted on by the monotonic
    clock, so the system clock set back an hour mid-run (NTP, a user) is no gap and no time going
    back to the trackers and the health checks."""
    real_time = time.time
    path = write_video(tmp_path / "v.avi", frames=5, fps=10.0)
    reader = CameraReader(InputConfig("cam", str(path), loop=True), capacity=50)
    reader.start()
    wait_until(lambda: reader.status.frames_read >= 3, 20)
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600.0)
    wait_until(lambda: reader.status.frames_read >= 8, 20)
    reader.stop()
    reader.join(5)
    times = np.array([f.time_s for f in drain(reader)])
    assert len(times) >= 8 and np.all(np.diff(times) > 0), times
    assert abs(times[-1] - real_time()) < 30.0  # still the wall time of the run's start, counted on


def test_a_live_run_of_max_frames_does_not_wait_for_a_camera_that_is_away(tmp_path):
    """--max-frames N live, beside a stream nothing answers: the run ends once the delivering camera
    has given N frames, rather than waiting for ever for the dead one."""
    write_video(tmp_path / "good.avi", frames=20)
    config = config_from_dict({
        "inputs": [{"camera_id": "good", "path": "good.avi", "loop": True},
                   {"camera_id": "dead", "path": f"rtsp://127.0.0.1:{free_port()}/live"}],
        "modules": {"detector": {"model": "unused.onnx"}}, "store": {"path": None}}, tmp_path)
    pipeline = Pipeline(config, detector=NoPeople())
    runner = threading.Thread(target=pipeline.run, kwargs={"max_frames": 5}, daemon=True)
    runner.start()
    runner.join(timeout=60)
    stuck = runner.is_alive()
    if stuck:
        pipeline.stop()
        runner.join(timeout=30)
    good, dead = (r.status for r in pipeline.readers)
    assert not stuck, "the run waited for the dead camera"
    assert dead.state == RECONNECTING and good.frames_read >= 5, (good, dead)
    assert pipeline.metrics.snapshot()["frames"]["good"] == 5


def test_a_live_file_that_ends_is_no_outage_for_the_health_events(tmp_path):
    """Live, a file camera that reached its end (no loop) beside a looping one: its end is not a
    camera_offline (it was before: every silent camera was judged)."""
    write_video(tmp_path / "loop.avi", frames=20)
    write_video(tmp_path / "short.avi", frames=3)
    config = config_from_dict({
        "inputs": [{"camera_id": "loop", "path": "loop.avi", "loop": True}, {"camera_id": "short", "path": "short.avi"}],
        "modules": {"detector": {"model": "unused.onnx"}},
        "events": {"camera_health": {"offline_after_s": 1.0, "debounce_s": 0.2}}, "store": {"path": None}}, tmp_path)
    pipeline = Pipeline(config, detector=NoPeople())
    events = []
    pipeline.listeners.append(lambda results, step_events: events.extend(step_events))
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    wait_until(lambda: pipeline.readers and pipeline.readers[1].status.state == ENDED, 30)
    ended_at, judged_before = pipeline.metrics.snapshot()["total_frames"], len(events)
    wait_until(lambda: pipeline.metrics.snapshot()["total_frames"] >= ended_at + 30, 60)  # 3 s of the looping camera
    pipeline.stop()
    runner.join(timeout=30)
    assert pipeline.readers[1].status.state == ENDED
    assert pipeline.metrics.snapshot()["total_frames"] >= ended_at + 30
    # Only what came after its end is asserted on: on a loaded machine a slow start can rightly be judged
    # an outage (the first frame later than offline_after_s), and the looping camera may be judged too.
    assert [e for e in events[judged_before:] if e["type"].startswith("camera_") and e["camera_id"] == "short"] == []


def test_a_raw_h264_file_is_read_at_the_rate_it_declares_not_ffmpegs_default(tmp_path):
    """A raw elementary stream carries no timestamps; FFmpeg's average rate for it is its default 25,
    which paced a 10 frames/s file 2.5 times too fast live and squeezed its times offline."""
    import av

    path = tmp_path / "raw.h264"
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for k in range(12):
            image = av.VideoFrame.from_ndarray(np.full((64, 96, 3), 10 * k, np.uint8), format="bgr24")
            container.mux(stream.encode(image))
        container.mux(stream.encode())
    capture = open_capture(InputConfig("raw", str(path)))
    try:
        assert capture.fps == 10.0
    finally:
        capture.close()
