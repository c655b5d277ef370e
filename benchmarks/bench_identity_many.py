"""Cross-camera identity on many random cuts of PETS09-S2L1, quick enough to compare settings: the
instrument for tuning (bench_identity.py reports; this one chooses, and never sees its held-out splits).

One decision of the associator can move a split's IDF1 by 0.05 either way, so a setting judged on a
handful of splits is judged on noise. Here the same settings run on some 85 cuts and are compared
pair-wise, cut by cut: the mean difference from the first setting, its standard error, and how many
cuts got better or worse by more than 0.005. A second table says where each setting's wrong IDs come
from (wrong_ids): a track given someone else's ID, a person split into IDs of their own, or the
per-camera tracker moving a track onto another person; what to work on next.

The cuts: 2-4 vertical strips with blind gaps of 40-110 px between them, over the first half, the
second half or the whole clip, drawn from a fixed seed (with --cuts, overlapping ones may be named
too: O cuts, whose strips share 20-140 px, drawn alike from a seed of their own); any within 40 px of a held-out split
(bench_identity's H1-H3, and pets09_split2) is left out. --check runs the next 200 draws instead (some 75 cuts,
R200-R399): cuts kept for checking, once, a choice made on the first ones, where a choice's gain on the cuts it was
picked on is partly luck. To be quick, the detector runs once on the
whole frames: a strip keeps the boxes lying at least 35 % inside it, clipped to it; re-ID embeds the
same pixels it would in the strip (the clipped box in the whole frame), once for every cut that asks.
That is the shortcut's limit: a detector run on a strip finds a person cut by its edge less often
than clipping does, and the strips bench_identity scores are videos written again (mctrt.splits,
mp4v), which moves detection scores, so absolute figures are not bench_identity's. With --as-videos
each cut is what bench_identity runs (its strips written as videos, the detector run on each, re-ID
on their pixels): it gives bench_identity's T1 and T7 (0.669, 0.635) and T5 and T6 within 0.006
(0.823, 0.767 on an Intel Xeon against 0.829, 0.765 on an AMD EPYC), where the shortcut gives 0.713,
0.657, 0.802 and 0.810. The detector then takes some 2-3 minutes a cut on 2 cores; --cache DIR keeps
its boxes for the next run.

With --posed every strip is a camera whose pose is known (the lens and pose of fitted_pose, which
place floor points within 3 % of their distance from the camera of where PETS09's homography does),
so that the rules for such cameras run (geometry/feet.py): PETS09 itself has only the homography.

Two ceilings, with the shortcut only, say what limits the IDs: --truth-boxes gives the detector's place
to the ground truth's boxes (each strip keeps those at least 35 % inside it, clipped, as above), so that the
per-camera tracks are as good as they get (--drop P misses each box with probability P, --jitter S moves
each edge by S box heights, one standard deviation); --truth-embeddings gives re-ID's place to vectors that
know each box's person (its ground-truth box clipped to the strip, IoU >= 0.5; cosine about 0.99 for one
person, 0 for two; a box of nobody's gets a vector of its own): appearance as good as it gets.

With --calibration-error M each strip's homography is not the exact one but one a user would fit
(measured_homography): four floor marks, their floor positions measured with M metres of error (one
standard deviation per axis, drawn from a seed of the strip's edges): how the IDs hold when the
cameras disagree about where people stand. It first prints how far that puts the ground truth's
foot points.

    MCTRT_ASSETS=../shared python benchmarks/bench_identity_many.py \\
        [--setting "gate 2.5: floor.gate_sigma=2.5" ...] [--draws 200] [--check] [--cuts R2,R6] [--as-videos [--cache DIR]] [--posed]
        [--reid-model OSNET.onnx] [--input-size H,W|auto] [--nms-iou X] [--precision int8] [--truth-boxes [--drop P] [--jitter S]] [--truth-embeddings]
        [--calibration-error M] [--reverse]

Three keys are the bench's own: time_jitter_s moves each camera's capture times by that many seconds (sd;
time_seed draws them), to see how far the IDs hang on exact times; reverse=1 plays each cut backwards (its
last frame first, capture times counting up, the ground truth renumbered alike): the same people walking
the other way, footage no setting was chosen on (docs/identity.md). --reverse gives every setting
reverse=1, the first one too, so that settings are compared with each other on the backward footage.

The first setting is always the config as it is (configs/pets09.yaml); keys are AssociationConfig
fields, floor.* those of its floor settings, tracker.* ByteTrackConfig's, output.* OutputConfig's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import yaml
from bench_identity import SPLITS
from common import match_boxes, print_table, save

from mctrt import lapjv
from mctrt.boxes import tlwh_to_xyxy, xyxy_to_tlwh
from mctrt.config import config_from_dict, load_config
from mctrt.errors import ConfigError
from mctrt.eval import EvalResult, evaluate_cameras, evaluate_floor, load_ground_truth
from mctrt.io.mot import read_mot, result_rows
from mctrt.models import Detector, Embedder
from mctrt.pipeline import Pipeline
from mctrt.splits import Strip, make_split, parse_strips, strip_ground_truth
from mctrt.types import Detections, Frame

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = ("0:256,320:576,640:768", "0:220,300:480,560:768", "0:360,420:768", "0:448,320:768")  # H1-H3, split2
NEAR_PX = 40
MIN_INSIDE = 0.35  # of a box's area inside a strip, for the strip's detector to have found it
SEED = 12345


def edges(strips: str) -> list[int]:
    return [int(v) for part in strips.split(",") for v in part.split(":")]


def random_cuts(draws: int, width: int, overlapping: bool = False) -> dict[str, tuple[str, tuple[int, int]]]:
    """name -> (strips, (first, last) frame): from `draws` draws of the fixed seed, those that fit
    (strips >= 100 px) and are not near a held-out split. R cuts have blind gaps of 40-110 px between
    their strips; overlapping ones (O, drawn from a seed of their own) share 20-140 px instead."""
    rng = np.random.default_rng(SEED + 1 if overlapping else SEED)
    cuts = {}
    for i in range(draws):
        count, gap = int(rng.integers(2, 5)), int(rng.integers(40, 110))
        if overlapping:
            gap = -int(rng.integers(20, 140))
        centres = np.sort(rng.choice(np.arange(120, 650), count - 1, replace=False))
        spans, x = [], 0
        for c in centres.tolist():
            spans.append((x, c - gap // 2))
            x = c + gap - gap // 2
        spans.append((x, width))
        if any(b - a < 100 for a, b in spans):
            continue
        frames = [(1, 400), (396, 795), (1, 795)][int(rng.integers(0, 3))]
        strips = ",".join(f"{a}:{b}" for a, b in spans)
        near = any(len(edges(strips)) == len(edges(h)) and max(abs(a - b) for a, b in zip(edges(strips), edges(h))) <= NEAR_PX
                   for h in HELD_OUT)
        if not near:
            cuts[f"{'O' if overlapping else 'R'}{i}"] = (strips, frames)
    return cuts


class ClippedDetector:
    """The whole frame's detections, as a detector run on each strip would give them (see above).
    `now` is set before each step: (frame index, strip) per image."""

    def __init__(self, whole: list[Detections]) -> None:
        self.whole, self.now = whole, []

    def detect(self, images):
        out = []
        for index, s in self.now:
            found = self.whole[index - 1]
            box = found.xyxy
            clipped = np.c_[np.maximum(box[:, 0], s.x0), np.maximum(box[:, 1], s.y0),
                            np.minimum(box[:, 2], s.x1), np.minimum(box[:, 3], s.y1)]
            inside = np.clip(clipped[:, 2] - clipped[:, 0], 0, None) * np.clip(clipped[:, 3] - clipped[:, 1], 0, None)
            keep = inside >= MIN_INSIDE * (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
            shifted = (clipped[keep] - np.array([s.x0, s.y0, s.x0, s.y0])).astype(np.float32)
            out.append(Detections(shifted, found.scores[keep], found.class_ids[keep]))
        return out


class ClippedEmbedder:
    """Re-ID of strip boxes computed on the whole frame (the same pixels), remembered across cuts."""

    def __init__(self, model: Embedder, frames: list[np.ndarray]) -> None:
        self.model, self.frames, self.now, self.answers = model, frames, [], {}

    def embed(self, images, boxes_per_image):
        keys, todo = [], {}
        for (index, s), boxes in zip(self.now, boxes_per_image):
            whole = np.asarray(boxes, np.float64) + np.array([s.x0, s.y0, s.x0, s.y0])
            for box in whole:
                key = (index, *np.round(box, 1).tolist())
                keys.append(key)
                if key not in self.answers:
                    todo.setdefault(index, {})[key] = box
        if todo:
            indices = sorted(todo)
            features = self.model.embed([self.frames[i - 1] for i in indices],
                                        [np.array(list(todo[i].values()), np.float32) for i in indices])
            for key, feature in zip([k for i in indices for k in todo[i]], features):
                self.answers[key] = feature
        return np.stack([self.answers[k] for k in keys]) if keys else np.zeros((0, 512), np.float32)


def truth_detections(gt: np.ndarray, frames: int, drop: float = 0.0, jitter: float = 0.0, seed: int = 1) -> list[Detections]:
    """The ground truth's boxes of every frame (1..frames) as detections scoring 0.9 (--truth-boxes):
    each missed with probability `drop`, each edge moved by `jitter` box heights (one standard deviation)."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in range(1, frames + 1):
        rows = gt[gt[:, 0] == frame]
        xyxy = tlwh_to_xyxy(rows[:, 2:6])[rng.random(len(rows)) >= drop]
        xyxy = xyxy + jitter * (xyxy[:, 3:4] - xyxy[:, 1:2]) * rng.normal(size=xyxy.shape)
        out.append(Detections(xyxy.astype(np.float32), np.full(len(xyxy), 0.9, np.float32), np.zeros(len(xyxy), np.int64)))
    return out


class TruthEmbedder:
    """Embeddings that know each box's person (--truth-embeddings): the person's own random unit vector
    plus a little noise (cosine about 0.99 for one person, about 0 for two); a box matching nobody (IoU
    >= 0.5 with a ground-truth box clipped to its strip) gets a vector of its own. `now` as for
    ClippedEmbedder."""

    def __init__(self, gt: np.ndarray, seed: int = 0) -> None:
        self.gt, self.now, self.rng = gt, [], np.random.default_rng(seed)
        self.people: dict[int, np.ndarray] = {}

    def _unit(self, v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    def embed(self, images, boxes_per_image):
        out = []
        for (index, s), boxes in zip(self.now, boxes_per_image):
            truth = self.gt[self.gt[:, 0] == index].copy()
            clipped = np.clip(tlwh_to_xyxy(truth[:, 2:6]), [s.x0, s.y0, s.x0, s.y0], [s.x1, s.y1, s.x1, s.y1])
            truth[:, 2:6] = xyxy_to_tlwh(clipped)
            whole = np.asarray(boxes, np.float64).reshape(-1, 4) + np.array([s.x0, s.y0, s.x0, s.y0])
            mine = np.c_[np.zeros((len(whole), 2)), xyxy_to_tlwh(whole)]
            person = dict(match_boxes(mine, truth))
            for i in range(len(whole)):
                noise = 0.1 * self.rng.normal(size=512) / np.sqrt(512)
                if i in person:
                    p = int(truth[person[i], 1])
                    base = self.people.setdefault(p, self._unit(self.rng.normal(size=512)))
                else:
                    base = self._unit(self.rng.normal(size=512))
                out.append(self._unit(base + noise))
        return np.array(out, np.float32).reshape(-1, 512)


class CachedDetector:
    """The detector run on each strip's own frames (--as-videos), its boxes kept per (frame, strip) and
    saved to `path` when given. `now` is set before each step, as for ClippedDetector."""

    def __init__(self, model: Detector, path: Path | None) -> None:
        self.model, self.path, self.now = model, path, []
        self.boxes = pickle.loads(path.read_bytes()) if path is not None and path.exists() else {}
        self.fresh = False

    def detect(self, images):
        keys = [(index, s.name) for index, s in self.now]
        if any(k not in self.boxes for k in keys):
            self.boxes.update(zip(keys, self.model.detect(images)))
            self.fresh = True
        return [self.boxes[k] for k in keys]

    def save(self) -> None:
        if self.path is not None and self.fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(pickle.dumps(self.boxes))


class StripEmbedder:
    """Re-ID on the strips' own pixels (--as-videos), remembered for the other settings of the cut."""

    def __init__(self, model: Embedder) -> None:
        self.model, self.now, self.answers = model, [], {}

    def embed(self, images, boxes_per_image):
        keys = [[(index, s.name, *np.round(box, 1).tolist()) for box in boxes] for (index, s), boxes in zip(self.now, boxes_per_image)]
        todo = [i for i, k in enumerate(keys) if any(key not in self.answers for key in k)]
        if todo:
            features = self.model.embed([images[i] for i in todo], [boxes_per_image[i] for i in todo])
            self.answers.update(zip([key for i in todo for key in keys[i]], features))
        flat = [key for k in keys for key in k]
        return np.stack([self.answers[key] for key in flat]) if flat else np.zeros((0, 512), np.float32)


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def strip_videos(video: Path, gt: Path, image_to_floor, strips_text: str, frames: tuple[int, int], out: Path) -> dict[str, list]:
    """Each strip's frames as bench_identity sees them: written as a video by mctrt.splits, read back."""
    return {s.name: read_video(out / s.name / f"{s.name}.mp4")
            for s in make_split(video, gt, image_to_floor, strips_text, out, frames)}


def with_setting(config, setting: dict[str, float]):
    """The config with association fields (floor.* for its floor settings, tracker.* for the per-camera
    tracker's, output.* for the results files') replaced; a value takes the type of the one it replaces
    (track_buffer is an int)."""
    association = config.association
    part = {prefix: {k.removeprefix(prefix): v for k, v in setting.items() if k.startswith(prefix)}
            for prefix in ("floor.", "tracker.", "output.")}
    for prefix, section in (("tracker.", config.tracker), ("output.", config.output)):
        part[prefix] = {k: type(getattr(section, k))(v) for k, v in part[prefix].items()}
    top = {k: v for k, v in setting.items()
           if not k.startswith(("floor.", "tracker.", "output.")) and k not in ("time_jitter_s", "time_seed", "reverse")}
    association = dataclasses.replace(association, floor=dataclasses.replace(association.floor, **part["floor."]), **top)
    return dataclasses.replace(config, association=association, tracker=dataclasses.replace(config.tracker, **part["tracker."]),
                               output=dataclasses.replace(config.output, **part["output."]))


def input_size(text: str) -> tuple[int, int] | str:
    """--input-size: "H,W" (the detector's config checks that they are multiples of 32) or "auto"."""
    if text == "auto":
        return text
    try:
        height, width = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W such as 384,512, got {text!r}") from None
    return height, width


def non_negative(text: str) -> float:
    value = float(text)
    if not (np.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"expected a number of metres >= 0, got {text!r}")
    return value


def parse_setting(text: str) -> tuple[str, dict[str, float]]:
    name, _, assignments = text.partition(":")
    values = {}
    for part in (p.strip() for p in assignments.split(",") if p.strip()):
        key, _, value = part.partition("=")
        value = value.strip()  # a whole number stays one: integer fields (maturity, confirm_frames) refuse 3.0
        values[key.strip()] = int(value) if value.lstrip("-").isdigit() else float(value)
    return name.strip(), values


def fitted_pose(image_to_floor: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A pinhole camera (K (3, 3), its principal point the image centre, square pixels) and world ->
    camera pose (4, 4) that reproduce a floor homography: the focal length that makes the homography's
    first two columns, through K's inverse, perpendicular and of one length (both conditions are
    linear in 1 / focal^2: least squares, so a camera square to the floor's axes, where one of them
    says nothing, still has one); they and their cross product, made a rotation."""
    floor_to_image = np.linalg.inv(image_to_floor)
    centre = np.array([width / 2.0, height / 2.0])
    a, b = (floor_to_image[:2, k] - centre * floor_to_image[2, k] for k in (0, 1))
    za, zb = floor_to_image[2, 0], floor_to_image[2, 1]
    image_part, depth_part = np.array([a @ b, a @ a - b @ b]), np.array([za * zb, za * za - zb * zb])
    numerator, denominator = -(image_part @ depth_part), image_part @ image_part  # of 1 / focal^2
    if not (numerator > 0 and denominator > 0):
        raise ValueError("fitted_pose: this homography fixes no focal length (a camera looking straight down, or one "
                         "no pinhole with its principal point at the image centre gives)")
    focal = np.sqrt(denominator / numerator)
    k = np.array([[focal, 0.0, centre[0]], [0.0, focal, centre[1]], [0.0, 0.0, 1.0]])
    m = np.linalg.solve(k, floor_to_image)
    m /= np.sqrt(np.linalg.norm(m[:, 0]) * np.linalg.norm(m[:, 1])) * np.sign(m[2, 2])  # the floor in front
    u, _, vt = np.linalg.svd(np.c_[m[:, 0], m[:, 1], np.cross(m[:, 0], m[:, 1])])
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = u @ vt, m[:, 2]
    return k, pose


def measured_homography(strip: Strip, image_to_floor: np.ndarray, error_m: float) -> np.ndarray:
    """A strip's homography as a user would fit it: four floor marks at 20 % and 80 % of its width and
    40 % and 90 % of its height, their image points exact and their floor positions measured with
    error_m metres of error (one standard deviation per axis, drawn from a seed of the strip's edges:
    one camera, one calibration, in every cut), the homography fitted to the four pairs."""
    true_h, width, height = strip.homography(image_to_floor), strip.x1 - strip.x0, strip.y1 - strip.y0
    image = np.array([[0.2 * width, 0.4 * height], [0.8 * width, 0.4 * height], [0.8 * width, 0.9 * height],
                      [0.2 * width, 0.9 * height]], np.float64)
    floor = cv2.perspectiveTransform(image[None], true_h)[0]
    floor += np.random.default_rng([strip.x0, strip.x1, strip.y0, strip.y1]).normal(0.0, error_m, floor.shape)
    fitted = cv2.getPerspectiveTransform(image.astype(np.float32), floor.astype(np.float32))
    return fitted / fitted[2, 2]


def floor_errors(strips: list[Strip], frames: tuple[int, int], gt: np.ndarray, image_to_floor: np.ndarray,
                 error_m: float) -> np.ndarray:
    """How far the measured homographies put the ground truth's foot points (of the boxes each strip
    keeps, in the cut's frames) from where the exact ones do, metres; inf beyond the fitted horizon."""
    rows = gt[(gt[:, 0] >= frames[0]) & (gt[:, 0] <= frames[1])]
    out = []
    for s in strips:
        kept = strip_ground_truth(rows, s)
        feet = np.c_[kept[:, 2] + kept[:, 4] / 2, kept[:, 3] + kept[:, 5], np.ones(len(kept))]
        marks = np.array([(s.x1 - s.x0) / 2, 0.65 * (s.y1 - s.y0), 1.0])  # on the floor under both
        exact_h, fitted_h = s.homography(image_to_floor), measured_homography(s, image_to_floor, error_m)
        exact, fitted = feet @ exact_h.T, feet @ fitted_h.T
        off = np.hypot(*(fitted[:, :2] / fitted[:, 2:] - exact[:, :2] / exact[:, 2:]).T)
        floor_side = fitted[:, 2] * (fitted_h @ marks)[2] > 0  # w's sign as the marks': this side of the horizon
        out.append(np.where(floor_side, off, np.inf))
    return np.concatenate(out) if out else np.zeros(0)


def run_cut(base: dict, strips: list[Strip], frames: tuple[int, int], gt: np.ndarray, setting: dict[str, float],
            models: tuple, strip_image, work: Path, image_to_floor, lens: tuple | None = None,
            calibration_error: float = 0.0) -> tuple[float, EvalResult, dict[str, int]]:
    """IDF1 of one cut under one setting, the scores of its floor positions (world.txt against where
    the people seen by some strip stand), and its wrong IDs by kind (wrong_ids). strip_image(frame index,
    strip) gives a strip's pixels in a frame of the whole clip. lens: (K, pose) of the whole frame
    (fitted_pose) to give the strips instead of their homographies. calibration_error: metres of error
    in the floor marks each strip's homography is fitted to (measured_homography; 0: the exact one)."""
    def calibration(s: Strip) -> dict:
        if lens is None:
            h = measured_homography(s, image_to_floor, calibration_error) if calibration_error else s.homography(image_to_floor)
            return {"image_to_floor": h.tolist()}
        k = lens[0] - np.array([[0.0, 0.0, s.x0], [0.0, 0.0, s.y0], [0.0, 0.0, 0.0]])  # a strip moves the principal point
        return {"intrinsics": k.tolist(), "distortion": [], "world_to_camera": lens[1].tolist()}

    data = dict(base, inputs=[{"camera_id": s.name, "path": str(base["_video"]), "calibration": calibration(s)}
                              for s in strips])
    data.pop("_video")
    setting = dict(setting)
    jitter_s, seed = setting.pop("time_jitter_s", 0.0), setting.pop("time_seed", 0)
    reverse = bool(setting.pop("reverse", 0))
    config = with_setting(config_from_dict(data, base=ROOT / "configs"), setting)
    first, last = frames
    rows = gt[(gt[:, 0] >= first) & (gt[:, 0] <= last)].copy()
    rows[:, 0] = (last - rows[:, 0] + 1) if reverse else rows[:, 0] - (first - 1)  # the frames as the run numbers them
    for s in strips:
        (work / "gt" / s.name / "gt").mkdir(parents=True, exist_ok=True)
        np.savetxt(work / "gt" / s.name / "gt" / "gt.txt", strip_ground_truth(rows, s), delimiter=",", fmt="%.6g")
    detector, embedder = models
    pipeline = Pipeline(config, offline=True, output_dir=work / "out", use_store=False, detector=detector, embedder=embedder)
    start = 1_000_000.0
    # each camera's capture times off by jitter_s (sd): how much the IDs hang on exact times
    rng = np.random.default_rng([seed, *[s.x0 for s in strips]])
    jitter = rng.normal(0.0, jitter_s, (last - first + 1, len(strips))) if jitter_s else np.zeros((last - first + 1, len(strips)))
    tracks = {}  # (camera, frame) -> (track IDs, their boxes as MOT rows)
    for index in (range(last, first - 1, -1) if reverse else range(first, last + 1)):
        detector.now = embedder.now = [(index, s) for s in strips]
        n = last - index if reverse else index - first  # steps since the run began
        for r in pipeline.process([Frame(s.name, n + 1, time.monotonic(), start + n / 10.0 + jitter[index - first, j],
                                         np.ascontiguousarray(strip_image(index, s))) for j, s in enumerate(strips)]):
            t = r.tracks
            tracks[(r.camera_id, r.step.index)] = (t.track_id, result_rows(r.step.index, t.track_id, t.xyxy, t.score))
    pipeline.close()
    return (evaluate_cameras(work / "gt", work / "out")[0].idf1, evaluate_floor(work / "gt", work / "out"),
            wrong_ids(work, [s.name for s in strips], tracks))


def wrong_ids(work: Path, cameras: list[str], tracks: dict) -> dict[str, int]:
    """Where the wrong global IDs come from: every ground-truth box matched by a result box (IoU >= 0.5),
    counted by kind. Each person is paired with one global ID (the most boxes in common, one-to-one,
    close to how IDF1 pairs them); each per-camera track with the person it covers most. A box under its
    person's ID is `right`; otherwise, when its track covers another person most, the tracker swapped
    people (`tracker swap`); when its track is its person's but the ID another person's, association
    gave the track someone else (`wrong person`); when that ID is nobody's, it split the person
    (`split`). Rows filled in a gap (`output.fill_gaps_s`, score 0) had no track and are left out."""
    seen = []  # (person, camera, track, global ID)
    for cam in cameras:
        truth = load_ground_truth(work / "gt" / cam / "gt" / "gt.txt")  # the boxes mctrt.eval scores (no flag 0)
        rows = read_mot(work / "out" / f"{cam}.txt", what="results")
        rows = rows[rows[:, 6] != 0] if len(rows) else rows
        for frame in np.unique(rows[:, 0]).tolist() if len(rows) else []:
            mine, theirs = rows[rows[:, 0] == frame], truth[truth[:, 0] == frame]
            track_id, boxes = tracks[(cam, int(frame))]
            # each written row's track: the recorded box it was written from
            nearest = np.abs(mine[:, None, 2:6] - boxes[None, :, 2:6]).sum(axis=2).argmin(axis=1)
            for i, j in match_boxes(mine, theirs):
                seen.append((int(theirs[j, 1]), cam, int(track_id[nearest[i]]), int(mine[i, 1])))
    if not seen:
        return {}
    people, gids = sorted({p for p, *_ in seen}), sorted({g for *_, g in seen})
    person_at, gid_at = {p: k for k, p in enumerate(people)}, {g: k for k, g in enumerate(gids)}
    common = np.zeros((len(people), len(gids)))
    covers: dict[tuple[str, int], Counter] = {}
    for p, cam, t, g in seen:
        common[person_at[p], gid_at[g]] += 1
        covers.setdefault((cam, t), Counter())[p] += 1
    row_to_col, _ = lapjv(common.max() - common, common.max() - 0.5)  # pairs with a box in common
    id_of = {people[i]: gids[j] for i, j in enumerate(row_to_col.tolist()) if j >= 0}
    paired = set(id_of.values())
    kinds = Counter()
    for p, cam, t, g in seen:
        if id_of.get(p) == g:
            kinds["right"] += 1
        elif covers[(cam, t)].most_common(1)[0][0] != p:
            kinds["tracker swap"] += 1
        else:
            kinds["wrong person" if g in paired else "split"] += 1
    return dict(kinds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setting", action="append", default=[], help='"name: key=value, ..." (repeatable)')
    parser.add_argument("--draws", type=int, default=200, help="random draws (about 85 cuts fit of 200)")
    parser.add_argument("--check", action="store_true", help="the check cuts instead: the next `draws` draws of the "
                        "seed (about 75 cuts fit of draws 200-399), to check once a choice made on the tuning cuts")
    parser.add_argument("--cuts", help="comma-separated cut names (R..., overlapping O..., or bench_identity's T1-T7), "
                                       "to look at a few")
    parser.add_argument("--as-videos", action="store_true", help="run each cut as bench_identity does (see above)")
    parser.add_argument("--cache", type=Path, help="with --as-videos: keep the detector's boxes here, per cut")
    parser.add_argument("--posed", action="store_true", help="strips with a lens and pose fitted to the homography")
    parser.add_argument("--reid-model", type=Path, help="another re-ID model (ONNX) in place of the config's, for every setting")
    parser.add_argument("--input-size", type=input_size, help="H,W or auto: the detector's input size in place of the config's (YOLOv8)")
    parser.add_argument("--nms-iou", type=float, help="the detector's NMS overlap in place of the config's")
    parser.add_argument("--precision", choices=("fp32", "int8"), help="the detector's precision in place of the config's "
                        "(int8: calibrated on the PETS09-S2L1 video, as a config with it as input would be)")
    parser.add_argument("--truth-boxes", action="store_true", help="the ground truth's boxes as detections (see above)")
    parser.add_argument("--drop", type=float, default=0.0, help="with --truth-boxes: the chance that a box is missed")
    parser.add_argument("--jitter", type=float, default=0.0, help="with --truth-boxes: box edges moved by this many heights (sd)")
    parser.add_argument("--truth-embeddings", action="store_true", help="embeddings that know each box's person (see above)")
    parser.add_argument("--reverse", action="store_true", help="play every cut backwards, for every setting (see above)")
    parser.add_argument("--calibration-error", type=non_negative, default=0.0, metavar="M",
                        help="each strip's homography fitted to four floor marks measured with M metres of error (sd)")
    args = parser.parse_args()
    if args.calibration_error and args.posed:
        parser.error("--calibration-error perturbs homographies; --posed gives lenses instead")
    if args.as_videos and (args.truth_boxes or args.truth_embeddings):
        parser.error("--truth-boxes and --truth-embeddings work with the shortcut only, not with --as-videos")
    if (args.drop or args.jitter) and not args.truth_boxes:
        parser.error("--drop and --jitter change the ground truth's boxes: add --truth-boxes")
    assets = Path(os.environ.setdefault("MCTRT_ASSETS", str(ROOT.parent / "shared")))
    video = assets / "data/pets09_s2l1/pets09_s2l1.avi"
    config = load_config(ROOT / "configs/pets09.yaml")
    base = yaml.safe_load((ROOT / "configs/pets09.yaml").read_text())
    base.pop("events", None)
    base["store"] = {"path": None}
    base["_video"] = video
    if args.reid_model:
        config = dataclasses.replace(config, reid=dataclasses.replace(config.reid, model=args.reid_model))
    if args.input_size:
        config = dataclasses.replace(config, detector=dataclasses.replace(config.detector, input_size=args.input_size))
        base["modules"]["detector"]["input_size"] = args.input_size if args.input_size == "auto" else list(args.input_size)
    if args.nms_iou is not None:
        config = dataclasses.replace(config, detector=dataclasses.replace(config.detector, nms_iou=args.nms_iou))
        base["modules"]["detector"]["nms_iou"] = args.nms_iou
    if args.precision:
        calibration = config.detector.calibration or (str(video),)
        config = dataclasses.replace(config, detector=dataclasses.replace(config.detector, precision=args.precision,
                                                                          calibration=calibration))
        base["modules"]["detector"].update(precision=args.precision, calibration=list(calibration))
    base["modules"]["detector"]["model"], base["modules"]["reid"]["model"] = str(config.detector.model), str(config.reid.model)
    image_to_floor = config.inputs[0].calibration.camera.image_to_floor
    images = read_video(video)
    height, width = images[0].shape[:2]
    lens = fitted_pose(image_to_floor, width, height) if args.posed else None
    gt_path = assets / "data/pets09_s2l1/gt/gt.txt"
    gt = read_mot(gt_path, what="ground-truth file")
    detector, embedder = Detector.from_config(config.detector), Embedder.from_config(config.reid)
    if not args.as_videos:
        started = time.perf_counter()
        if args.truth_boxes:
            whole = truth_detections(gt, len(images), args.drop, args.jitter)
        else:
            whole = [found for k in range(0, len(images), 8) for found in detector.detect(images[k:k + 8])]
            print(f"detector on {len(images)} whole frames: {time.perf_counter() - started:.0f} s", flush=True)
        models = (ClippedDetector(whole), TruthEmbedder(gt) if args.truth_embeddings else ClippedEmbedder(embedder, images))
    cuts = random_cuts(args.draws, width)
    if args.check:
        cuts = {name: cut for name, cut in random_cuts(2 * args.draws, width).items() if name not in cuts}
    if args.cuts:  # bench_identity's tuning splits may be named too; never its held-out ones
        tuning = {name: (strips, frames or (1, len(images))) for name, (strips, frames, role) in SPLITS.items() if role == "tuning"}
        named = {**random_cuts(2 * args.draws, width), **random_cuts(args.draws, width, overlapping=True), **tuning}
        unknown = [name for name in args.cuts.split(",") if name not in named]
        if unknown:
            parser.error(f"--cuts: no cut named {', '.join(unknown)} (R cuts of the first {2 * args.draws} draws, "
                         f"O cuts of the first {args.draws}, or bench_identity's tuning splits T1-T7)")
        cuts = {name: named[name] for name in args.cuts.split(",")}
    settings = [("as configured", {})] + [parse_setting(s) for s in args.setting]
    if args.reverse:
        settings = [(name, {"reverse": 1, **setting}) for name, setting in settings]
    for name, setting in settings:  # a misspelt key fails here, not after the first cut has run
        try:
            with_setting(config, setting)
        except (TypeError, AttributeError, ConfigError) as error:  # an unknown field, or a value its config refuses
            parser.error(f"--setting {name!r}: {error} (keys: floor.<name>, tracker.<name>, output.<name> or an "
                         "association field)")
    if args.calibration_error:  # what the error does to where people stand, before anything runs
        errors = np.concatenate([floor_errors(parse_strips(strips_text, width, height), frames, gt, image_to_floor,
                                              args.calibration_error) for strips_text, frames in cuts.values()])
        beyond = ~np.isfinite(errors)
        on_floor = errors[~beyond] if (~beyond).any() else np.array([np.nan])
        floor_error = {"median_m": float(np.median(on_floor)), "p90_m": float(np.percentile(on_floor, 90)),
                       "beyond_horizon": int(beyond.sum()), "feet": int(len(errors))}
        print(f"floor marks measured with {args.calibration_error:g} m of error: the ground truth's foot points off by "
              f"{floor_error['median_m']:.2f} m (median), {floor_error['p90_m']:.2f} m (90th percentile); "
              f"{floor_error['beyond_horizon']} of {floor_error['feet']} beyond the fitted horizon", flush=True)
    work = Path(tempfile.mkdtemp(prefix="mctrt-identity-many-"))
    scores = {name: {} for name, _ in settings}
    floor = {name: {} for name, _ in settings}  # the floor's (IDF1, MOTA, mean distance) of each cut
    kinds = {name: Counter() for name, _ in settings}
    for cut, (strips_text, frames) in cuts.items():
        strips = parse_strips(strips_text, width, height)
        if args.as_videos:
            videos = strip_videos(video, gt_path, image_to_floor, strips_text, frames, work / cut / "videos")
            if config.detector.input_size == "auto":  # each cut's own shape, not the box around every cut before it
                detector = Detector.from_config(config.detector)
            models = (CachedDetector(detector, args.cache and args.cache / f"{cut}.pkl"), StripEmbedder(embedder))

            def strip_image(index, s, first=frames[0]):
                return videos[s.name][index - first]
        else:
            def strip_image(index, s):
                return images[index - 1][s.y0:s.y1, s.x0:s.x1]
        for name, setting in settings:
            scores[name][cut], on_floor, found = run_cut(base, strips, frames, gt, setting, models, strip_image, work / cut / name,
                                               image_to_floor, lens, args.calibration_error)
            floor[name][cut] = (on_floor.idf1, on_floor.mota, on_floor.mean_distance_m)
            kinds[name].update(found)
        if args.as_videos:
            models[0].save()
        print(f"{cut} {strips_text} frames {frames[0]}-{frames[1]}: " + "  ".join(f"{n} {scores[n][cut]:.3f}" for n, _ in settings),
              flush=True)
    reference = np.array(list(scores[settings[0][0]].values()))
    rows, summary = [], {}
    for name, setting in settings:
        values = np.array(list(scores[name].values()))
        diff = values - reference
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
        summary[name] = {"setting": setting, "mean_idf1": float(values.mean()), "diff": float(diff.mean()), "se": se,
                         "better": int((diff > 0.005).sum()), "worse": int((diff < -0.005).sum()),
                         "boxes_by_kind": dict(kinds[name]),
                         "floor_idf1": float(np.mean([v[0] for v in floor[name].values()])),
                         "floor_mota": float(np.mean([v[1] for v in floor[name].values()]))}
        rows.append([name, float(values.mean()), float(diff.mean()), se, summary[name]["better"], summary[name]["worse"],
                     summary[name]["floor_idf1"], summary[name]["floor_mota"]])
    print_table(f"Cross-camera IDF1 on {len(cuts)} {'check' if args.check else 'tuning'} cuts of PETS09-S2L1 (held-out splits excluded)",
                ["setting", "mean IDF1", "diff", "se", "better", "worse", "floor IDF1", "floor MOTA"], rows)
    names = ["right", "wrong person", "split", "tracker swap"]
    print_table("Ground-truth boxes found, by the ID they got (share of all found; see wrong_ids)", ["setting", *names],
                [[name, *[kinds[name][k] / max(sum(kinds[name].values()), 1) for k in names]] for name, _ in settings])
    variant = [name for name, on in (("check", args.check), ("videos", args.as_videos), ("posed", args.posed), ("truth_boxes", args.truth_boxes),
                                     (f"calibration_error_{args.calibration_error:g}", args.calibration_error),
                                     ("truth_embeddings", args.truth_embeddings), ("int8", args.precision == "int8"),
                                     ("reversed", args.reverse)) if on]
    if args.input_size:  # the results file of another detector input is named after it
        variant.append("input_" + (args.input_size if args.input_size == "auto" else "x".join(map(str, args.input_size))))
    if args.nms_iou is not None:
        variant.append(f"nms_{args.nms_iou:g}")
    save("_".join(["identity_many", *variant]),
         {"cuts": {k: {"strips": v[0], "frames": list(v[1])} for k, v in cuts.items()}, "summary": summary, "scores": scores,
          "floor_scores": {name: {cut: {"idf1": v[0], "mota": v[1], "mean_distance_m": v[2]} for cut, v in f.items()}
                           for name, f in floor.items()},
          "reid_model": str(config.reid.model), "input_size": config.detector.input_size,
          "precision": config.detector.precision, "nms_iou": config.detector.nms_iou, **({"drop": args.drop, "jitter": args.jitter} if args.truth_boxes else {}),
          **({"calibration_error_m": args.calibration_error, "floor_error": floor_error} if args.calibration_error else {})})


if __name__ == "__main__":
    main()
