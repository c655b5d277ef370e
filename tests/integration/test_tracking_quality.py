"""Tracking quality on real footage: PETS09-S2L1 with the shared YOLOv8n detections, against roboflow
`trackers`' ByteTrackTracker on the same detections, scored in the same run.
"""

import numpy as np
import pytest

from mctrt import ByteTrackConfig
from mctrt.eval import evaluate_sequence
from mctrt.io.mot import iter_detection_frames, read_mot, result_rows, write_mot
from mctrt.tracking.offline import track_detections

trackers = pytest.importorskip("trackers", reason="roboflow trackers is the peer (pip install 'mctrt[test]')")


def peer_results(det_rows: np.ndarray) -> np.ndarray:
    import supervision as sv

    tracker = trackers.ByteTrackTracker(frame_rate=10)
    out = []
    for frame, xyxy, scores in iter_detection_frames(det_rows):
        tracked = tracker.update(sv.Detections(xyxy=xyxy, confidence=scores, class_id=np.zeros(len(xyxy), int)))
        keep = tracked.tracker_id >= 0
        out.append(result_rows(frame, tracked.tracker_id[keep], tracked.xyxy[keep], tracked.confidence[keep]))
    return np.concatenate(out)


@pytest.mark.slow  # the peer tracker runs the whole clip in Python
def test_pets09_mota_and_idf1_at_least_roboflow_trackers(assets, tmp_path):
    data = assets / "data/pets09_s2l1"
    det_rows = read_mot(data / "det/yolov8n_640.txt")
    write_mot(tmp_path / "mctrt.txt", track_detections(det_rows, ByteTrackConfig(frame_rate=10)))
    write_mot(tmp_path / "peer.txt", peer_results(det_rows))
    ours = evaluate_sequence(data / "gt/gt.txt", tmp_path / "mctrt.txt")
    peer = evaluate_sequence(data / "gt/gt.txt", tmp_path / "peer.txt")
    print(f"\nPETS09-S2L1  mctrt: MOTA {ours.mota:.4f} IDF1 {ours.idf1:.4f} HOTA {ours.hota:.4f} IDSW {ours.id_switches}")
    print(f"PETS09-S2L1  trackers.ByteTrackTracker: MOTA {peer.mota:.4f} IDF1 {peer.idf1:.4f} HOTA {peer.hota:.4f} IDSW {peer.id_switches}")
    # Our evaluation reproduces the figures published with the assets for the peer.
    assert peer.mota == pytest.approx(0.792, abs=0.0006) and peer.idf1 == pytest.approx(0.659, abs=0.0006)
    assert ours.mota >= peer.mota
    assert ours.idf1 >= peer.idf1
