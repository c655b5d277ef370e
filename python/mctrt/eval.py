"""python -m mctrt.eval: MOTA, IDF1, HOTA and ID switches of tracking results against ground truth.

    python -m mctrt.eval --gt GT.txt --pred PRED.txt          # one camera
    python -m mctrt.eval --gt GT_DIR --pred PRED_DIR          # several cameras, scored as one
    python -m mctrt.eval --floor --gt GT --pred DIR/world.txt # floor positions (world.txt) in metres

The metrics are computed by mctrt.mot_metrics, by TrackEval's rules. With folders, GT_DIR holds
<camera>/gt/gt.txt and PRED_DIR holds <camera>.txt; all cameras are concatenated in time into one
sequence, so a person earns identity credit only by keeping one ID across cameras.

Ground truth is read in either MOTChallenge layout: MOT16/17/20 (9 columns: ...,consider,class,
visibility; pedestrians scored, distractor classes ignored, as TrackEval does) or MOT15 (10 columns:
...,flag,x,y,z world coordinates; rows with flag 0 are left out, as TrackEval does for MOT15).

--floor scores the people's floor positions an offline run writes (DIR/world.txt: time,frame,
global_id,x,y) against the ground truth's world coordinates (MOT15 columns 8-9, in the floor's
metres; a folder of cameras' ground truth gives one point per person and frame). The metrics are the
same, with points instead of boxes: a position matches a person within --radius metres (1 by
default; similarity 1 - distance / (2 radius), so HOTA's thresholds run from 0.1 to 1.9 radii), and
the table adds the mean distance of the matches. It is how well the site's map is tracked: people
in a blind gap between cameras are on the floor and count as missed unless the run placed them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mctrt.errors import DataError, MctrtError
from mctrt.io.mot import read_mot
from mctrt.io.results import WORLD_HEADER

GT_FORMATS = ("auto", "mot15", "mot17")
MOT17_COLUMNS = 9
FLOOR_RADIUS_M = 1.0  # a floor position within this of a person matches them (--radius)
CUT_SHORT_FRAMES = 25  # results ending this many frames before the ground truth: a note (people may just be lost)


@dataclass(frozen=True)
class EvalResult:
    """Scores of one sequence (or of several cameras scored as one). Ratios are in [0, 1]."""

    name: str
    mota: float
    idf1: float
    hota: float
    id_switches: int
    motp: float
    false_positives: int
    false_negatives: int
    gt_boxes: int
    gt_ids: int
    pred_ids: int
    mean_distance_m: float | None = None  # floor positions only: the mean distance of the matches



def load_ground_truth(path: str | Path, gt_format: str = "auto") -> np.ndarray:
    """Ground-truth rows in the MOT17 layout (frame,id,left,top,w,h,consider,class,visibility)."""
    if gt_format not in GT_FORMATS:
        raise DataError(f"gt_format must be one of {', '.join(GT_FORMATS)}; got {gt_format!r}")
    rows = read_mot(path, what="ground-truth file")
    if gt_format == "auto":
        gt_format = "mot17" if rows.shape[1] == MOT17_COLUMNS else "mot15"
    if gt_format == "mot17":
        if rows.shape[1] < MOT17_COLUMNS:
            raise DataError(f"ground-truth file {path} has {rows.shape[1]} columns; MOT17 ground truth has 9")
        return rows[:, :MOT17_COLUMNS]
    # MOT15: column 7 is a consider flag (when present); there are no classes, everyone is a pedestrian.
    if rows.shape[1] > 6:
        rows = rows[rows[:, 6] != 0]
    out = np.ones((len(rows), MOT17_COLUMNS))
    out[:, :6] = rows[:, :6]
    return out


def _metrics():
    try:
        from mctrt import mot_metrics
    except ImportError as exc:  # scipy, for the assignments
        raise MctrtError(
            f"python -m mctrt.eval needs scipy ({exc}); install it with: pip install 'mctrt[eval]'"
        ) from None
    return mot_metrics


def _score(gt_rows: np.ndarray, pred_rows: np.ndarray, name: str, floor_radius_m: float | None = None) -> EvalResult:
    """Boxes (MOT17 layout against results rows), or floor points (frame,id,x,y both) when
    floor_radius_m is given."""
    mot_metrics = _metrics()
    if len(gt_rows) == 0:
        raise DataError(f"{name}: the ground truth has no {'floor positions' if floor_radius_m else 'boxes'} to score")
    if floor_radius_m is None:
        sequence = mot_metrics.prepare_sequence(gt_rows, pred_rows)
    else:
        sequence = mot_metrics.prepare_floor_sequence(gt_rows, pred_rows, floor_radius_m)
    clear = mot_metrics.clear_metrics(sequence)
    identity = mot_metrics.identity_metrics(sequence)
    hota = mot_metrics.hota_metrics(sequence)
    return EvalResult(
        name=name,
        mota=clear.mota,
        idf1=identity.idf1,
        hota=hota.hota,
        id_switches=clear.id_switches,
        motp=clear.motp,
        false_positives=clear.false_positives,
        false_negatives=clear.false_negatives,
        gt_boxes=clear.true_positives + clear.false_negatives,
        gt_ids=sequence.num_gt_ids,
        pred_ids=len(np.unique(pred_rows[pred_rows[:, 1] >= 0, 1])),
        # the matches' similarity is 1 - distance / (2 radius): their mean gives the mean distance
        mean_distance_m=(None if floor_radius_m is None or clear.true_positives == 0
                         else 2.0 * floor_radius_m * (1.0 - clear.motp)),
    )


def evaluate_sequence(gt_path: str | Path, pred_path: str | Path, gt_format: str = "auto") -> EvalResult:
    """Score one camera's results file against its ground-truth file."""
    gt_rows = load_ground_truth(gt_path, gt_format)
    pred_rows = read_mot(pred_path, what="results file")
    return _score(gt_rows, pred_rows, Path(pred_path).stem)


def _gt_cameras(gt_dir: Path) -> list[str]:
    """The cameras of a ground-truth folder: <camera>/gt/gt.txt."""
    return sorted(p.parent.parent.name for p in gt_dir.glob("*/gt/gt.txt"))


def evaluate_cameras(
    gt_dir: str | Path, pred_dir: str | Path, gt_format: str = "auto"
) -> tuple[EvalResult, list[EvalResult]]:
    """Score cameras as one sequence (IDs shared across cameras), and each camera alone.

    Returns (combined, per_camera). Raises DataError when a camera's results file is missing.
    """
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    cameras = _gt_cameras(gt_dir)
    if not cameras:
        raise DataError(f"no cameras in {gt_dir}: expected {gt_dir}/<camera>/gt/gt.txt")
    if not pred_dir.is_dir():
        why = ("is a file: with a folder of ground truth (--gt), give the folder an offline run wrote (--output)"
               if pred_dir.exists() else "does not exist; check --pred")
        raise DataError(f"results folder {pred_dir} {why}")
    missing = [c for c in cameras if not (pred_dir / f"{c}.txt").is_file()]
    if missing:
        raise DataError(
            f"no results for camera(s) {', '.join(missing)}: expected "
            + ", ".join(str(pred_dir / f"{c}.txt") for c in missing)
        )
    combined_gt, combined_pred, per_camera = [], [], []
    offset = 0
    for camera in cameras:
        gt_rows = load_ground_truth(gt_dir / camera / "gt" / "gt.txt", gt_format)
        pred_rows = read_mot(pred_dir / f"{camera}.txt", what="results file")
        if len(gt_rows):  # a camera nobody walked through has no score of its own; its boxes still count below
            per_camera.append(_score(gt_rows, pred_rows, camera))
        # Shift this camera after the previous ones so that all play as one long sequence.
        last = max([int(r[:, 0].max()) for r in (gt_rows, pred_rows) if len(r)], default=0)
        combined_gt.append(gt_rows + np.r_[offset, np.zeros(gt_rows.shape[1] - 1)])
        combined_pred.append(pred_rows + np.r_[offset, np.zeros(pred_rows.shape[1] - 1)])
        offset += last
    width = max(r.shape[1] for r in combined_pred)
    combined_pred = [np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=-1) for r in combined_pred]
    combined = _score(np.concatenate(combined_gt), np.concatenate(combined_pred), "all cameras")
    return combined, per_camera


def load_floor_ground_truth(path: str | Path) -> np.ndarray:
    """(N, 4) frame,id,x,y: the world coordinates of MOT15 ground truth (columns 8-9), from one file or
    from a folder of <camera>/gt/gt.txt (a person seen by several cameras in a frame is one point)."""
    path = Path(path)
    files = [path / c / "gt" / "gt.txt" for c in _gt_cameras(path)] if path.is_dir() else [path]
    if not files:
        raise DataError(f"no cameras in {path}: expected {path}/<camera>/gt/gt.txt")
    points = []
    for file in files:
        rows = read_mot(file, what="ground-truth file")
        if len(rows) and rows.shape[1] < 10:  # MOT17's 9 columns end in class and visibility, not x, y
            raise DataError(f"ground-truth file {file} has {rows.shape[1]} columns: floor positions need MOT15's "
                            "world coordinates in columns 8-9 (frame,id,left,top,w,h,flag,x,y,z)")
        rows = rows[rows[:, 6] != 0] if len(rows) else rows.reshape(0, 10)
        if len(rows) and np.all(rows[:, 7:9] == -1):
            raise DataError(f"ground-truth file {file} has no world coordinates (columns 8-9 are all -1): "
                            "score floor positions against ground truth that marks where people stand in metres")
        rows = rows[~np.all(rows[:, 7:9] == -1, axis=1)]  # a person whose position was not marked
        points.append(rows[:, [0, 1, 7, 8]])
    points = np.concatenate(points)
    # One point per person and frame: every camera's ground truth gives the same world position.
    _, first = np.unique(points[:, :2], axis=0, return_index=True)
    return points[np.sort(first)]


def load_world(path: str | Path) -> np.ndarray:
    """(N, 4) frame,id,x,y of an offline run's world.txt (or of the one in a results folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "world.txt"
    if not path.is_file():
        raise DataError(f"floor positions {path} do not exist: an offline run with calibrated cameras writes "
                        "DIR/world.txt (python -m mctrt.run --offline --output DIR)")
    with open(path, encoding="utf-8") as file:
        header = file.readline().strip()
    if header != WORLD_HEADER:
        raise DataError(f"{path} is not a world.txt of mctrt: its first line should be {WORLD_HEADER!r}, not {header!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on a file with no rows; none is allowed
            rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: a row is not {WORLD_HEADER} ({exc})") from None
    if rows.size == 0:
        return np.empty((0, 4))
    if rows.shape[1] != 5 or not np.isfinite(rows).all():
        raise DataError(f"{path}: every row must be 5 finite numbers, {WORLD_HEADER}")
    return rows[:, 1:5]


def evaluate_floor(gt: str | Path, pred: str | Path, radius_m: float = FLOOR_RADIUS_M) -> EvalResult:
    """Score a run's floor positions (world.txt) against the ground truth's world coordinates."""
    if not radius_m > 0:
        raise DataError(f"--radius, the floor's match radius, must be > 0 metres; got {radius_m}")
    return _score(load_floor_ground_truth(gt), load_world(pred), f"floor, {radius_m:g} m", radius_m)


def _is_results(path: Path) -> bool:
    """A file mctrt.eval could score as results (a user's notes in the folder are not)."""
    try:
        read_mot(path, what="results file")
    except MctrtError:
        return False
    return True


def caveats(gt: str | Path, pred: str | Path, gt_format: str = "auto") -> list[str]:
    """What a score leaves out, for the user to see: results files of cameras with no ground truth (not
    scored), and results that end long before their ground truth does (a run cut short, e.g. by
    --max-frames, is scored as missing everyone after)."""
    gt, pred = Path(gt), Path(pred)
    if gt.is_dir():
        cameras = _gt_cameras(gt)
        pairs = [(c, gt / c / "gt" / "gt.txt", pred / f"{c}.txt") for c in cameras]
        extra = sorted(p.stem for p in pred.glob("*.txt") if p.stem not in cameras and p.stem != "world" and _is_results(p))
    else:
        pairs, extra = [(pred.stem, gt, pred)], []
    notes = [f"{pred / (c + '.txt')} has no ground truth in {gt} (no {gt / c / 'gt' / 'gt.txt'}): not scored"
             for c in extra]
    for camera, gt_path, pred_path in pairs:
        gt_rows, pred_rows = load_ground_truth(gt_path, gt_format), read_mot(pred_path, what="results file")
        gt_end = int(gt_rows[:, 0].max()) if len(gt_rows) else 0
        pred_end = int(pred_rows[:, 0].max()) if len(pred_rows) else 0
        if gt_end - pred_end > CUT_SHORT_FRAMES:
            notes.append(f"{camera}: results end at frame {pred_end}, ground truth goes on to frame {gt_end}; "
                         "if the run stopped early (--max-frames), every person after it counts as missed")
    return notes


def format_table(results: list[EvalResult]) -> str:
    header = f"{'sequence':<16} {'MOTA':>7} {'IDF1':>7} {'HOTA':>7} {'IDSW':>5} {'FP':>6} {'FN':>6} {'GT IDs':>6} {'IDs':>5}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.name:<16} {r.mota:7.3f} {r.idf1:7.3f} {r.hota:7.3f} {r.id_switches:5d} "
            f"{r.false_positives:6d} {r.false_negatives:6d} {r.gt_ids:6d} {r.pred_ids:5d}"
        )
    lines += [f"{r.name}: mean distance of the matches {r.mean_distance_m:.3f} m"
              for r in results if r.mean_distance_m is not None]
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.eval") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--gt", required=True, help="ground-truth file (or a MOTChallenge sequence's folder, holding "
                        "gt/gt.txt), or a folder of <camera>/gt/gt.txt")
    parser.add_argument("--pred", required=True, help="results file, or a folder of <camera>.txt")
    parser.add_argument("--gt-format", choices=GT_FORMATS, default="auto", help="ground-truth layout (default: by column count)")
    parser.add_argument("--floor", action="store_true",
                        help="score floor positions: --pred is DIR/world.txt (or DIR), --gt has world coordinates")
    parser.add_argument("--radius", type=float, default=FLOOR_RADIUS_M,
                        help=f"with --floor: metres within which a position matches a person (default {FLOOR_RADIUS_M:g})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        if not Path(args.gt).exists():
            raise DataError(f"ground truth {args.gt} does not exist; give --gt a gt.txt file, or a folder of cameras' "
                            "<camera>/gt/gt.txt")
        sequence = Path(args.gt) / "gt" / "gt.txt"
        if sequence.is_file() and not _gt_cameras(Path(args.gt)):  # one MOTChallenge sequence's folder
            args.gt = str(sequence)
        if args.floor:
            if args.gt_format != "auto":
                raise DataError("--gt-format does not apply to --floor: its ground truth is MOT15 with world coordinates")
            results = [evaluate_floor(args.gt, args.pred, args.radius)]
        elif Path(args.gt).is_dir():
            combined, per_camera = evaluate_cameras(args.gt, args.pred, args.gt_format)
            results = [*per_camera, combined]
        else:
            results = [evaluate_sequence(args.gt, args.pred, args.gt_format)]
        for note in [] if args.floor else caveats(args.gt, args.pred, args.gt_format):
            print(f"note: {note}", file=sys.stderr)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
