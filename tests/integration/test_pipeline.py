"""The main job end to end, offline, on real footage with the shipped configs: results files with
global IDs and floor positions, events, the store, the summary, and the quality goals: PETS09-S2L1
MOTA >= 0.80 and IDF1 >= 0.80; cross-camera IDF1 on the two-camera split and on a three-camera
split with blind gaps (made here with python -m mctrt.splits) no lower than measured when these
tests were written (the two-camera split meets its goal of 0.85, the blind gaps not their 0.75);
lab4cam's three people under at most four global IDs, the seated one under one."""

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mctrt.config import load_config
from mctrt.errors import MctrtError
from mctrt.eval import evaluate_cameras, evaluate_sequence
from mctrt.events import EVENT_TYPES
from mctrt.pipeline import Pipeline
from mctrt.store import EventStore

from conftest import pin_onnxruntime, run_mctrt

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
pytestmark = pytest.mark.slow


def on_onnxruntime(config):
    """The config with its models on onnxruntime, where the figures these tests guard were measured
    (see conftest.pin_onnxruntime)."""
    models = {"detector": dataclasses.replace(config.detector, backend="onnxruntime")}
    if config.reid is not None:
        models["reid"] = dataclasses.replace(config.reid, backend="onnxruntime")
    return dataclasses.replace(config, **models)


def test_offline_demo_writes_results_events_store_and_a_summary(demo_run):
    result, tmp = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    for line in ("frames: 1590 in", "west: 795 frames, 0 dropped, ended", "detect", "capture->result", "global IDs:"):
        assert line in result.stdout, result.stdout
    assert "frames/s" in result.stderr  # progress
    rows = np.loadtxt(tmp / "out/west.txt", delimiter=",")
    assert rows.shape[1] == 10 and rows[:, 0].min() >= 1 and rows[:, 0].max() <= 795 and (rows[:, 1] >= 1).all()
    events = [json.loads(line) for line in (tmp / "out/events.jsonl").read_text().splitlines()]
    assert {"entry", "exit", "first_seen", "last_seen", "line_cross", "zone_enter"} <= {e["type"] for e in events}
    for e in events:
        assert e["type"] in EVENT_TYPES and {"time", "camera_id", "global_id", "track_id", "frame"} <= set(e)
    entries = sum(e["type"] == "entry" for e in events)
    store = EventStore(tmp / "store.db")
    try:
        assert store.count() == len(events)
        assert len(store.events(type="entry", limit=10_000)) == entries
        assert any(len(i["cameras"]) == 2 for i in store.identities())  # people seen by both cameras
    finally:
        store.close()


@pytest.mark.usefixtures("demo_int8_cached")
def test_live_run_paces_the_cameras_stores_events_as_they_happen_and_stops_cleanly_on_sigint(assets, tmp_path,
                                                                                          demo_config):
    """Live mode: the files are read at their 10 frames/s, events reach the store while the run goes on,
    and SIGINT ends it with a summary and exit status 0."""
    config = demo_config(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "mctrt.run", "--config", str(config), "--no-server"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "MCTRT_ASSETS": str(assets)})
    try:
        started, entries = time.monotonic(), []
        while time.monotonic() - started < 120 and len(entries) < 2 and process.poll() is None:
            time.sleep(1.0)
            if (tmp_path / "store.db").exists():
                store = EventStore(tmp_path / "store.db")
                entries = store.events(type="entry")
                store.close()
        assert len(entries) >= 2, process.stderr.read() if process.poll() is not None else "no entries in 120 s"
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    elapsed = time.monotonic() - started
    assert process.returncode == 0, stderr[-3000:]
    assert "live (Ctrl-C stops)" in stderr
    frames = int(re.search(r"frames: (\d+) in", stdout).group(1))
    assert 0 < frames <= 2 * 10 * elapsed + 20, stdout  # paced: two cameras at 10 frames/s at most
    assert "west:" in stdout and "connected" in stdout and "global IDs:" in stdout
    store = EventStore(tmp_path / "store.db")
    try:  # the clean stop closed every visit
        assert len(store.events(type="exit", limit=10_000)) == len(store.events(type="entry", limit=10_000)) >= 2
    finally:
        store.close()


@pytest.mark.usefixtures("demo_int8_cached")
def test_an_offline_run_stopped_by_sigterm_says_its_results_are_partial_and_exits_1(assets, tmp_path, demo_config):
    """It exited 0, as a run that read every frame does."""
    process = subprocess.Popen([sys.executable, "-m", "mctrt.run", "--config", str(demo_config(tmp_path)), "--offline",
                                "--no-server", "--no-store", "--output", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "MCTRT_ASSETS": str(assets)})
    try:
        started = time.monotonic()
        while not (tmp_path / "out/west.txt").is_file() or not (tmp_path / "out/west.txt").stat().st_size:
            assert time.monotonic() - started < 120 and process.poll() is None, "no results written"
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 1, stderr[-3000:]
    assert "stopped before the inputs ended" in stderr and "global IDs:" in stdout
    frames = np.loadtxt(tmp_path / "out/west.txt", delimiter=",", ndmin=2)[:, 0]
    assert 0 < frames.max() < 795  # what was read until then, written


def test_two_camera_split_keeps_people_across_cameras(demo_run, assets):
    _, tmp = demo_run
    combined, per_camera = evaluate_cameras(assets / "data/pets09_split2", tmp / "out")
    print(f"pets09_split2 all cameras: IDF1 {combined.idf1:.3f} MOTA {combined.mota:.3f} IDs {combined.pred_ids}")
    # demo.yaml as shipped, INT8 with input_size auto: measured 0.908 (0.878 before output.relink) on an AMD EPYC
    # with AVX-512 VNNI (goal 0.85);
    # INT8's rounding differs from CPU to CPU, so the association itself is guarded on FP32 below
    assert combined.idf1 >= 0.82
    world = np.loadtxt(tmp / "out/world.txt", delimiter=",", skiprows=1)
    assert world.shape[1] == 5 and set(world[:, 2].astype(int)) <= set(
        np.loadtxt(tmp / "out/west.txt", delimiter=",")[:, 1].astype(int)) | set(
        np.loadtxt(tmp / "out/east.txt", delimiter=",")[:, 1].astype(int))
    # where PETS09's ground truth puts its people (its floor columns), 2 m either way: nearly every position is there
    truth = np.loadtxt(assets / "data/pets09_s2l1/gt/gt.txt", delimiter=",")[:, 7:9]
    low, high = truth.min(axis=0) - 2.0, truth.max(axis=0) + 2.0
    inside = ((world[:, 3:5] >= low) & (world[:, 3:5] <= high)).all(axis=1)
    assert inside.mean() > 0.95, f"{inside.mean():.3f} of floor positions inside {low} .. {high}"


def test_two_camera_split_keeps_people_across_cameras_with_the_fp32_detector_at_640(assets, tmp_path, demo_config):
    """The same footage with the detector in FP32 at the model's own 640 x 640 (the association's settings
    were chosen on it): its figure moves less from CPU to CPU than INT8's."""
    config = on_onnxruntime(load_config(demo_config(tmp_path)))
    config = dataclasses.replace(config, detector=dataclasses.replace(config.detector, precision="fp32", input_size=None))
    Pipeline(config, offline=True, output_dir=tmp_path / "out", use_store=False).run()
    combined, _ = evaluate_cameras(assets / "data/pets09_split2", tmp_path / "out")
    print(f"pets09_split2, FP32 at 640: IDF1 {combined.idf1:.3f}")
    assert combined.idf1 >= 0.86  # measured 0.901 (goal 0.85); appearance only: 0.686; no association: 0.513


def test_three_cameras_with_blind_gaps_between_them_keep_people(assets, tmp_path):
    """PETS09-S2L1 cut into three strips with 64 px unseen between them (python -m mctrt.splits): a
    person walking across disappears for a moment and must come back under the same ID."""
    pets = load_config(CONFIGS / "pets09.yaml")
    h = json.dumps(np.asarray(pets.inputs[0].calibration.image_to_floor).tolist())
    split = subprocess.run([sys.executable, "-m", "mctrt.splits", "--video", str(assets / "data/pets09_s2l1/pets09_s2l1.avi"),
                            "--gt", str(assets / "data/pets09_s2l1/gt/gt.txt"), "--image-to-floor", h,
                            "--strips", "0:256,320:576,640:768", "--base-config", str(CONFIGS / "pets09.yaml"),
                            "--out", str(tmp_path / "split")], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "MCTRT_ASSETS": str(assets)})
    assert split.returncode == 0, split.stderr
    split_config = tmp_path / "split/config.yaml"
    split_config.write_text(pin_onnxruntime(split_config.read_text()))
    result = run_mctrt(["--config", str(tmp_path / "split/config.yaml"), "--offline", "--output", str(tmp_path / "out"),
                  "--no-server"], assets)
    assert result.returncode == 0, result.stderr[-3000:]
    combined, _ = evaluate_cameras(tmp_path / "split", tmp_path / "out")
    print(f"three strips with blind gaps: IDF1 {combined.idf1:.3f} MOTA {combined.mota:.3f} IDs {combined.pred_ids}")
    assert combined.idf1 >= 0.70  # measured 0.767 (0.704 before output.relink; H1 of bench_identity; goal 0.75); no association: 0.339


@pytest.mark.parametrize("input_size", [None, "auto"], ids=["as shipped", "input_size auto"])
def test_lab4cam_keeps_its_three_people_under_at_most_four_ids_and_the_seated_one_under_one(assets, tmp_path, monkeypatch,
                                                                                          input_size):
    """Four real overlapping calibrated views, two people walking and one seated all along. With
    `input_size: auto` too (384 x 640 here), which broke the seated person's ID while it was off the
    square's grid (docs/cpu-inference.md); INT8 still does, so it is not tested here."""
    monkeypatch.setenv("MCTRT_ASSETS", str(assets))
    config = on_onnxruntime(load_config(CONFIGS / "lab4cam.yaml"))
    if input_size is not None:
        config = dataclasses.replace(config, detector=dataclasses.replace(config.detector, input_size=input_size))
    pipeline = Pipeline(config, offline=True, output_dir=tmp_path, use_store=False)
    pipeline.run()
    ids = set()
    for cam in ("cam0", "cam1", "cam2", "cam3"):
        rows = np.loadtxt(tmp_path / f"{cam}.txt", delimiter=",", ndmin=2)
        assert len(rows) > 100, cam  # everyone is seen by every camera for most of the clip
        frame_and_id = rows[:, :2].astype(int)
        assert len(np.unique(frame_and_id, axis=0)) == len(rows), f"{cam} shows one global ID twice in a frame"
        ids |= set(rows[:, 1].astype(int).tolist())
    print(f"lab4cam: global IDs {sorted(ids)}")
    assert 3 <= len(ids) <= 4
    world = np.loadtxt(tmp_path / "world.txt", delimiter=",", skiprows=1)
    assert np.abs(world[:, 3:5]).max() < 6.0  # the lab is about 8 m x 9 m around the origin
    # The seated person (at a desk near (2.85, -0.1) m; cam2 sees them at first, cam1 from frame 127)
    # keeps one ID, and no walker takes it: once, a walker's new track in cam3 joined their vague
    # prediction, and they came back under an ID of their own.
    from_desk = np.linalg.norm(world[:, 3:5] - [2.85, -0.1], axis=1)
    at_desk = sorted(set(world[from_desk < 0.8, 2].astype(int).tolist()))
    print(f"lab4cam: at the desk {at_desk}, frames {sorted(set(world[from_desk < 0.8, 1].astype(int).tolist()))[::20]}")
    assert len(at_desk) == 1 and from_desk[world[:, 2] == at_desk[0]].max() < 1.5
    frames = world[world[:, 2] == at_desk[0], 1]
    assert frames.min() <= 5 and frames.max() >= 200  # from the start to the end
    # cam2 sees them throughout: a walker hides them at frames 33-36, and their boxes then score under
    # 0.5; the track is found again by boxes above track_thresh 0.3 (configs/lab4cam.yaml), not lost
    cam2 = np.loadtxt(tmp_path / "cam2.txt", delimiter=",", ndmin=2)
    seated = cam2[cam2[:, 1] == at_desk[0], 0]
    assert len(seated) >= 150 and seated.max() >= 200, f"cam2 shows them in {len(seated)} frames"
    print(f"lab4cam: cam2 shows them in {len(seated)} frames, {seated.min():.0f}-{seated.max():.0f}")


def test_pets09_meets_the_single_camera_goals(assets, tmp_path, monkeypatch):
    monkeypatch.setenv("MCTRT_ASSETS", str(assets))
    pipeline = Pipeline(on_onnxruntime(load_config(CONFIGS / "pets09.yaml")), offline=True, output_dir=tmp_path,
                        use_store=False)
    pipeline.run()
    result = evaluate_sequence(assets / "data/pets09_s2l1/gt/gt.txt", tmp_path / "pets09.txt")
    print(f"PETS09-S2L1: MOTA {result.mota:.4f} IDF1 {result.idf1:.4f} IDSW {result.id_switches}")
    assert result.mota >= 0.80 and result.idf1 >= 0.80  # measured 0.871 / 0.922; ByteTrack alone on this detector: 0.792 / 0.659


def keep_every(assets, k: int, folder):
    """PETS09-S2L1 keeping every k-th frame: a video at 10 / k frames/s and its ground truth renumbered."""
    capture = cv2.VideoCapture(str(assets / "data/pets09_s2l1/pets09_s2l1.avi"))
    writer = cv2.VideoWriter(str(folder / "pets09.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0 / k, (768, 576))
    index = 0
    while (image := capture.read()[1]) is not None:
        if index % k == 0:
            writer.write(image)
        index += 1
    writer.release()
    truth = np.loadtxt(assets / "data/pets09_s2l1/gt/gt.txt", delimiter=",")
    truth = truth[(truth[:, 0] - 1) % k == 0]
    truth[:, 0] = (truth[:, 0] - 1) // k + 1
    np.savetxt(folder / "gt.txt", truth, delimiter=",", fmt="%g")
    return folder / "pets09.avi", folder / "gt.txt"


@pytest.mark.slow  # ~1 min: the detector on 398 + 265 frames
@pytest.mark.parametrize(("k", "goal"), [(2, 0.70), (3, 0.60)])
def test_pets09_at_a_half_and_a_third_of_its_frame_rate_keeps_identities(assets, tmp_path, monkeypatch, k, goal):
    """Processing slower than the camera (a loaded CPU drops frames): the tracker predicts across the
    capture-time gap and finds again by distance the people who moved beyond their width."""
    monkeypatch.setenv("MCTRT_ASSETS", str(assets))
    video, truth = keep_every(assets, k, tmp_path)
    config = on_onnxruntime(load_config(CONFIGS / "pets09.yaml"))
    config = dataclasses.replace(config, inputs=(dataclasses.replace(config.inputs[0], path=str(video)),))
    Pipeline(config, offline=True, output_dir=tmp_path / "out", use_store=False).run()
    result = evaluate_sequence(truth, tmp_path / "out/pets09.txt")
    print(f"PETS09-S2L1 every {k}th frame: MOTA {result.mota:.4f} IDF1 {result.idf1:.4f} IDSW {result.id_switches}")
    # measured 0.914 and 0.790 (0.913 and 0.790 before output.relink; 0.908 and 0.786 before the results held rows in doubt; 0.908 and 0.788 with match_thresh 0.85; 0.857 and 0.738 before velocity_noise 0.0125; 0.856 and 0.720 while the results' windows counted frames at 10 a
    # second, not the video's 5 and 3.3; 0.783 and 0.741 before the motion gate); without the distance
    # association 0.735 and 0.706; ByteTrack on the same detections, without capture times: 0.624 and 0.449
    # (0.596 and 0.427 at match_thresh 0.85; test_tracking_quality.py)
    assert result.idf1 >= goal


def test_a_motchallenge_sequence_of_png_frames_gives_the_results_of_the_video_it_came_from(assets, tmp_path, monkeypatch):
    """A camera given as a folder of images (here MOTChallenge's layout: SEQ/img1/000001.png ... and
    SEQ/seqinfo.ini): the same frames, numbers and times as the video, so the same results row for row."""
    monkeypatch.setenv("MCTRT_ASSETS", str(assets))
    frames = 40
    capture = cv2.VideoCapture(str(assets / "data/pets09_s2l1/pets09_s2l1.avi"))
    fps = capture.get(cv2.CAP_PROP_FPS)
    (tmp_path / "SEQ/img1").mkdir(parents=True)
    for k in range(1, frames + 1):
        assert cv2.imwrite(str(tmp_path / f"SEQ/img1/{k:06d}.png"), capture.read()[1])  # lossless: the decoded pixels
    (tmp_path / "SEQ/seqinfo.ini").write_text(f"[Sequence]\nname=SEQ\nimDir=img1\nframeRate={fps:g}\n"
                                              f"seqLength={frames}\nimWidth=768\nimHeight=576\nimExt=.png\n")
    config = on_onnxruntime(load_config(CONFIGS / "pets09.yaml"))
    folder = dataclasses.replace(config, inputs=(dataclasses.replace(config.inputs[0], path=str(tmp_path / "SEQ")),))
    Pipeline(config, offline=True, output_dir=tmp_path / "video", use_store=False).run(max_frames=frames)
    Pipeline(folder, offline=True, output_dir=tmp_path / "images", use_store=False).run()
    video, images = ((tmp_path / name / "pets09.txt").read_text() for name in ("video", "images"))
    assert video.count("\n") > 2 * frames and images == video  # 134 rows (3-5 people a frame)
    video, images = (np.loadtxt(tmp_path / name / "world.txt", delimiter=",", skiprows=1) for name in ("video", "images"))
    assert len(video) > 2 * frames and (images[:, 1:] == video[:, 1:]).all()  # times: from each run's own start
    np.testing.assert_allclose(images[:, 0] - images[0, 0], video[:, 0] - video[0, 0], atol=2e-3)


def test_a_failed_camera_does_not_stop_the_others(assets, tmp_path):
    good = tmp_path / "good.avi"
    writer = cv2.VideoWriter(str(good), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    person = cv2.resize(cv2.imread(str(assets / "images/bus.jpg")), (320, 240))
    for _ in range(8):
        writer.write(person)
    writer.release()
    config = tmp_path / "c.yaml"
    config.write_text(f"""
inputs:
  - {{camera_id: good, path: {good}}}
  - {{camera_id: gone, path: {tmp_path / 'nowhere.mp4'}}}
modules:
  detector: {{model: {assets / 'models/yolov8n_coco_fp32.onnx'}, conf_threshold: 0.1}}
store: {{path: null}}
""")
    result = run_mctrt(["--config", str(config), "--offline", "--output", str(tmp_path / "out"), "--no-server"], assets)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "gone: 0 frames" in result.stdout and "nowhere.mp4 does not exist" in result.stdout
    assert "good: 8 frames, 0 dropped, ended" in result.stdout
    assert len(np.loadtxt(tmp_path / "out/good.txt", delimiter=",", ndmin=2)) > 0


def test_a_live_run_whose_stream_never_gave_a_frame_exits_1_naming_it(assets, tmp_path):
    """A dead stream is retried, never failed: a run that ended with it never having delivered said 0."""
    good = tmp_path / "good.avi"
    writer = cv2.VideoWriter(str(good), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for _ in range(4):
        writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = tmp_path / "c.yaml"
    config.write_text(f"""
inputs:
  - {{camera_id: good, path: {good}, fps: 20}}
  - {{camera_id: door, path: "rtsp://127.0.0.1:{port}/cam", open_timeout_s: 1}}
modules:
  detector: {{model: {assets / 'models/yolov8n_coco_fp32.onnx'}}}
store: {{path: null}}
""")
    result = run_mctrt(["--config", str(config), "--no-server", "--max-frames", "3"], assets)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "camera(s) door never gave a frame" in result.stderr and "door: 0 frames" in result.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path, assets):
    config = tmp_path / "c.yaml"
    config.write_text("inputs: [{camera_id: a, path: a.mp4}]\nmodules: {detector: {model: m.onnx, conf: 0.3}}\n")
    result = run_mctrt(["--config", str(config), "--offline", "--no-server"], assets)
    assert result.returncode == 2 and "modules.detector has unknown keys ['conf']" in result.stderr


def test_an_unwritable_output_exits_2_before_any_model_loads(tmp_path, assets, demo_config):
    result = run_mctrt(["--config", str(demo_config(tmp_path)), "--offline", "--output", "/proc/mctrt-out", "--no-server"], assets)
    assert result.returncode == 2 and "error: --output /proc/mctrt-out cannot be written" in result.stderr
    assert "Traceback" not in result.stderr and "detector on" not in result.stderr


@pytest.mark.parametrize("fault", ["reid model", "store", "port", "floor plan", "argument"])
def test_what_needs_no_model_is_checked_before_the_detector_loads(fault, tmp_path, assets, demo_config, monkeypatch, capsys):
    """A missing re-ID model, a store that cannot be made, a taken port, a missing floor plan or an
    argument the role does not take was found out only after the detector had loaded (seconds;
    minutes for INT8); and nothing is made for a run that stops there (the store was)."""
    from mctrt import run
    from mctrt.models import Detector

    monkeypatch.setattr(Detector, "from_config", lambda *_: pytest.fail("the detector loaded before the check"))
    text = demo_config(tmp_path).read_text()
    if fault == "reid model":
        text = text.replace("osnet_x0_25_market1501.onnx", "no_such_osnet.onnx")
    if fault == "store":
        (tmp_path / "afile").write_text("")
        text = text.replace(f"path: {tmp_path / 'store.db'}", f"path: {tmp_path / 'afile' / 'store.db'}")
    if fault == "floor plan":
        text = text.replace("  # floor_plan:", "  floor_plan: {image: plan.png}\n  #")
    (tmp_path / "demo.yaml").write_text(text)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--config", str(tmp_path / "demo.yaml"), "--port", str(port)]
        extra = {"port": [], "floor plan": ["--port", "0", "--offline"],
                 "argument": ["--offline", "--bus", "redis://x", "--output", str(tmp_path / "out")]}
        status = run.main([*args, *extra.get(fault, ["--offline", "--no-server"])])
    stderr = capsys.readouterr().err
    assert status == 2, stderr
    assert {"reid model": "error: re-ID model ", "store": "error: event store ", "port": f"error: cannot listen on 127.0.0.1:{port}",
            "floor plan": "error: floor plan ", "argument": "error: --bus is for"}[fault] in stderr
    assert not (tmp_path / "store.db").exists() and not (tmp_path / "out").exists()


def test_the_port_probe_binds_as_the_server_does():
    """An IPv4 listener on 0.0.0.0:P does not take [::]:P from the server (asyncio binds IPv6 alone):
    the probe said it did."""
    from mctrt.config import ServerConfig
    from mctrt.run import _check_port

    with socket.socket() as ipv4:
        ipv4.bind(("0.0.0.0", 0))
        ipv4.listen()
        port = ipv4.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(("::", port))
        except OSError:
            pytest.skip("no IPv6 on this machine")
        _check_port(ServerConfig(host="::", port=port))  # free for the server: no error
        with pytest.raises(MctrtError, match=f"cannot listen on 0.0.0.0:{port}"):
            _check_port(ServerConfig(host="0.0.0.0", port=port))


def test_max_frames_stops_each_camera_after_that_many_frames(tmp_path, assets, demo_config):
    result = run_mctrt(["--config", str(demo_config(tmp_path)), "--offline", "--output", str(tmp_path / "out"), "--no-server",
                  "--no-store", "--max-frames", "6"], assets)
    assert result.returncode == 0, result.stderr
    for camera in ("west", "east"):
        rows = np.loadtxt(tmp_path / f"out/{camera}.txt", delimiter=",", ndmin=2)
        assert len(rows) and rows[:, 0].max() == 6, camera
    assert run_mctrt(["--config", str(demo_config(tmp_path)), "--offline", "--max-frames", "0", "--no-server"], assets).returncode == 2


@pytest.mark.usefixtures("demo_int8_cached")
def test_a_killed_offline_run_leaves_the_results_it_had_and_a_rerun_keeps_them(tmp_path, assets, demo_config):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "mctrt.run", "--config", str(demo_config(tmp_path)), "--offline", "--output", str(out),
            "--no-server", "--no-store"]
    process = subprocess.Popen(args, env={**os.environ, "MCTRT_ASSETS": str(assets)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600  # the models load first; then rows come every step
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "west.txt").exists() and len((out / "west.txt").read_text().splitlines()) >= 20:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)  # no chance to close anything
    finally:
        process.wait(60)
    kept = np.loadtxt(out / "west.txt", delimiter=",", ndmin=2)
    assert len(kept) >= 20 and (kept[:, 1] > 0).all()  # rows with the IDs they had when written
    assert (out / "world.txt").read_text().startswith("time,frame,global_id,x,y")
    assert any(json.loads(line)["type"] == "first_seen" for line in (out / "events.jsonl").read_text().splitlines())
    result = run_mctrt([*args[3:], "--max-frames", "3"], assets)
    assert result.returncode == 0, result.stderr
    (previous,) = out.glob("previous-*")
    assert np.array_equal(np.loadtxt(previous / "west.txt", delimiter=",", ndmin=2), kept)
    assert "held an earlier run's results" in result.stderr
