"""CLEAR MOT (MOTA, MOTP, ID switches), identity (IDF1, IDP, IDR) and HOTA of one sequence, as
TrackEval computes them for MOTChallenge 2D boxes.

mctrt.eval used to call roboflow `trackers` for these, but `trackers` pulls in opencv-python beside
our opencv-python-headless: two distributions of one `cv2` in one environment. The rules here are
TrackEval's (`datasets/mot_challenge_2d_box.py`, `metrics/clear.py`, `identity.py`, `hota.py`), with
the same arithmetic where it decides a match, so that scores agree with TrackEval's to the last bit
or two (sums are taken in another order):

- ground truth is scored where it is marked for consideration (column 7 != 0) and a pedestrian
  (class 1); results with a negative ID are unconfirmed and dropped; a result matched (IoU >= 0.5,
  one-to-one) to a distractor box (classes 2, 7, 8, 12) is dropped, neither false nor true positive;
- frames in which only one side has boxes do not touch CLEAR's memory of last frame's matches;
- ties in an assignment are broken as scipy's linear_sum_assignment breaks them, as in TrackEval.

The same metrics score floor positions in metres (`prepare_floor_sequence`, for mctrt.eval --floor):
points instead of boxes, their similarity 1 - distance / (2 radius) in place of IoU, so that the
match line of 0.5 is the radius. No standard fixes these; the definition is ours.

Everything that does not need an assignment is computed over all frames at once: the IoU of every
ground-truth/result pair that shares a frame is one flat array (`FramePairs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mctrt.boxes import tlwh_to_xyxy

MATCH_IOU = 0.5
"""IoU at which a result may match a ground-truth box (CLEAR and identity): the MOTChallenge rule."""
DISTRACTOR_IOU = 0.5
"""IoU at which a result over a distractor box is dropped before scoring (TrackEval's value)."""
HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
"""The 19 IoU thresholds HOTA averages over, built exactly as TrackEval builds them."""
PEDESTRIAN_CLASS = 1
DISTRACTOR_CLASSES = (2, 7, 8, 12)
"""MOT17's person on vehicle, static person, distractor and reflection: boxes a result may cover freely."""
CONTINUATION_BONUS = 1000.0
"""Added to the score of last frame's pairs so that CLEAR's assignment keeps them while their IoU
passes MATCH_IOU (TrackEval's constant; any value above the largest possible IoU sum would do)."""
EPS = np.finfo(np.float64).eps
"""TrackEval's tolerance on every threshold comparison."""


@dataclass(frozen=True)
class FramePairs:
    """Every (ground truth, result) pair of boxes in the same frame, frames in ascending order.

    Only frames where both sides have boxes appear. Frame k holds ground-truth rows
    gt_start[k] : gt_start[k] + gt_count[k] and result rows pred_start[k] : pred_start[k] + pred_count[k];
    its (gt_count[k], pred_count[k]) similarity matrix (IoU of boxes, or floor_similarity of
    points), row-major, is similarity[pair_start[k] : pair_start[k + 1]].
    pair_gt, pair_pred (P,) are the rows of each pair.
    """

    gt_start: np.ndarray
    gt_count: np.ndarray
    pred_start: np.ndarray
    pred_count: np.ndarray
    pair_start: np.ndarray
    pair_gt: np.ndarray
    pair_pred: np.ndarray
    similarity: np.ndarray

    @classmethod
    def build(
        cls, gt_frame: np.ndarray, gt_values: np.ndarray, pred_frame: np.ndarray, pred_values: np.ndarray,
        similarity: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> FramePairs:
        """gt_frame (G,), pred_frame (R,) sorted ascending; values (G, k), (R, k): tlwh boxes, compared
        by IoU, unless similarity (paired rows -> (P,)) says otherwise."""
        frames = np.intersect1d(gt_frame, pred_frame)
        gt_start = np.searchsorted(gt_frame, frames)
        gt_count = np.searchsorted(gt_frame, frames, side="right") - gt_start
        pred_start = np.searchsorted(pred_frame, frames)
        pred_count = np.searchsorted(pred_frame, frames, side="right") - pred_start
        sizes = gt_count * pred_count
        pair_start = np.concatenate([[0], np.cumsum(sizes)])
        block = np.repeat(np.arange(len(frames)), sizes)
        within = np.arange(pair_start[-1]) - pair_start[block]
        pair_gt = gt_start[block] + within // pred_count[block]
        pair_pred = pred_start[block] + within % pred_count[block]
        if similarity is None:
            values = pair_iou(tlwh_to_xyxy(gt_values)[pair_gt], tlwh_to_xyxy(pred_values)[pair_pred])
        else:
            values = similarity(gt_values[pair_gt], pred_values[pair_pred])
        return cls(gt_start, gt_count, pred_start, pred_count, pair_start, pair_gt, pair_pred, values)

    def __len__(self) -> int:
        return len(self.gt_start)

    def frame(self, k: int) -> tuple[slice, slice, np.ndarray]:
        """Frame k's ground-truth rows, result rows and (gt_count, pred_count) similarity matrix (a view)."""
        gt_rows = slice(self.gt_start[k], self.gt_start[k] + self.gt_count[k])
        pred_rows = slice(self.pred_start[k], self.pred_start[k] + self.pred_count[k])
        values = self.similarity[self.pair_start[k] : self.pair_start[k + 1]]
        return gt_rows, pred_rows, values.reshape(self.gt_count[k], self.pred_count[k])


def pair_iou(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """IoU of a_xyxy[i] and b_xyxy[i], (P, 4) float64 each -> (P,).

    TrackEval's arithmetic step for step, in float64 (mctrt.iou_xyxy works in float32, which moves
    pairs across the 0.5 line); boxes or unions of no area give 0.
    """
    inter_w = np.maximum(np.minimum(a_xyxy[:, 2], b_xyxy[:, 2]) - np.maximum(a_xyxy[:, 0], b_xyxy[:, 0]), 0)
    inter_h = np.maximum(np.minimum(a_xyxy[:, 3], b_xyxy[:, 3]) - np.maximum(a_xyxy[:, 1], b_xyxy[:, 1]), 0)
    inter = inter_w * inter_h
    area_a = (a_xyxy[:, 2] - a_xyxy[:, 0]) * (a_xyxy[:, 3] - a_xyxy[:, 1])
    area_b = (b_xyxy[:, 2] - b_xyxy[:, 0]) * (b_xyxy[:, 3] - b_xyxy[:, 1])
    union = area_a + area_b - inter
    return _divide_where((area_a > EPS) & (area_b > EPS) & (union > EPS), inter, union)


def _divide_where(mask: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where mask, else 0, without dividing by the masked-out denominators."""
    return np.where(mask, numerator / np.where(mask, denominator, 1.0), 0.0)


@dataclass(frozen=True)
class MotSequence:
    """The boxes of one sequence that are scored, ready for the metrics.

    gt_ids (G,), pred_ids (R,): IDs renumbered 0..num_gt_ids-1 and 0..num_pred_ids-1 (in the order of
    the original IDs), rows sorted by frame (file order within a frame); pairs: their IoUs.
    """

    gt_ids: np.ndarray
    pred_ids: np.ndarray
    num_gt_ids: int
    num_pred_ids: int
    pairs: FramePairs


def prepare_sequence(gt_rows: np.ndarray, pred_rows: np.ndarray) -> MotSequence:
    """gt_rows (G, 9) in the MOT17 layout frame,id,left,top,w,h,consider,class,visibility;
    pred_rows (R, >= 6) frame,id,left,top,w,h,... -> the boxes that count, as TrackEval picks them.
    """
    gt_rows = gt_rows[np.argsort(gt_rows[:, 0], kind="stable")]
    pred_rows = pred_rows[np.argsort(pred_rows[:, 0], kind="stable")]
    # MOTChallenge files hold integers in these columns; TrackEval truncates whatever else is there.
    gt_frame, gt_ids = gt_rows[:, 0].astype(np.int64), gt_rows[:, 1].astype(np.int64)
    gt_class = gt_rows[:, 7].astype(np.int64)
    pred_frame, pred_ids = pred_rows[:, 0].astype(np.int64), pred_rows[:, 1].astype(np.int64)

    confirmed = pred_ids >= 0
    pred_frame, pred_ids, pred_tlwh = pred_frame[confirmed], pred_ids[confirmed], pred_rows[confirmed, 2:6]
    keep = _off_distractors(gt_frame, gt_rows[:, 2:6], np.isin(gt_class, DISTRACTOR_CLASSES), pred_frame, pred_tlwh)
    pred_frame, pred_ids, pred_tlwh = pred_frame[keep], pred_ids[keep], pred_tlwh[keep]

    scored = (gt_rows[:, 6] != 0) & (gt_class == PEDESTRIAN_CLASS)
    gt_frame, gt_ids, gt_tlwh = gt_frame[scored], gt_ids[scored], gt_rows[scored, 2:6]
    gt_unique, gt_index = np.unique(gt_ids, return_inverse=True)
    pred_unique, pred_index = np.unique(pred_ids, return_inverse=True)
    return MotSequence(
        gt_ids=gt_index.reshape(-1),
        pred_ids=pred_index.reshape(-1),
        num_gt_ids=len(gt_unique),
        num_pred_ids=len(pred_unique),
        pairs=FramePairs.build(gt_frame, gt_tlwh, pred_frame, pred_tlwh),
    )


def floor_similarity(radius_m: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Similarity of paired floor points (P, 2) in metres: 1 - distance / (2 radius_m), at least 0.
    So the match line of 0.5 is a distance of radius_m, and HOTA's thresholds run from 0.1 to 1.9
    radius_m; two points at the same spot score 1."""

    def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(0.0, 1.0 - np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1]) / (2.0 * radius_m))

    return similarity


def prepare_floor_sequence(gt_rows: np.ndarray, pred_rows: np.ndarray, radius_m: float) -> MotSequence:
    """gt_rows, pred_rows (N, 4): frame,id,x,y with x, y in floor metres (every row scored) -> the
    sequence, its pairs compared by floor_similarity(radius_m)."""
    gt_rows = gt_rows[np.argsort(gt_rows[:, 0], kind="stable")]
    pred_rows = pred_rows[np.argsort(pred_rows[:, 0], kind="stable")]
    gt_unique, gt_index = np.unique(gt_rows[:, 1].astype(np.int64), return_inverse=True)
    pred_unique, pred_index = np.unique(pred_rows[:, 1].astype(np.int64), return_inverse=True)
    pairs = FramePairs.build(gt_rows[:, 0].astype(np.int64), gt_rows[:, 2:4], pred_rows[:, 0].astype(np.int64),
                             pred_rows[:, 2:4], floor_similarity(radius_m))
    return MotSequence(gt_ids=gt_index.reshape(-1), pred_ids=pred_index.reshape(-1), num_gt_ids=len(gt_unique),
                       num_pred_ids=len(pred_unique), pairs=pairs)


def _off_distractors(
    gt_frame: np.ndarray, gt_tlwh: np.ndarray, is_distractor: np.ndarray, pred_frame: np.ndarray, pred_tlwh: np.ndarray
) -> np.ndarray:
    """(R,) bool: False for results that the one-to-one matching against all ground truth of their
    frame (scored or not) gives to a distractor box."""
    keep = np.ones(len(pred_frame), dtype=bool)
    in_frame = np.isin(gt_frame, gt_frame[is_distractor])
    if not in_frame.any() or not len(pred_frame):
        return keep
    pairs = FramePairs.build(gt_frame[in_frame], gt_tlwh[in_frame], pred_frame, pred_tlwh)
    is_distractor = is_distractor[in_frame]
    for k in range(len(pairs)):
        gt_rows, pred_rows, iou = pairs.frame(k)
        iou = np.where(iou < DISTRACTOR_IOU - EPS, 0.0, iou)
        rows, cols = linear_sum_assignment(-iou)
        hit = iou[rows, cols] > EPS
        on_distractor = is_distractor[gt_rows][rows[hit]]
        keep[pred_rows.start + cols[hit][on_distractor]] = False
    return keep


@dataclass(frozen=True)
class ClearMetrics:
    """CLEAR MOT: mota = (tp - fp - id_switches) / gt boxes; motp = mean IoU of the matches."""

    mota: float
    motp: float
    true_positives: int
    false_positives: int
    false_negatives: int
    id_switches: int


def clear_metrics(seq: MotSequence, match_iou: float = MATCH_IOU) -> ClearMetrics:
    """Per frame, a one-to-one matching at IoU >= match_iou that keeps last frame's pairs where it
    can; a ground-truth ID matched to another result ID than at its previous match is a switch."""
    num_gt, num_pred = len(seq.gt_ids), len(seq.pred_ids)
    previous_frame = np.full(seq.num_gt_ids, -1)  # result ID matched in the last frame with both sides, or -1
    last_match = np.full(seq.num_gt_ids, -1)  # result ID matched the last time this person was matched, or -1
    true_positives = id_switches = 0
    iou_sum = 0.0
    for k in range(len(seq.pairs)):
        gt_rows, pred_rows, iou = seq.pairs.frame(k)
        gt, pred = seq.gt_ids[gt_rows], seq.pred_ids[pred_rows]
        score = CONTINUATION_BONUS * (pred[np.newaxis, :] == previous_frame[gt][:, np.newaxis]) + iou
        score[iou < match_iou - EPS] = 0
        rows, cols = linear_sum_assignment(-score)
        matched = score[rows, cols] > EPS
        rows, cols = rows[matched], cols[matched]
        matched_gt, matched_pred = gt[rows], pred[cols]
        before = last_match[matched_gt]
        id_switches += int(np.count_nonzero((before >= 0) & (before != matched_pred)))
        last_match[matched_gt] = matched_pred
        previous_frame[:] = -1
        previous_frame[matched_gt] = matched_pred
        true_positives += len(rows)
        iou_sum += float(iou[rows, cols].sum())
    false_negatives, false_positives = num_gt - true_positives, num_pred - true_positives
    # TrackEval scores a sequence without ground truth 0, not minus its false positives.
    mota = (true_positives - false_positives - id_switches) / max(1.0, num_gt) if num_gt else 0.0
    return ClearMetrics(
        mota=mota,
        motp=iou_sum / max(1.0, true_positives),
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
        id_switches=id_switches,
    )


@dataclass(frozen=True)
class IdentityMetrics:
    """IDF1 = 2 idtp / (2 idtp + idfp + idfn), idp = idtp / result boxes, idr = idtp / ground-truth boxes."""

    idf1: float
    idp: float
    idr: float
    idtp: int
    idfp: int
    idfn: int


def identity_metrics(seq: MotSequence, match_iou: float = MATCH_IOU) -> IdentityMetrics:
    """One assignment of ground-truth IDs to result IDs (or to nothing) for the whole sequence, the
    one with the fewest ID false positives plus false negatives; a box counts as an ID true positive
    where its assigned partner is in the same frame at IoU >= match_iou."""
    num_gt, num_pred = len(seq.gt_ids), len(seq.pred_ids)
    if num_gt == 0 or num_pred == 0:
        return IdentityMetrics(0.0, 0.0, 0.0, 0, num_pred, num_gt)
    g, t = seq.num_gt_ids, seq.num_pred_ids
    gt_count = np.bincount(seq.gt_ids, minlength=g).astype(np.float64)
    pred_count = np.bincount(seq.pred_ids, minlength=t).astype(np.float64)
    close = seq.pairs.similarity >= match_iou  # TrackEval compares without EPS here
    cell = seq.gt_ids[seq.pairs.pair_gt[close]] * t + seq.pred_ids[seq.pairs.pair_pred[close]]
    together = np.bincount(cell, minlength=g * t).reshape(g, t).astype(np.float64)

    # Rows: ground-truth IDs, then one "unmatched" row per result ID; columns: result IDs, then one
    # "unmatched" column per ground-truth ID. Pairing an ID with its own "unmatched" slot costs all
    # of its boxes; 1e10 forbids a slot of someone else.
    fn_cost = np.zeros((g + t, t + g))
    fp_cost = np.zeros((g + t, t + g))
    fn_cost[:g, t:] = 1e10
    fp_cost[g:, :t] = 1e10
    fn_cost[:g, :t] = gt_count[:, np.newaxis] - together
    fn_cost[np.arange(g), t + np.arange(g)] = gt_count
    fp_cost[:g, :t] = pred_count[np.newaxis, :] - together
    fp_cost[g + np.arange(t), np.arange(t)] = pred_count
    rows, cols = linear_sum_assignment(fn_cost + fp_cost)
    idfn = int(fn_cost[rows, cols].sum())
    idfp = int(fp_cost[rows, cols].sum())
    idtp = num_gt - idfn
    return IdentityMetrics(
        idf1=idtp / max(1.0, idtp + 0.5 * idfp + 0.5 * idfn),
        idp=idtp / max(1.0, idtp + idfp),
        idr=idtp / max(1.0, idtp + idfn),
        idtp=idtp,
        idfp=idfp,
        idfn=idfn,
    )


@dataclass(frozen=True)
class HotaMetrics:
    """HOTA = mean over HOTA_ALPHAS of sqrt(DetA * AssA); det_a, ass_a are those means too."""

    hota: float
    det_a: float
    ass_a: float


def hota_metrics(seq: MotSequence) -> HotaMetrics:
    """HOTA (Luiten et al. 2021): per frame, the assignment favours pairs whose IDs overlap often over
    the sequence; each threshold alpha then counts the matches with IoU >= alpha."""
    num_gt, num_pred = len(seq.gt_ids), len(seq.pred_ids)
    if num_gt == 0 or num_pred == 0:
        return HotaMetrics(0.0, 0.0, 0.0)
    g, t, pairs = seq.num_gt_ids, seq.num_pred_ids, seq.pairs
    pair_gt_id, pair_pred_id = seq.gt_ids[pairs.pair_gt], seq.pred_ids[pairs.pair_pred]
    gt_count = np.bincount(seq.gt_ids, minlength=g).astype(np.float64)
    pred_count = np.bincount(seq.pred_ids, minlength=t).astype(np.float64)

    # How strongly each ground-truth ID and result ID belong together: each frame shares a box's
    # similarity between its rivals in the row and the column.
    row_sum = np.bincount(pairs.pair_gt, weights=pairs.similarity, minlength=num_gt)
    col_sum = np.bincount(pairs.pair_pred, weights=pairs.similarity, minlength=num_pred)
    share_denominator = col_sum[pairs.pair_pred] + row_sum[pairs.pair_gt] - pairs.similarity
    share = _divide_where(share_denominator > EPS, pairs.similarity, share_denominator)
    potential = np.bincount(pair_gt_id * t + pair_pred_id, weights=share, minlength=g * t).reshape(g, t)
    alignment = potential / (gt_count[:, np.newaxis] + pred_count[np.newaxis, :] - potential)

    matched = []  # indices into the pairs
    for k in range(len(pairs)):
        gt_rows, pred_rows, iou = pairs.frame(k)
        score = alignment[seq.gt_ids[gt_rows][:, np.newaxis], seq.pred_ids[pred_rows][np.newaxis, :]] * iou
        rows, cols = linear_sum_assignment(-score)
        matched.append(pairs.pair_start[k] + rows * pairs.pred_count[k] + cols)
    matched = np.concatenate(matched) if matched else np.empty(0, dtype=np.int64)
    matched_iou = pairs.similarity[matched]
    alpha, match = np.nonzero(matched_iou[np.newaxis, :] >= HOTA_ALPHAS[:, np.newaxis] - EPS)
    true_positives = np.bincount(alpha, minlength=len(HOTA_ALPHAS)).astype(np.float64)

    # Association: per alpha, how often each (gt ID, result ID) matched, against how often either appeared.
    matched_gt_id, matched_pred_id = pair_gt_id[matched][match], pair_pred_id[matched][match]
    cells, together = np.unique((alpha * g + matched_gt_id) * t + matched_pred_id, return_counts=True)
    cell_alpha, cell_gt, cell_pred = cells // (g * t), cells // t % g, cells % t
    together = together.astype(np.float64)
    jaccard = together / np.maximum(1, gt_count[cell_gt] + pred_count[cell_pred] - together)
    weighted = np.bincount(cell_alpha, weights=together * jaccard, minlength=len(HOTA_ALPHAS))
    ass_a = weighted / np.maximum(1, true_positives)
    det_a = true_positives / np.maximum(1, num_gt + num_pred - true_positives)
    return HotaMetrics(
        hota=float(np.mean(np.sqrt(det_a * ass_a))),
        det_a=float(np.mean(det_a)),
        ass_a=float(np.mean(ass_a)),
    )
