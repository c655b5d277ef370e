"""The C++ ByteTracker against the pure-Python reference (reference_bytetrack.py): the same IDs, boxes,
scores and detection indices in every frame, on real PETS09 detections and on synthetic scenes.
"""

from collections import Counter
from dataclasses import asdict

import numpy as np
import pytest
from reference_bytetrack import ReferenceByteTracker

from mctrt import ByteTrackConfig, ByteTracker


def assert_same_run(frames, config: ByteTrackConfig) -> Counter:
    ours = ByteTracker(config)
    reference = ReferenceByteTracker(**asdict(config))
    for k, (xyxy, scores) in enumerate(frames, start=1):
        got = ours.update(xyxy, scores)
        want_xyxy, want_ids, want_scores, want_det = reference.update(xyxy, scores)
        assert got.track_id.tolist() == want_ids.tolist(), f"frame {k}: track IDs differ"
        assert got.det_index.tolist() == want_det.tolist(), f"frame {k}: matched detections differ"
        np.testing.assert_array_equal(got.xyxy, want_xyxy.astype(np.float32), err_msg=f"frame {k}: boxes differ")
        np.testing.assert_array_equal(got.score, want_scores.astype(np.float32), err_msg=f"frame {k}: scores differ")
    return Counter(reference.events)


def test_pets09_detections_track_identically(pets09_detections):
    events = assert_same_run(pets09_detections, ByteTrackConfig(frame_rate=10))
    assert events["refound"] > 0 and events["lost_expired"] > 0


CONFIGS = {
    "defaults": ByteTrackConfig(),
    "10 fps, short buffer": ByteTrackConfig(frame_rate=10, track_buffer=15),
    "demo thresholds, unfused": ByteTrackConfig(fuse_score=False, match_thresh=0.8, track_thresh=0.5, new_track_thresh=0.6),
    "long buffer, eager duplicates": ByteTrackConfig(duplicate_iou=0.6, track_buffer=60),
}


SCENES = {"15 people": {"people": 15}, "60 people, crowded": {"people": 60, "frames": 60}}


@pytest.mark.slow  # ~50 s: the pure-Python reference on 900 busy frames
def test_synthetic_scenes_track_identically(synthetic_scene):
    events = Counter()
    for name, config in CONFIGS.items():
        for seed, scene in enumerate(list(SCENES.values()) * 3):
            try:
                events += assert_same_run(synthetic_scene(seed, **{"frames": 150, **scene}), config)
            except AssertionError as exc:
                raise AssertionError(f"config {name!r}, scene seed {seed}: {exc}") from None
    # The scenes are busy enough to exercise every rule, not just the common path.
    assert all(events[rule] > 0 for rule in ("refound", "tentative_dropped", "lost_expired", "duplicates")), events


def column_of_people(frames=40, people=20):
    """Everyone at the same x (one bucket for the sparse overlap search), walking down slowly."""
    out = []
    for f in range(frames):
        top = np.arange(people, dtype=np.float32)[:, None] * 30 + f * 2
        xyxy = np.c_[np.full((people, 1), 100.0), top, np.full((people, 1), 140.0), top + 90].astype(np.float32)
        out.append((xyxy, np.full(people, 0.9, np.float32)))
    return out


def giant_false_positive(synthetic_scene):
    """A realistic scene plus, every third frame, one box covering the whole image."""
    out = []
    for k, (xyxy, scores) in enumerate(synthetic_scene(9, frames=90, people=20)):
        if k % 3 == 0:
            xyxy = np.r_[xyxy, np.array([[0, 0, 640, 640]], np.float32)]
            scores = np.r_[scores, np.float32(0.8)]
        out.append((xyxy, scores))
    return out


def test_degenerate_layouts_track_identically(synthetic_scene):
    # Equal left edges put every box in one bucket; a frame-sized box makes every pair a candidate.
    assert_same_run(column_of_people(), ByteTrackConfig())
    assert_same_run(giant_false_positive(synthetic_scene), ByteTrackConfig())
