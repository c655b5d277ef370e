"""ByteTrackConfig: one set of defaults shared by Python and C++, and errors that name the field."""

from dataclasses import FrozenInstanceError, fields

import pytest

from mctrt import ByteTrackConfig
from mctrt._native import core
from mctrt.errors import ConfigError


def test_python_and_cpp_defaults_agree():
    native = core.ByteTrackConfig()
    python = ByteTrackConfig()
    native_fields = {name for name in dir(native) if not name.startswith("_")} - {"validate", "max_frames_lost"}
    assert native_fields == {f.name for f in fields(python)}
    for f in fields(python):
        assert getattr(native, f.name) == getattr(python, f.name), f.name


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("track_thresh", 1.5, "track_thresh must be in \\[0, 1\\]"),
        ("low_thresh", 0.9, "low_thresh must be in \\[0, track_thresh\\]"),  # above track_thresh 0.6
        ("match_thresh", -0.1, "match_thresh"),
        ("track_buffer", -1, "track_buffer must be >= 0"),
        ("motion_gate", -1.0, "motion_gate must be >= 0 \\(0 turns it off\\)"),
        ("motion_gate", float("nan"), "motion_gate"),
        ("velocity_noise", 0.0, "velocity_noise must be a positive fraction of the box height"),
        ("velocity_noise", float("inf"), "velocity_noise"),
        ("velocity_noise", float("nan"), "velocity_noise"),
        ("confirm_frames", 1, "confirm_frames must be 0 \\(off\\) or at least 2"),
        ("confirm_frames", -3, "confirm_frames must be 0"),
        ("frame_rate", 0.0, "frame_rate must be a positive number"),
        ("frame_rate", float("inf"), "frame_rate"),
        ("track_buffer", 30.5, "track_buffer must be int"),
        ("fuse_score", 1, "fuse_score must be bool"),
        ("track_thresh", "0.5", "track_thresh must be float"),
        ("track_thresh", True, "track_thresh must be float"),
        ("track_buffer", 99_999_999_999, "track_buffer must be an integer within -2147483648..2147483647"),
        ("track_buffer", -(2**40), "track_buffer must be an integer within -2147483648..2147483647; got -1099511627776"),
        ("frame_rate", 1e12, "track_buffer \\* frame_rate / 30 must be at most 2147483647 frames"),
    ],
)
def test_bad_value_raises_config_error_naming_the_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        ByteTrackConfig(**{field: value})


def test_config_error_is_also_a_value_error():
    with pytest.raises(ValueError):
        ByteTrackConfig(track_thresh=2.0)


def test_config_is_frozen():
    config = ByteTrackConfig()
    with pytest.raises(FrozenInstanceError):
        config.track_thresh = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(("frame_rate", "track_buffer", "frames"), [(30, 30, 30), (10, 30, 10), (25, 30, 25), (10, 0, 0)])
def test_lost_buffer_scales_with_frame_rate(frame_rate, track_buffer, frames):
    config = ByteTrackConfig(frame_rate=frame_rate, track_buffer=track_buffer)
    assert config.to_native().max_frames_lost == frames
