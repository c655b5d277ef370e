"""CameraHealth: offline after silence, slow below a frame rate, back to ok, all debounced so that a
hiccup raises nothing; driven by an explicit clock."""

from mctrt.config import CameraHealthConfig
from mctrt.events.health import CameraHealth

CONFIG = CameraHealthConfig(offline_after_s=2.0, min_fps=5.0, window_s=2.0, debounce_s=1.0)


def run(health, start, end, fps, cameras=("a",), reasons=None):
    """Frames of these cameras at `fps` from start to end (s); returns every event raised."""
    events, t, dt = [], start, 1.0 / fps if fps else 0.1
    while t < end - 1e-9:
        events += health.update(t, list(cameras) if fps else [], reasons)
        t += dt
    return events


def kinds(events):
    return [(e["type"], e["camera_id"]) for e in events]


def test_a_camera_that_stops_sending_goes_offline_once_then_ok_when_it_is_back():
    health = CameraHealth(CONFIG, ["a"], now=0.0)
    assert run(health, 0.0, 5.0, fps=10) == []
    offline = run(health, 5.0, 10.0, fps=0, reasons={"a": "the stream stopped sending frames"})
    assert kinds(offline) == [("camera_offline", "a")]
    assert offline[0]["global_id"] is None and offline[0]["reason"] == "the stream stopped sending frames"
    assert 7.9 <= offline[0]["time"] <= 8.1  # silent 2 s, then the 1 s debounce
    back = run(health, 10.0, 14.0, fps=10)
    assert kinds(back) == [("camera_ok", "a")] and health.state("a") == "ok"


def test_a_silence_shorter_than_the_debounce_raises_nothing():
    health = CameraHealth(CONFIG, ["a"], now=0.0)
    run(health, 0.0, 3.0, fps=10)
    assert run(health, 3.0, 5.5, fps=0) == []  # offline from 5.0 on, for only half the debounce
    assert run(health, 5.5, 8.0, fps=10) == []


def test_a_camera_processed_below_min_fps_is_slow_and_others_are_not():
    health = CameraHealth(CONFIG, ["a", "b"], now=0.0)
    events = []
    t = 0.0
    while t < 6.0:  # b every frame at 10/s, a only every fifth
        k = round(t * 10)
        events += health.update(t, ["a", "b"] if k % 5 == 0 else ["b"])
        t += 0.1
    assert kinds(events) == [("camera_slow", "a")] and events[0]["fps"] < CONFIG.min_fps


def test_a_camera_that_never_delivers_goes_offline_after_the_timeout():
    health = CameraHealth(CameraHealthConfig(offline_after_s=1.0, debounce_s=0.5), ["a", "b"], now=0.0)
    events = []
    for k in range(30):
        events += health.update(0.1 * k, ["b"])
    assert kinds(events) == [("camera_offline", "a")]


def test_one_outage_is_offline_then_ok_even_with_a_frame_rate_floor():
    # measured over a window the silence had emptied, the camera read as slow on the way down and back
    health = CameraHealth(CameraHealthConfig(offline_after_s=5.0, min_fps=15.0, window_s=5.0, debounce_s=2.0), ["a"],
                          now=0.0)
    events = run(health, 0.0, 20.0, fps=25) + run(health, 20.0, 30.0, fps=0) + run(health, 30.0, 40.0, fps=25)
    assert kinds(events) == [("camera_offline", "a"), ("camera_ok", "a")]


def test_a_slow_camera_that_dies_goes_from_slow_to_offline_never_ok_between():
    """Silent for the debounce, a camera is on its way offline: it keeps its reported condition (a
    slow one was reported ok while it was silent, before)."""
    config = CameraHealthConfig(offline_after_s=5.0, min_fps=5.0, window_s=2.0, debounce_s=2.0)
    health = CameraHealth(config, ["a"], now=0.0)
    events = run(health, 0.0, 20.0, fps=2)
    events += run(health, 20.0, 30.0, fps=0)
    assert kinds(events) == [("camera_slow", "a"), ("camera_offline", "a")], events


def test_a_file_that_ended_is_no_outage():
    health = CameraHealth(CONFIG, ["a", "b"], now=0.0)
    events = run(health, 0.0, 3.0, fps=10, cameras=("a", "b"))
    t = 3.0
    while t < 10.0:  # a's file ended at 3 s; b goes on
        events += health.update(t, ["b"], ended={"a"})
        t += 0.1
    assert events == [] and health.state("a") == "ok"


def test_a_live_camera_dropping_most_of_its_frames_is_warned_about_once(caplog):
    """Dropping frames that came while busy is by design; losing most of them was silent."""
    from mctrt.io.sources import CameraStatus
    from mctrt.pipeline import DropWarning

    watch = DropWarning(window_s=10.0, share=0.5)
    busy, fine = CameraStatus("busy", "stream"), CameraStatus("fine", "stream")
    warned = []
    for second in range(31):
        busy.frames_read, busy.frames_dropped = 25 * second, 20 * second  # 5 of 25 frames/s processed
        fine.frames_read, fine.frames_dropped = 10 * second, 2 * second
        with caplog.at_level("WARNING", logger="mctrt.pipeline"):
            warned += watch.check([busy, fine], float(second))
    assert warned == ["busy"]  # once, however long it lasts
    assert "camera busy: 200 of its last 250 frames were dropped (processed 5.0 of 25.0 frames/s)" in caplog.text
