"""clock.StreamTimes: a stream's frames timed by their own timestamps, not by when they were read."""

import numpy as np

from mctrt.clock import StreamTimes


def test_a_burst_then_jittery_reads_give_the_cameras_regular_times():
    """At a connect, 20 buffered frames (2 s of them) arrive within 20 ms; then frames come every 0.1 s,
    each read 0-40 ms late. Their times: never in the future, never back, and once live, 0.1 s apart."""
    rng = np.random.default_rng(0)
    stamps = 5.0 + 0.1 * np.arange(60)
    walls = np.r_[1000.0 + 0.001 * np.arange(20), 1000.02 + 0.1 * np.arange(1, 41) + rng.uniform(0, 0.04, 40)]
    times = StreamTimes()
    got = np.array([times.time_of(s, w) for s, w in zip(stamps, walls)])
    assert (got <= walls + 1e-9).all() and (np.diff(got) >= 0).all()
    assert np.allclose(np.diff(got[21:]), 0.1, atol=2e-3)  # the reads' spread was 40 ms
    assert np.ptp(np.diff(walls[21:])) > 0.05


def test_a_restarted_stream_starts_over_and_a_frame_without_a_timestamp_has_its_reads_time():
    times = StreamTimes()
    got = [times.time_of(s, w) for s, w in [(100.0, 1000.0), (100.1, 1000.13),
                                            (0.0, 1000.25), (0.1, 1000.36),  # the stream's timestamps began again
                                            (500.0, 1000.45),  # a jump of minutes: started over too
                                            (None, 1000.6)]]
    assert np.allclose(got, [1000.0, 1000.1, 1000.25, 1000.35, 1000.45, 1000.6], rtol=0, atol=1e-3)


def test_a_camera_clock_slower_than_ours_is_followed():
    """The camera's 0.1 s are 0.1001 s of ours: the smallest delay grows 1 ms a second; the times keep
    up with the reads within the leak's few ms instead of falling behind by 1 ms every second."""
    times = StreamTimes()
    got = [times.time_of(0.1 * k, 1000.0 + 0.1001 * k) for k in range(3000)]  # 5 minutes
    assert 0 <= (1000.0 + 0.1001 * 2999) - got[-1] < 0.01


def test_frames_that_come_slower_than_their_timestamps_say_stay_within_max_lag_of_their_reads():
    """Invented timestamps (FFmpeg's 25 a second on a raw stream) on a 10 frames/s camera: the times
    would fall behind by 0.06 s a frame; they go on from no more than MAX_LAG_S before the reads."""
    times = StreamTimes()
    walls = 1000.0 + 0.1 * np.arange(100)
    got = np.array([times.time_of(0.04 * k, w) for k, w in enumerate(walls)])
    assert (np.diff(got) > 0).all() and (walls - got <= StreamTimes.MAX_LAG_S + 1e-9).all()
    assert np.allclose(walls[-50:] - got[-50:], StreamTimes.MAX_LAG_S)
