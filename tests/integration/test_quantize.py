"""Static INT8 detectors for the CPU (mctrt.models.quantize): the output layers stay in floating point,
the INT8 YOLOv8n finds what the float one finds on footage it was not calibrated on, it is built once
and then read from the cache, and the CLI says how far the two agree.

Calibration is on lab4cam frames, agreement checked on PETS09-S2L1 (other people, another camera).
Tolerances: the float model's boxes scoring >= 0.5 found again (IoU >= 0.5) for at least 97 % (227 of
227 in bench_detector's run) and the mean score change within 0.03 (measured -0.004 to -0.010; the
tracker's thresholds are 0.55 and 0.8).
"""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mctrt import Detector
from mctrt.errors import ConfigError
from mctrt.models import quantize
from mctrt.models.quantize import agreement, float_tail, sample_frames


def _conv(name, x, y, channels):
    weight = helper.make_tensor(f"{name}_w", TensorProto.FLOAT, [channels, channels, 1, 1], [0.1] * channels * channels)
    return helper.make_node("Conv", [x, weight.name], [y], name=name), weight


def test_the_output_layers_are_the_last_convolutions_and_what_follows_them():
    # x -> conv1 -> relu -> conv2 -> sigmoid -> out, and relu -> conv3 -> out2 (two heads)
    nodes, weights = [], []
    for name, x, y in (("conv1", "x", "a"), ("conv2", "b", "c"), ("conv3", "b", "out2")):
        node, weight = _conv(name, x, y, 3)
        nodes.append(node)
        weights.append(weight)
    nodes += [helper.make_node("Relu", ["a"], ["b"], name="relu"), helper.make_node("Sigmoid", ["c"], ["out"], name="sigmoid")]
    value = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 8, 8])  # noqa: E731
    graph = helper.make_graph(nodes, "g", [value("x")], [value("out"), value("out2")], weights)
    assert sorted(float_tail(helper.make_model(graph))) == ["conv2", "conv3", "sigmoid"]


def test_yolov8n_float_layers_are_its_box_and_class_outputs_and_the_decode(assets):
    model = onnx.load(str(assets / "models/yolov8n_coco_fp32.onnx"))
    convs = sorted(n for n in float_tail(model) if n.endswith("Conv"))
    assert convs == sorted([f"/model.22/cv{b}.{k}/cv{b}.{k}.2/Conv" for b in (2, 3) for k in range(3)] + ["/model.22/dfl/conv/Conv"])


@pytest.fixture(scope="module")
def pets09_frames(assets):
    return sample_frames([str(assets / "data/pets09_s2l1/pets09_s2l1.avi")], 12)


@pytest.fixture(scope="module")
def int8_detector(assets, tmp_path_factory):
    """The int8 YOLOv8n, built into a cache of its own; (detector, cache folder)."""
    cache = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quantize, "CACHE_DIR", str(cache))
        detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", precision="int8",
                            calibration=[str(assets / "data/lab4cam/videos/cam0.mp4")], calibration_frames=16,
                            input_size=(640, 640))
    return detector, cache


def test_int8_finds_what_the_float_model_finds_on_other_footage(assets, int8_detector, pets09_frames):
    detector, cache = int8_detector
    assert len(list(cache.glob("yolov8n_coco_fp32-*-int8-*-16.onnx"))) == 1
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(next(cache.glob("*.onnx")))).graph.node)
    found = agreement(Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size=(640, 640)),
                      detector, pets09_frames)
    assert found["reference_boxes"] >= 40
    assert found["found_by_other"] >= 0.97 and found["found_by_reference"] >= 0.97, found
    assert abs(found["score_change_mean"]) <= 0.03, found


def test_a_second_start_reads_the_cache_and_does_not_quantize_again(assets, int8_detector, monkeypatch, pets09_frames):
    _, cache = int8_detector
    monkeypatch.setattr(quantize, "CACHE_DIR", str(cache))

    def refuse(*args, **kwargs):
        raise AssertionError("quantized again although the cache holds the model")

    monkeypatch.setattr(quantize, "quantize_model", refuse)
    again = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", precision="int8",
                     calibration=[str(assets / "data/lab4cam/videos/cam0.mp4")], calibration_frames=16,
                     input_size=(640, 640))
    first = int8_detector[0].detect(pets09_frames[:2])
    second = again.detect(pets09_frames[:2])
    for a, b in zip(first, second):  # two sessions of one model: the same boxes, not always to the bit
        assert len(a) == len(b)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-2)


def test_int8_with_no_calibration_files_runs_fp32_until_its_own_frames_have_calibrated_it(assets, tmp_path, monkeypatch,
                                                                                          pets09_frames):
    """Streams and webcams have no file to calibrate on: the detector samples the frames it is given, runs
    the float model meanwhile, quantizes in the background, then runs INT8; the next start finds the copy."""
    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(quantize, "LIVE_EVERY", 2)  # batches 0, 2, 4, 6 give the 4 frames
    model = assets / "models/yolov8n_coco_fp32.onnx"
    detector = Detector(model, backend="onnxruntime", precision="int8", calibration_frames=4, input_size=(640, 640))
    fp32 = Detector(model, backend="onnxruntime", input_size=(640, 640))
    for k in range(7):
        (got,), (want,) = detector.detect([pets09_frames[k]]), fp32.detect([pets09_frames[k]])
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)  # the float model until then
    assert detector.wait_for_int8(timeout=900)
    (cached,) = tmp_path.glob("yolov8n_coco_fp32-*-int8-live-4.onnx")
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(cached)).graph.node)
    int8 = Detector(cached, backend="onnxruntime", input_size=None)
    for got, want in zip(detector.detect(pets09_frames[7:9]), int8.detect(pets09_frames[7:9])):
        assert len(got) == len(want) > 0
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-4)  # INT8 from now on

    def refuse(*args, **kwargs):
        raise AssertionError("quantized again although the cache holds the model")

    monkeypatch.setattr(quantize, "quantize_model", refuse)
    again = Detector(model, backend="onnxruntime", precision="int8", calibration_frames=4, input_size=(640, 640))
    for got, want in zip(again.detect(pets09_frames[7:9]), int8.detect(pets09_frames[7:9])):
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-4)


def test_live_int8_that_cannot_be_built_is_logged_and_the_run_goes_on_in_fp32(assets, tmp_path, monkeypatch,
                                                                              pets09_frames, caplog):
    from mctrt.errors import ModelError

    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(quantize, "LIVE_EVERY", 1)

    def fails(*args, **kwargs):
        raise ModelError("onnxruntime could not quantize it (a test's failure)")

    monkeypatch.setattr(quantize, "quantize_model", fails)
    model = assets / "models/yolov8n_coco_fp32.onnx"
    detector = Detector(model, backend="onnxruntime", precision="int8", calibration_frames=2, input_size=(640, 640))
    detector.detect(pets09_frames[:2])
    assert detector.wait_for_int8(timeout=900)
    with caplog.at_level("WARNING", logger="mctrt.models.quantize"):
        (got,) = detector.detect(pets09_frames[2:3])
    assert "INT8 from the cameras' frames: onnxruntime could not quantize it (a test's failure); it goes on in FP32" in caplog.text
    (want,) = Detector(model, backend="onnxruntime", input_size=(640, 640)).detect(pets09_frames[2:3])
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    assert list(tmp_path.iterdir()) == []  # nothing cached


def test_live_int8_under_input_size_auto_keeps_frames_no_larger_than_the_model_sees(assets, tmp_path, monkeypatch,
                                                                                      pets09_frames):
    """The default input (auto, 512 x 640 for PETS09's 768 x 576) with live calibration: the frames kept for
    it are shrunk to the input's long side, and the copy is cached under that size's graph."""
    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(quantize, "LIVE_EVERY", 1)
    kept = []
    real = quantize.quantize_model
    monkeypatch.setattr(quantize, "quantize_model",
                        lambda model, frames, *a, **k: kept.extend(frames) or real(model, frames, *a, **k))
    detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", precision="int8",
                        calibration_frames=2)
    assert not detector.wait_for_int8(timeout=0)  # nothing begun before the first frames
    detector.detect(pets09_frames[:2])
    assert detector.wait_for_int8(timeout=900)
    assert detector.input_size == (512, 640) and [f.shape for f in kept] == [(480, 640, 3)] * 2
    detector.detect(pets09_frames[2:3])
    (cached,) = tmp_path.glob("yolov8n_coco_fp32-*-int8-live-2.onnx")
    assert detector.backend.input_shape[2:] == (512, 640) and detector._live is None


def test_an_int8_copy_that_cannot_be_opened_leaves_the_float_model_running(assets, tmp_path, monkeypatch, pets09_frames,
                                                                            caplog):
    from mctrt.errors import ModelError
    from mctrt.models import backends

    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(quantize, "LIVE_EVERY", 1)
    model = assets / "models/yolov8n_coco_fp32.onnx"
    detector = Detector(model, backend="onnxruntime", precision="int8", calibration_frames=2, input_size=(640, 640))
    detector.detect(pets09_frames[:2])
    assert detector.wait_for_int8(timeout=900)
    running = detector.backend

    def refuse(*args, **kwargs):
        raise ModelError("no session for it (a test's failure)")

    monkeypatch.setattr(backends, "open_backend", refuse)
    with caplog.at_level("WARNING", logger="mctrt.models.backends"):
        (got,) = detector.detect(pets09_frames[2:3])
    assert detector.backend is running and detector._live is None
    assert "its new copy could not be opened (no session for it (a test's failure)); it goes on as it was" in caplog.text
    (want,) = Detector(model, backend="onnxruntime", input_size=(640, 640)).detect(pets09_frames[2:3])
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)


def test_reid_int8_calibrates_on_the_crops_it_embeds_and_keeps_close_to_the_float_features(assets, tmp_path, monkeypatch,
                                                                                          pets09_frames):
    from mctrt import Embedder

    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(quantize, "LIVE_EVERY", 1)
    people = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size=(640, 640))
    boxes = [d.xyxy[d.scores >= 0.5] for d in people.detect(pets09_frames)]
    model = assets / "models/osnet_x0_25_market1501.onnx"
    embedder = Embedder(model, backend="onnxruntime", precision="int8", calibration_crops=16)
    fp32 = Embedder(model, backend="onnxruntime")
    k = 0
    while embedder._live.thread is None:  # FP32 until 16 crops have been offered
        np.testing.assert_allclose(embedder.embed([pets09_frames[k]], [boxes[k]]),
                                   fp32.embed([pets09_frames[k]], [boxes[k]]), atol=1e-5)
        k += 1
    assert embedder.wait_for_int8(timeout=900)
    (cached,) = tmp_path.glob("osnet_x0_25_market1501-*-int8-live-16.onnx")
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(cached)).graph.node)
    got, want = embedder.embed(pets09_frames[8:10], boxes[8:10]), fp32.embed(pets09_frames[8:10], boxes[8:10])
    assert len(got) >= 8 and np.abs(got - want).max() > 1e-4  # INT8 runs now ...
    cosine = (got * want).sum(axis=1)
    print(f"\nINT8 against FP32 OSNet x0.25 features, cosine: min {cosine.min():.4f}, mean {cosine.mean():.4f}")
    assert cosine.min() >= 0.9  # ... and describes each person as the float model does


def test_a_cache_that_cannot_be_written_is_logged_and_the_quantized_model_still_used(tmp_path, monkeypatch, caplog):
    """A cache folder that cannot be made (here a file stands where it should be) does not stop the run."""
    model = helper.make_model(helper.make_graph([], "empty", [], []))
    quantized = helper.make_model(helper.make_graph([], "quantized", [], []))
    monkeypatch.setattr(quantize, "sample_frames", lambda sources, count: [])
    monkeypatch.setattr(quantize, "quantize_model", lambda *args: quantized)
    (tmp_path / "engines").write_text("not a folder")
    with caplog.at_level("WARNING", logger="mctrt.models.quantize"):
        got = quantize.cached_int8(model, tmp_path / "m.onnx", ["cam.mp4"], lambda *a: None, 4, "detector",
                                   cache_dir=tmp_path / "engines" / "int8")
    assert got is quantized
    assert "could not cache the detector's INT8 copy" in caplog.text and "run from a folder you can write to" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engines"]

    def full_disk(model, path):  # writes part of the file, then the disk is full
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx, "save", full_disk)
    assert quantize.cached_int8(model, tmp_path / "m.onnx", ["cam.mp4"], lambda *a: None, 4, "detector",
                                cache_dir=tmp_path / "cache") is quantized
    assert list((tmp_path / "cache").iterdir()) == []  # no half file left, under any name


def test_a_missing_calibration_source_is_named(assets, tmp_path, monkeypatch):
    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=f"calibration source {tmp_path / 'nope.mp4'} does not exist"):
        Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", precision="int8",
                 calibration=[str(tmp_path / "nope.mp4")], calibration_frames=4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="calibration source .*empty gave no frames"):
        sample_frames([str(tmp_path / "empty")], 4)


def test_a_folder_of_images_calibrates_too(assets, tmp_path):
    for k, frame in enumerate(sample_frames([str(assets / "data/lab4cam/videos/cam1.mp4")], 3)):
        cv2.imwrite(str(tmp_path / f"{k}.jpg"), frame)
    frames = sample_frames([str(tmp_path)], 2)
    assert len(frames) == 2 and frames[0].ndim == 3
    data = (tmp_path / "2.jpg").read_bytes()
    (tmp_path / "2.jpg").write_bytes(data[: len(data) // 2])  # a copy cut short: it would decode half grey
    assert [f.shape for f in sample_frames([str(tmp_path)], 3)] == [frames[0].shape] * 2  # 0.jpg and 1.jpg only


def test_the_cli_writes_the_model_and_prints_the_agreement(assets, tmp_path):
    target = tmp_path / "int8.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "mctrt.models", "quantize", str(assets / "models/yolov8n_coco_fp32.onnx"), str(target),
         "--calibration", str(assets / "data/lab4cam/videos/cam2.mp4"), "--frames", "8"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "calibrated on 8 frames" in result.stdout and "on 2 frames held back from calibration" in result.stdout
    assert "float boxes the INT8 model finds:" in result.stdout and "score change of the pairs: mean" in result.stdout
    assert Detector(target, backend="onnxruntime", input_size=None).detect(sample_frames([str(assets / "data/lab4cam/videos/cam2.mp4")], 1))
    bad = subprocess.run([sys.executable, "-m", "mctrt.models", "quantize", str(target), str(tmp_path / "x.onnx"),
                          "--calibration", str(tmp_path / "none")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and f"calibration source {tmp_path / 'none'} does not exist" in bad.stderr


@pytest.mark.slow  # ~30 s: the INT8 YOLOv8n on the MOT17 frames
def test_int8_person_ap50_on_mot17_frames_stays_within_0_02_of_the_float_models(int8_detector, assets, monkeypatch):
    from test_detector_quality import person_ap50

    monkeypatch.setattr(quantize, "CACHE_DIR", str(int8_detector[1]))
    detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", precision="int8",
                        calibration=[str(assets / "data/lab4cam/videos/cam0.mp4")], calibration_frames=16,
                        conf_threshold=0.01, input_size=(640, 640))  # the float model's protocol
    ap, frames = person_ap50(detector, assets / "data/mot17_mini")
    print(f"\nINT8 person AP50 on mot17_mini ({frames} frames): {ap:.3f} (float: 0.617)")
    assert ap >= 0.617 - 0.02


def test_a_long_video_is_sought_to_its_samples_and_gives_the_frames_read_through_would(assets, monkeypatch):
    video = [str(assets / "data/pets09_s2l1/pets09_s2l1.avi")]
    monkeypatch.setattr(quantize, "SEEK_BEYOND", 10**9)
    read_through = sample_frames(video, 5)
    monkeypatch.setattr(quantize, "SEEK_BEYOND", 10)  # 795 frames, 5 samples: 159 apart, so sought
    sought = sample_frames(video, 5)
    assert len(sought) == len(read_through) == 5
    for a, b in zip(sought, read_through):
        np.testing.assert_array_equal(a, b)


def test_fewer_calibration_frames_than_sources_take_one_from_each_of_the_first(tmp_path):
    """The sources whose share was 0 frames failed: 'gave no frames' for a folder of images, or a
    ZeroDivisionError for a video."""
    folders = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for k in range(4):
            cv2.imwrite(str(tmp_path / name / f"{k}.png"), np.full((8, 8, 3), k, np.uint8))
        folders.append(str(tmp_path / name))
    assert len(quantize.sample_frames(folders, 2)) == 2
    with pytest.raises(ConfigError, match="calibration source .*missing does not exist"):
        quantize.sample_frames([*folders, str(tmp_path / "missing")], 2)
