"""python -m mctrt.eval: single sequences, several cameras scored as one, floor positions (world.txt),
its errors, and its scores against roboflow trackers' (TrackEval's) on real ground truth."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mctrt import ByteTrackConfig
from mctrt.errors import DataError
from mctrt.eval import WORLD_HEADER, caveats, evaluate_cameras, evaluate_floor, evaluate_sequence, load_ground_truth
from mctrt.io.mot import read_mot, write_mot
from mctrt.tracking.offline import track_detections


def walking_gt(ids=(1, 2), frames=20) -> np.ndarray:
    """MOT17 ground truth: people walking right, 40 px apart vertically."""
    rows = [[f, i, 10 + 5 * f, 40 * i, 30, 80, 1, 1, 1.0] for f in range(1, frames + 1) for i in ids]
    return np.array(rows, dtype=np.float64)


def as_results(gt: np.ndarray) -> np.ndarray:
    out = np.full((len(gt), 10), -1.0)
    out[:, :6] = gt[:, :6]
    out[:, 6] = 1.0
    return out


def perturbed_results(gt: np.ndarray) -> np.ndarray:
    """Results made from ground truth by fixed rules (no random numbers, so their scores never move):
    boxes nudged by a repeating pattern of up to 8 px, the two busiest people swap IDs from the middle
    frame on, the third busiest gets a new ID for the last quarter, every 7th box dropped, a copy of
    every 11th moved 60 px right as a false positive, a copy of every 13th with ID -1 (unconfirmed)."""
    rows = as_results(gt)
    i = np.arange(len(rows))
    rows[:, 2] += np.array([-8, -3, 0, 2, 5, 8, -1, 4, -6])[i % 9]
    rows[:, 3] += np.array([3, -5, 0, 7, -2, -8, 1])[i % 7]
    rows[:, 4] += np.array([0, 4, -3, 6, -5])[i % 5]
    ids, counts = np.unique(rows[:, 1], return_counts=True)
    busiest = ids[np.argsort(-counts, kind="stable")]
    first, last = rows[:, 0].min(), rows[:, 0].max()
    late = rows[:, 0] > (first + last) / 2
    a, b = (late & (rows[:, 1] == busiest[0])), (late & (rows[:, 1] == busiest[1]))
    rows[a, 1], rows[b, 1] = busiest[1], busiest[0]
    rows[(rows[:, 0] > first + 0.75 * (last - first)) & (rows[:, 1] == busiest[2]), 1] += 1000
    false_positives = rows[i % 11 == 5].copy()
    false_positives[:, 2] += 60
    false_positives[:, 1] += 2000
    unconfirmed = rows[i % 13 == 2].copy()
    unconfirmed[:, 1] = -1
    return np.concatenate([rows[i % 7 != 3], false_positives, unconfirmed])


def test_perfect_results_score_one(tmp_path):
    gt = walking_gt()
    np.savetxt(tmp_path / "gt.txt", gt, delimiter=",")
    write_mot(tmp_path / "pred.txt", as_results(gt))
    r = evaluate_sequence(tmp_path / "gt.txt", tmp_path / "pred.txt")
    assert (r.mota, r.idf1, r.id_switches, r.false_positives, r.false_negatives) == (1.0, 1.0, 0, 0, 0)
    assert r.hota == pytest.approx(1.0)


def test_an_id_swap_costs_two_switches_and_identity(tmp_path):
    gt = walking_gt()
    pred = as_results(gt)
    late = pred[:, 0] > 10
    pred[late, 1] = 3 - pred[late, 1]  # people 1 and 2 swap IDs from frame 11
    np.savetxt(tmp_path / "gt.txt", gt, delimiter=",")
    write_mot(tmp_path / "pred.txt", pred)
    r = evaluate_sequence(tmp_path / "gt.txt", tmp_path / "pred.txt")
    assert r.id_switches == 2
    assert r.idf1 == pytest.approx(0.5)
    assert r.mota == pytest.approx(1 - 2 / len(gt))


def test_empty_results_miss_everything(tmp_path):
    gt = walking_gt()
    np.savetxt(tmp_path / "gt.txt", gt, delimiter=",")
    (tmp_path / "pred.txt").write_text("")
    r = evaluate_sequence(tmp_path / "gt.txt", tmp_path / "pred.txt")
    assert r.false_negatives == len(gt) and r.idf1 == 0.0 and r.pred_ids == 0


def test_mot15_ground_truth_leaves_out_flag_zero_rows(assets):
    path = assets / "data/pets09_s2l1/gt/gt.txt"
    raw = read_mot(path)
    gt = load_ground_truth(path)
    assert len(gt) == (raw[:, 6] != 0).sum() == 4476
    assert (gt[:, 6:9] == 1).all()


def test_ground_truth_scored_against_itself_is_perfect(assets, tmp_path):
    path = assets / "data/pets09_s2l1/gt/gt.txt"
    write_mot(tmp_path / "pred.txt", as_results(load_ground_truth(path)))
    r = evaluate_sequence(path, tmp_path / "pred.txt")
    assert (r.mota, r.idf1, r.gt_boxes, r.gt_ids) == (1.0, 1.0, 4476, 19)


def split_cameras(assets):
    root = assets / "data/pets09_split2"
    return root, sorted(p.name for p in root.iterdir() if (p / "gt/gt.txt").is_file())


def test_cameras_scored_as_one_sequence_need_one_id_per_person(assets, tmp_path):
    root, cameras = split_cameras(assets)
    assert cameras == ["east", "west"]
    for k, camera in enumerate(cameras):
        results = as_results(load_ground_truth(root / camera / "gt/gt.txt"))
        write_mot(tmp_path / "same" / f"{camera}.txt", results)
        results[:, 1] += 1000 * k  # the same people under other IDs in the second camera
        write_mot(tmp_path / "renamed" / f"{camera}.txt", results)
    same, _ = evaluate_cameras(root, tmp_path / "same")
    renamed, per_camera = evaluate_cameras(root, tmp_path / "renamed")
    assert same.idf1 == 1.0
    assert [c.idf1 for c in per_camera] == [1.0, 1.0]  # each camera alone is still perfect ...
    assert renamed.idf1 < 0.8  # ... but across cameras the identities are split


def test_per_camera_tracking_without_association_loses_cross_camera_identity(assets, tmp_path):
    root, cameras = split_cameras(assets)
    for camera in cameras:
        det_rows = read_mot(root / camera / "det/yolov8n_640.txt")
        write_mot(tmp_path / f"{camera}.txt", track_detections(det_rows, ByteTrackConfig(frame_rate=10)))
    combined, per_camera = evaluate_cameras(root, tmp_path)
    print(f"\npets09_split2, per-camera ByteTrack, no association: IDF1 all cameras {combined.idf1:.3f}, "
          + ", ".join(f"{c.name} {c.idf1:.3f}" for c in per_camera))
    assert combined.idf1 < min(c.idf1 for c in per_camera)


def test_missing_camera_results_name_the_expected_file(assets, tmp_path):
    root, _ = split_cameras(assets)
    write_mot(tmp_path / "west.txt", np.empty((0, 10)))
    with pytest.raises(DataError, match=f"no results for camera\\(s\\) east: expected {tmp_path / 'east.txt'}"):
        evaluate_cameras(root, tmp_path)


def test_unscored_cameras_and_results_cut_short_are_noted(tmp_path):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    for camera in ("a", "b"):
        (gt_dir / camera / "gt").mkdir(parents=True)
        np.savetxt(gt_dir / camera / "gt" / "gt.txt", walking_gt(frames=100), delimiter=",")
    pred_dir.mkdir()
    gt = walking_gt(frames=100)
    write_mot(pred_dir / "a.txt", as_results(gt))
    write_mot(pred_dir / "b.txt", as_results(gt[gt[:, 0] <= 40]))  # stopped at frame 40 (--max-frames)
    write_mot(pred_dir / "c.txt", as_results(gt))  # a camera the ground truth does not have: was ignored silently
    write_mot(pred_dir / "world.txt", np.empty((0, 10)))  # the floor positions: never a camera
    (pred_dir / "notes.txt").write_text("camera b stopped early\n")  # no results: no note
    notes = caveats(gt_dir, pred_dir)
    assert len(notes) == 2
    assert notes[0].startswith(f"{pred_dir / 'c.txt'} has no ground truth") and "not scored" in notes[0]
    assert notes[1].startswith("b: results end at frame 40, ground truth goes on to frame 100")


def test_a_results_folder_that_is_missing_or_a_file_is_named_as_such(tmp_path):
    (tmp_path / "gt/a/gt").mkdir(parents=True)
    (tmp_path / "gt/a/gt/gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    (tmp_path / "a.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    with pytest.raises(DataError, match=r"results folder .*nowhere does not exist; check --pred"):
        evaluate_cameras(tmp_path / "gt", tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"results folder .*a.txt is a file: with a folder of ground truth \(--gt\), "
                                        r"give the folder an offline run wrote \(--output\)"):
        evaluate_cameras(tmp_path / "gt", tmp_path / "a.txt")
    assert evaluate_cameras(tmp_path / "gt", tmp_path)[0].idf1 == 1.0


def test_a_motchallenge_sequence_folder_is_scored_by_its_gt_file(tmp_path, capsys):
    from mctrt.eval import main

    (tmp_path / "SEQ/gt").mkdir(parents=True)
    (tmp_path / "SEQ/gt/gt.txt").write_text("1,1,10,10,20,40,1,1,1\n2,1,12,10,20,40,1,1,1\n")
    (tmp_path / "pred.txt").write_text("1,5,10,10,20,40,0.9,-1,-1,-1\n2,5,12,10,20,40,0.9,-1,-1,-1\n")
    assert main(["--gt", str(tmp_path / "SEQ"), "--pred", str(tmp_path / "pred.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["idf1"] == 1.0


def test_folder_without_cameras_is_rejected(tmp_path):
    with pytest.raises(DataError, match="expected .*/<camera>/gt/gt.txt"):
        evaluate_cameras(tmp_path, tmp_path)


# perturbed_results of each ground truth, scored by roboflow trackers 2.6.1 (trackers.eval.evaluate_mot_sequence,
# which reproduces TrackEval) through mctrt.eval as it was before it computed the metrics itself (commit a97e2c8).
# The new code gave the same numbers to the last bit, HOTA to 1e-16. MOT17-02 (its first 4 frames) has results on every
# ground-truth row, 37 of them on distractor boxes.
# (mota, idf1, hota, motp, id_switches, false_positives, false_negatives, gt_boxes)
SCORED_BY_TRACKERS = {
    "pets09_s2l1": (0.563449508489723, 0.6938073394495413, 0.49914033462632396, 0.7208499668309942,
                    6, 858, 1090, 4476),
    "mot17_mini/MOT17-02-FRCNN": (0.3522727272727273, 0.6934673366834171, 0.5481478631454366, 0.7861329474222802,
                                  2, 39, 16, 88),
}
SPLIT2_SCORED_BY_TRACKERS = {  # pets09_split2, both cameras' results perturbed, scored as one sequence and alone
    "all cameras": (0.5633880789813619, 0.6412806668561144, 0.45860299534455895, 0.7194410779024459,
                    17, 1034, 1315, 5419),
    "east": (0.5635208711433757, 0.6679087098276665, 0.4853762593625788, 0.7179186411105714, 4, 634, 805, 3306),
    "west": (0.5646000946521533, 0.6535471331389698, 0.48123201561894496, 0.7218163832152829, 10, 400, 510, 2113),
}


def scores(r):
    return r.mota, r.idf1, r.hota, r.motp, r.id_switches, r.false_positives, r.false_negatives, r.gt_boxes


@pytest.mark.parametrize("sequence", SCORED_BY_TRACKERS)
def test_scores_equal_roboflow_trackers(assets, tmp_path, sequence):
    gt = assets / "data" / sequence / "gt/gt.txt"
    write_mot(tmp_path / "pred.txt", perturbed_results(load_ground_truth(gt)))
    assert scores(evaluate_sequence(gt, tmp_path / "pred.txt")) == pytest.approx(SCORED_BY_TRACKERS[sequence], abs=1e-9)


def test_camera_scores_equal_roboflow_trackers(assets, tmp_path):
    root, cameras = split_cameras(assets)
    for camera in cameras:
        write_mot(tmp_path / f"{camera}.txt", perturbed_results(load_ground_truth(root / camera / "gt/gt.txt")))
    combined, per_camera = evaluate_cameras(root, tmp_path)
    for r in [combined, *per_camera]:
        assert scores(r) == pytest.approx(SPLIT2_SCORED_BY_TRACKERS[r.name], abs=1e-9), r.name


def test_scores_equal_installed_roboflow_trackers(assets, tmp_path):
    """The reference values above, recomputed where trackers is installed (how they were made)."""
    trackers_eval = pytest.importorskip(
        "trackers.eval", reason="roboflow trackers is the reference (pip install 'mctrt[test]')")
    for sequence in SCORED_BY_TRACKERS:
        gt = load_ground_truth(assets / "data" / sequence / "gt/gt.txt")
        np.savetxt(tmp_path / "gt.txt", gt, delimiter=",", fmt="%.6g")  # lossless for these files
        write_mot(tmp_path / "pred.txt", perturbed_results(gt))
        ours = evaluate_sequence(tmp_path / "gt.txt", tmp_path / "pred.txt")
        theirs = trackers_eval.evaluate_mot_sequence(
            tmp_path / "gt.txt", tmp_path / "pred.txt", metrics=["CLEAR", "HOTA", "Identity"])
        assert (ours.mota, ours.idf1, ours.hota, ours.motp) == pytest.approx(
            (theirs.CLEAR.MOTA, theirs.Identity.IDF1, theirs.HOTA.HOTA, theirs.CLEAR.MOTP), abs=1e-9)
        assert (ours.id_switches, ours.false_positives, ours.false_negatives) == (
            theirs.CLEAR.IDSW, theirs.CLEAR.CLR_FP, theirs.CLEAR.CLR_FN)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


def test_cli_tracks_then_scores_pets09(assets, tmp_path):
    data = assets / "data/pets09_s2l1"
    track = run_cli("mctrt.tracking", "--det", str(data / "det/yolov8n_640.txt"), "--frame-rate", "10",
                    "--output", str(tmp_path / "pets09.txt"))
    assert track.returncode == 0, track.stderr
    assert "795 frames" in track.stdout
    score = run_cli("mctrt.eval", "--gt", str(data / "gt/gt.txt"), "--pred", str(tmp_path / "pets09.txt"))
    assert score.returncode == 0, score.stderr
    header, _, row = score.stdout.strip().splitlines()
    assert header.split()[:5] == ["sequence", "MOTA", "IDF1", "HOTA", "IDSW"]
    assert float(row.split()[1]) > 0.75


def test_cli_scores_camera_folders(assets, tmp_path):
    root, cameras = split_cameras(assets)
    for camera in cameras:
        write_mot(tmp_path / f"{camera}.txt", as_results(load_ground_truth(root / camera / "gt/gt.txt")))
    result = run_cli("mctrt.eval", "--gt", str(root), "--pred", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert '"name": "all cameras"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mctrt.eval", "--gt", "/nonexistent/gt.txt", "--pred", "x.txt"),
         "ground truth /nonexistent/gt.txt does not exist; give --gt a gt.txt file, or a folder of cameras'"),
        (("mctrt.tracking", "--det", "/nonexistent/det.txt", "--output", "o.txt"), "detection file /nonexistent/det.txt does not exist"),
        (("mctrt.tracking", "--det", "d.txt", "--output", "o.txt", "--track-thresh", "3"), "--track-thresh must be in"),
    ],
)
def test_cli_errors_name_the_input_and_exit_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--fuse-score", "flase"), "expected true or false, got 'flase'"),
        (("--num-frames", "0"), "must be at least 1, got 0"),
        (("--output", "{tmp}"), "cannot write --output {tmp}"),
    ],
)
def test_tracking_cli_rejects_bad_options(assets, tmp_path, extra, message):
    det = assets / "data/pets09_s2l1/det/yolov8n_640.txt"
    extra = [e.format(tmp=tmp_path) for e in extra]
    args = ["mctrt.tracking", "--det", str(det), "--output", str(tmp_path / "out.txt"), *extra]
    result = run_cli(*args)
    assert result.returncode == 2
    assert message.format(tmp=tmp_path) in result.stderr


def floor_gt(tmp_path, frames=10):
    """MOT15 ground truth with world coordinates: person 1 walks along x at 0.5 m a frame, person 2
    stands at (0, 3) m; their boxes do not matter here."""
    rows = [[f, i, 10, 10, 20, 60, 1, (0.5 * f, 0.0)[i - 1], (0.0, 3.0)[i - 1], 0] for f in range(1, frames + 1) for i in (1, 2)]
    path = tmp_path / "gt.txt"
    np.savetxt(path, rows, delimiter=",", fmt="%g")
    return path, np.array(rows)


def write_world(folder, rows):
    folder.mkdir(exist_ok=True)
    text = "".join(f"{0.1 * f:.3f},{f:d},{g:d},{x:.3f},{y:.3f}\n" for f, g, x, y in rows)
    (folder / "world.txt").write_text(WORLD_HEADER + "\n" + text)
    return folder


def test_floor_positions_score_by_distance_in_metres(tmp_path):
    gt_path, gt = floor_gt(tmp_path)
    exact = write_world(tmp_path / "exact", [(int(f), int(i) + 40, x, y) for f, i, x, y in gt[:, [0, 1, 7, 8]]])
    result = evaluate_floor(gt_path, exact)
    assert (result.mota, result.idf1, result.hota, result.mean_distance_m) == (1.0, 1.0, 1.0, 0.0)
    # 0.6 m off: inside the default radius of 1 m, and 0.6 m off on average; outside a radius of 0.5 m
    off = write_world(tmp_path / "off", [(int(f), int(i), x + 0.6, y) for f, i, x, y in gt[:, [0, 1, 7, 8]]])
    result = evaluate_floor(gt_path, off)
    assert (result.mota, result.idf1) == (1.0, 1.0) and result.mean_distance_m == pytest.approx(0.6)
    assert 0.0 < result.hota < 1.0
    tight = evaluate_floor(gt_path, off, radius_m=0.5)
    assert (tight.mota, tight.idf1, tight.false_negatives, tight.false_positives) == (-1.0, 0.0, 20, 20)
    assert tight.mean_distance_m is None  # no match, no distance
    # the walker's ID changes halfway: one switch; the person standing is missed in frames 1-5. IDF1:
    # 10 positions under their person's main ID, 5 under another (ID 3), 10 of the truth's 20 missed
    halves = [(int(f), 1 if f <= 5 else 3, x, y) for f, i, x, y in gt[gt[:, 1] == 1][:, [0, 1, 7, 8]]]
    halves += [(int(f), 2, x, y) for f, i, x, y in gt[(gt[:, 1] == 2) & (gt[:, 0] > 5)][:, [0, 1, 7, 8]]]
    result = evaluate_floor(gt_path, write_world(tmp_path / "halves", halves))
    assert (result.id_switches, result.false_negatives, result.false_positives) == (1, 5, 0)
    assert result.mota == pytest.approx((15 - 1) / 20) and result.idf1 == pytest.approx(2 * 10 / (2 * 10 + 5 + 10))


def test_floor_ground_truth_of_several_cameras_is_one_point_per_person_and_frame(tmp_path):
    """Each camera's ground truth marks the same world position for a person both show; positions
    marked -1, -1 (unknown) are left out."""
    _, gt = floor_gt(tmp_path)
    unmarked = gt[(gt[:, 1] == 2) & (gt[:, 0] == 3)].copy()
    unmarked[:, 7:9] = -1
    for camera, rows in (("a", np.r_[gt, unmarked]), ("b", gt[gt[:, 1] == 1])):  # person 1 seen by both cameras
        (tmp_path / "cams" / camera / "gt").mkdir(parents=True)
        np.savetxt(tmp_path / "cams" / camera / "gt" / "gt.txt", rows, delimiter=",", fmt="%g")
    exact = write_world(tmp_path / "run", [(int(f), int(i), x, y) for f, i, x, y in gt[:, [0, 1, 7, 8]]])
    result = evaluate_floor(tmp_path / "cams", exact)
    assert (result.mota, result.false_positives, result.false_negatives, result.gt_boxes, result.gt_ids) == (1.0, 0, 0, 20, 2)


def test_floor_scoring_names_what_is_wrong(tmp_path):
    gt_path, gt = floor_gt(tmp_path)
    no_world = tmp_path / "boxes_only.txt"
    np.savetxt(no_world, np.c_[gt[:, :7], -np.ones((len(gt), 3))], delimiter=",", fmt="%g")
    run = write_world(tmp_path / "run", [(1, 1, 0.5, 0.0)])
    with pytest.raises(DataError, match="no world coordinates"):
        evaluate_floor(no_world, run)
    with pytest.raises(DataError, match="do not exist"):
        evaluate_floor(gt_path, tmp_path / "nowhere")
    (tmp_path / "run" / "world.txt").write_text("frame,id,x,y\n1,1,0,0\n")
    with pytest.raises(DataError, match="not a world.txt"):
        evaluate_floor(gt_path, run)
    with pytest.raises(DataError, match="--radius"):
        evaluate_floor(gt_path, write_world(tmp_path / "fine", [(1, 1, 0.5, 0.0)]), radius_m=0)
    mot17 = tmp_path / "mot17.txt"  # its 9 columns end in class and visibility: no world coordinates
    np.savetxt(mot17, np.c_[gt[:, :6], np.ones((len(gt), 3))], delimiter=",", fmt="%g")
    with pytest.raises(DataError, match="has 9 columns: floor positions need MOT15's world coordinates"):
        evaluate_floor(mot17, run)


def test_cli_scores_floor_positions(tmp_path):
    gt_path, gt = floor_gt(tmp_path)
    run = write_world(tmp_path / "run", [(int(f), int(i), x, y + 0.3) for f, i, x, y in gt[:, [0, 1, 7, 8]]])
    out = run_cli("mctrt.eval", "--floor", "--gt", str(gt_path), "--pred", str(run / "world.txt"))
    assert out.returncode == 0, out.stderr
    assert "floor, 1 m" in out.stdout and "mean distance of the matches 0.300 m" in out.stdout
