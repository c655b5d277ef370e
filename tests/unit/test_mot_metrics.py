"""mctrt.mot_metrics on sequences small enough to score by hand: TrackEval's rules one at a time.

Boxes are tlwh; every ground-truth box is a considered pedestrian unless a case says otherwise.
"""

import numpy as np
import pytest

from mctrt import iou_xyxy
from mctrt.mot_metrics import FramePairs, clear_metrics, hota_metrics, identity_metrics, pair_iou, prepare_sequence

BOX = (0.0, 0.0, 10.0, 20.0)
FAR = (100.0, 0.0, 10.0, 20.0)


def gt_rows(*rows, consider=1, cls=1):
    """MOT17 ground truth from (frame, id, left, top, w, h) tuples."""
    return np.array([[*r, consider, cls, 1.0] for r in rows], dtype=np.float64).reshape(-1, 9)


def result_rows(*rows):
    """MOTChallenge results from (frame, id, left, top, w, h) tuples."""
    return np.array([[*r, 1.0, -1, -1, -1] for r in rows], dtype=np.float64).reshape(-1, 10)


def score(gt, results):
    seq = prepare_sequence(gt, results)
    return clear_metrics(seq), identity_metrics(seq), hota_metrics(seq)


def walk(frames, person_id=1, box=BOX):
    return [(f, person_id, *box) for f in frames]


def test_perfect_results_score_one():
    clear, identity, hota = score(gt_rows(*walk(range(1, 6))), result_rows(*walk(range(1, 6), 7)))
    assert (clear.mota, clear.motp, identity.idf1, hota.hota) == (1.0, 1.0, 1.0, pytest.approx(1.0))


def test_id_switch_counts_once_and_costs_mota():
    # One person over 10 frames, tracked as ID 1 for 7 frames, then as ID 2.
    clear, _, _ = score(gt_rows(*walk(range(1, 11))), result_rows(*walk(range(1, 8), 1), *walk(range(8, 11), 2)))
    assert (clear.true_positives, clear.false_positives, clear.false_negatives, clear.id_switches) == (10, 0, 0, 1)
    assert clear.mota == pytest.approx((10 - 0 - 1) / 10)


def test_split_track_earns_identity_for_its_longer_part_only():
    # The same split track: the person's ID is paired with track 1 (7 boxes); track 2's 3 boxes are
    # ID false positives and the person's 3 boxes there ID false negatives.
    _, identity, hota = score(gt_rows(*walk(range(1, 11))), result_rows(*walk(range(1, 8), 1), *walk(range(8, 11), 2)))
    assert (identity.idtp, identity.idfp, identity.idfn) == (7, 3, 3)
    assert (identity.idf1, identity.idp, identity.idr) == pytest.approx((0.7, 0.7, 0.7))
    # HOTA: detection perfect; association (7 * 7/10 + 3 * 3/10) / 10 at every threshold.
    assert (hota.det_a, hota.ass_a, hota.hota) == pytest.approx((1.0, 0.58, 0.58**0.5))


def test_false_positive_costs_mota_and_id_precision():
    clear, identity, _ = score(gt_rows(*walk([1, 2])), result_rows(*walk([1, 2], 1), (2, 5, *FAR)))
    assert (clear.true_positives, clear.false_positives, clear.false_negatives) == (2, 1, 0)
    assert clear.mota == pytest.approx((2 - 1) / 2)
    assert (identity.idf1, identity.idp, identity.idr) == pytest.approx((2 / 2.5, 2 / 3, 1.0))


def test_missed_box_costs_mota_and_id_recall_and_the_track_resumes_without_a_switch():
    clear, identity, _ = score(gt_rows(*walk(range(1, 5))), result_rows(*walk([1, 2, 4], 1)))
    assert (clear.true_positives, clear.false_positives, clear.false_negatives, clear.id_switches) == (3, 0, 1, 0)
    assert clear.mota == pytest.approx(3 / 4)
    assert (identity.idf1, identity.idp, identity.idr) == pytest.approx((3 / 3.5, 1.0, 3 / 4))


@pytest.mark.parametrize(
    ("result_box", "matches"),
    [
        ((0, 0, 10, 10), 1),  # IoU 0.5 exactly (half the height): a match
        ((0, 0, 10, 9.9), 0),  # IoU 0.495: a miss and a false positive
        ((0, 10, 10, 20), 0),  # IoU 1/3
    ],
)
def test_a_match_needs_iou_of_at_least_one_half(result_box, matches):
    clear, identity, _ = score(gt_rows((1, 1, *BOX)), result_rows((1, 1, *result_box)))
    assert (clear.true_positives, clear.false_positives, clear.false_negatives) == (matches, 1 - matches, 1 - matches)
    assert identity.idtp == matches


NEAR = (0.0, 0.0, 10.0, 18.0)  # IoU 0.9 with BOX


def test_last_frames_match_is_kept_over_a_closer_box():
    # Frame 1: track 1 sits on the person, track 2 close by. Frame 2: they trade places, but track 1
    # still overlaps enough, so it keeps the person: no switch. Frame 3: track 1 drifts off; track 2 takes over.
    gt = gt_rows(*walk([1, 2, 3]))
    results = result_rows((1, 1, *BOX), (1, 2, *NEAR), (2, 1, *NEAR), (2, 2, *BOX), (3, 1, *FAR), (3, 2, *BOX))
    clear, _, _ = score(gt, results)
    assert (clear.true_positives, clear.false_positives, clear.id_switches) == (3, 3, 1)
    assert clear.motp == pytest.approx((1.0 + 0.9 + 1.0) / 3)


def test_frame_without_results_does_not_clear_last_match():
    # TrackEval skips a frame with boxes on one side only when it remembers last frame's matches, so
    # after frame 2 (no results) track 1 still counts as frame 1's match and keeps the person in frame 3.
    gt = gt_rows(*walk([1, 2, 3]))
    results = result_rows((1, 1, *BOX), (1, 2, *NEAR), (3, 1, *NEAR), (3, 2, *BOX))
    clear, _, _ = score(gt, results)
    assert (clear.true_positives, clear.false_negatives, clear.id_switches) == (2, 1, 0)


def test_results_on_distractors_are_dropped_and_on_other_unscored_boxes_are_false_positives():
    gt = np.concatenate([
        gt_rows((1, 1, *BOX)),
        gt_rows((1, 2, 30, 0, 10, 20), consider=0, cls=7),  # static person: a distractor
        gt_rows((1, 3, 60, 0, 10, 20), consider=0, cls=1),  # a pedestrian marked to be ignored
        gt_rows((1, 4, *FAR), consider=0, cls=3),  # a car
    ])
    results = result_rows((1, 1, *BOX), (1, 2, 30, 0, 10, 20), (1, 3, 60, 0, 10, 20), (1, 4, *FAR))
    seq = prepare_sequence(gt, results)
    assert (len(seq.gt_ids), len(seq.pred_ids)) == (1, 3)
    clear = clear_metrics(seq)
    assert (clear.true_positives, clear.false_positives, clear.false_negatives) == (1, 2, 0)


def test_unconfirmed_results_are_ignored():
    clear, identity, _ = score(gt_rows(*walk([1, 2])), result_rows(*walk([1, 2], 1), (2, -1, *FAR)))
    assert (clear.false_positives, identity.idfp) == (0, 0)


def test_no_results_miss_everything():
    clear, identity, hota = score(gt_rows(*walk([1, 2, 3])), result_rows())
    assert (clear.mota, clear.false_negatives, identity.idf1, identity.idfn, hota.hota) == (0.0, 3, 0.0, 3, 0.0)


def test_without_scored_ground_truth_mota_is_zero_not_negative():
    # TrackEval's convention; the false positives are still counted.
    clear, _, _ = score(gt_rows(*walk([1, 2]), consider=0), result_rows(*walk([1, 2], 1)))
    assert (clear.mota, clear.false_positives) == (0.0, 2)


def test_frame_pairs_hold_each_shared_frames_iou_matrix():
    # Ground truth in frames 1, 1, 2, 3; results in frames 1, 3, 3, 4: only frames 1 and 3 pair up.
    gt_tlwh = np.array([BOX, FAR, BOX, BOX])
    pred_tlwh = np.array([BOX, FAR, NEAR, BOX])
    pairs = FramePairs.build(np.array([1, 1, 2, 3]), gt_tlwh, np.array([1, 3, 3, 4]), pred_tlwh)
    assert len(pairs) == 2
    gt_rows_0, pred_rows_0, iou_0 = pairs.frame(0)
    assert (gt_rows_0, pred_rows_0) == (slice(0, 2), slice(0, 1))
    np.testing.assert_allclose(iou_0, [[1.0], [0.0]])
    gt_rows_1, pred_rows_1, iou_1 = pairs.frame(1)
    assert (gt_rows_1, pred_rows_1) == (slice(3, 4), slice(1, 3))
    np.testing.assert_allclose(iou_1, [[0.0, 0.9]])


def test_pair_iou_agrees_with_iou_xyxy():
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 50, (500, 2, 2))
    size = rng.uniform(0, 30, (500, 2, 2))
    a, b = (np.concatenate([corner[:, k], corner[:, k] + size[:, k]], axis=1) for k in (0, 1))
    expected = np.diag(iou_xyxy(a.astype(np.float32), b.astype(np.float32)))
    np.testing.assert_allclose(pair_iou(a, b), expected, atol=1e-5)
