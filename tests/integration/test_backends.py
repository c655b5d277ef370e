"""Backends: the choice "auto" makes and says, the torch backend (ONNX graphs converted to PyTorch)
and the OpenVINO backend equal to ONNX Runtime on the CPU, and clear errors for a backend that cannot
run here.

Tolerances: the converted graphs compute the same operations in float32, in another order, so the
raw outputs agree within 1e-5 of their largest value (YOLOv8 box coordinates up to 640 px within 6e-3 px).
"""

import importlib.util
import logging
import re

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mctrt import Detector, Embedder
from mctrt.errors import BackendUnavailable, ModelError
from mctrt.models.backends import OPENVINO_MARGIN, choose_backend, runs_on_cpu

MODELS = ["yolov8n_coco_fp32.onnx", "yolox_nano_coco_416.onnx", "osnet_x0_25_market1501.onnx"]


def test_auto_says_which_backend_and_why_not_the_others(caplog):
    caplog.set_level(logging.INFO, logger="mctrt.models.backends")
    chosen = choose_backend("auto")
    (record,) = [r for r in caplog.records if r.getMessage().startswith("backend auto:")]
    assert f"using {chosen}" in record.getMessage()
    if importlib.util.find_spec("tensorrt") is None:
        assert chosen != "tensorrt" and "not tensorrt: tensorrt is not installed" in record.getMessage()


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_tensorrt_without_tensorrt_says_how_to_get_it(assets):
    with pytest.raises(BackendUnavailable, match="pip install 'tensorrt-cu12>=10,<11'"):
        Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="tensorrt")


@pytest.fixture
def torch():
    """The torch backend's tests need torch; the rest of this file runs without it."""
    return pytest.importorskip("torch", reason="the torch backend needs torch (pip install torch)")


@pytest.mark.parametrize("name", MODELS)
def test_converted_graph_equals_onnxruntime(assets, name, torch):
    import onnxruntime as ort

    from mctrt.models.backends.onnx_to_torch import onnx_to_torch

    path = assets / "models" / name
    session = ort.InferenceSession(str(path))
    spec = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 3 for d in spec.shape]
    rng = np.random.default_rng(0)
    x = (rng.random(shape) * (255 if "yolox" in name else 1)).astype(np.float32)
    want = session.run(None, {spec.name: x})[0]
    with torch.inference_mode():
        (got,) = onnx_to_torch(onnx.load(str(path)))(torch.from_numpy(x))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_an_operator_without_a_conversion_is_named(torch):
    from mctrt.models.backends.onnx_to_torch import onnx_to_torch

    node = helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,jk->ik", name="mix")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
    )
    with pytest.raises(ModelError, match="operator Einsum \\(node 'mix'\\) has no PyTorch conversion"):
        onnx_to_torch(helper.make_model(graph))


def assert_detects_as_onnxruntime(detector, path, images, score_atol: float) -> None:
    """`detector` runs on the CPU and finds in `images` what onnxruntime finds with the model at `path`:
    the same people, boxes within 0.01 px, scores within score_atol, the same classes."""
    assert detector.backend.device == "cpu"
    reference = Detector(path, backend="onnxruntime", input_size=detector.input_size).detect(images)
    for want, got in zip(reference, detector.detect(images)):
        assert len(got) == len(want) > 0
        np.testing.assert_allclose(got.xyxy, want.xyxy, atol=0.01)
        np.testing.assert_allclose(got.scores, want.scores, atol=score_atol)
        np.testing.assert_array_equal(got.class_ids, want.class_ids)


def test_torch_detector_equals_onnxruntime_detector(assets, torch):
    path = assets / "models/yolov8n_coco_fp32.onnx"
    images = [cv2.imread(str(assets / "images" / n)) for n in ("bus.jpg", "zidane.jpg")]
    # on the CPU, where it computes as onnxruntime does (on a GPU it runs FP16: tests/gpu compares that)
    on_torch = Detector(path, backend="torch", backend_options={"torch": {"device": "cpu"}}, input_size=(640, 640))
    assert on_torch.backend.name == "torch"
    assert_detects_as_onnxruntime(on_torch, path, images, score_atol=1e-5)


def test_torch_embedder_equals_onnxruntime_embedder(assets, torch):
    path = assets / "models/osnet_x0_25_market1501.onnx"
    frame = cv2.imread(str(assets / "images/zidane.jpg"))
    boxes = np.array([[100, 100, 400, 700], [700, 50, 1100, 700], [0, 0, 50, 120]], np.float32)
    want = Embedder(path, backend="onnxruntime").embed([frame], [boxes])
    got = Embedder(path, backend="torch", backend_options={"torch": {"device": "cpu"}}).embed([frame], [boxes])
    assert got.shape == (3, 512)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_backend_options_are_checked(assets, torch):
    from mctrt.errors import ConfigError

    path = assets / "models/yolov8n_coco_fp32.onnx"
    with pytest.raises(ConfigError, match="torch backend has no option graphs; it takes device, half, cuda_graphs"):
        Detector(path, backend="torch", backend_options={"torch": {"graphs": True}})
    with pytest.raises(ConfigError, match="backend_options are keyed by backend"):
        Detector(path, backend="torch", backend_options={"cuda_graphs": True})
    for device in ("cuda:0", "gpu"):  # an AssertionError or RuntimeError of torch's before
        with pytest.raises(ConfigError, match=f"backend_options.torch.device must be cpu or cuda .*got '{device}'"):
            Detector(path, backend="torch", backend_options={"torch": {"device": device}})


def test_onnxruntime_runs_on_the_threads_it_is_given_and_refuses_a_bad_count(assets):
    path = assets / "models/osnet_x0_25_msmt17.onnx"
    embedder = Embedder(path, backend="onnxruntime", backend_options={"onnxruntime": {"threads": 1}})
    assert embedder.backend.session.get_session_options().intra_op_num_threads == 1
    frame = cv2.imread(str(assets / "images/zidane.jpg"))
    boxes = np.array([[100, 100, 400, 700]], np.float32)
    np.testing.assert_allclose(embedder.embed([frame], [boxes]),
                               Embedder(path, backend="onnxruntime").embed([frame], [boxes]), atol=1e-5)
    with pytest.raises(ModelError, match="threads must be a whole number >= 1; got 0"):
        Embedder(path, backend="onnxruntime", backend_options={"onnxruntime": {"threads": 0}})


def test_re_ids_onnxruntime_threads_do_not_spin_between_its_bursts_and_the_detectors_do(assets):
    """Re-ID runs in short bursts between detections: spinning, its idle threads took the cores the
    next detection needed (the INT8 pipeline ran at 22-24 frames/s instead of 33-35 here)."""
    def spins(model) -> bool:
        try:
            return model.backend.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") != "0"
        except RuntimeError:  # not set: onnxruntime's default, spinning
            return True

    reid = assets / "models/osnet_x0_25_market1501.onnx"
    assert not spins(Embedder(reid, backend="onnxruntime"))
    assert spins(Embedder(reid, backend="onnxruntime", backend_options={"onnxruntime": {"spin": True, "threads": 1}}))
    assert spins(Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime", input_size=None))
    with pytest.raises(ModelError, match="spin must be true or false; got 'no'"):
        Embedder(reid, backend="onnxruntime", backend_options={"onnxruntime": {"spin": "no"}})


def test_shape_arithmetic_and_clip_convert(torch):
    """Flatten through Shape -> Gather (1-D index) -> Concat -> Reshape, and Clip without bounds."""
    from onnx import numpy_helper

    from mctrt.models.backends.onnx_to_torch import onnx_to_torch

    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "first"], ["b"], axis=0),
        helper.make_node("Concat", ["b", "minus_one"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("Clip", ["flat"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array([0], np.int64), "first"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus_one")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 6])], inits,
    )
    module = onnx_to_torch(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    x = torch.arange(24, dtype=torch.float32).reshape(4, 2, 3)
    (y,) = module(x)
    np.testing.assert_array_equal(y.numpy(), x.reshape(4, 6).numpy())


def test_torch_output_is_row_major_for_consumers_that_read_it_by_address(assets, torch):
    # YOLOX's graph ends in a transpose; the GPU decode reads the output as (anchors, 85) rows
    detector = Detector(assets / "models/yolox_nano_coco_416.onnx", backend="torch")
    assert detector.backend.fixed_batch == 1  # its Reshape constants pin batch 1: run image by image
    out = detector.backend._execute(1)
    assert out.shape == (1, 3549, 85) and out.is_contiguous()



def test_torch_takes_a_batch_larger_than_its_max_batch_in_chunks(assets, torch):
    """On CUDA the Embedder's padded batches stop at 64 crops (the shapes warmed at start) and larger
    ones go in chunks; the chunking is the same on the CPU, where max_batch is set by hand here."""
    backend = Embedder(assets / "models/osnet_x0_25_market1501.onnx", backend="torch",
                       backend_options={"torch": {"device": "cpu"}}).backend
    assert backend.max_batch is None  # padding and its chunks are for CUDA only
    crops = np.random.default_rng(0).random((10, 3, 256, 128), np.float32)
    whole = backend.run(crops)
    backend.max_batch = 4
    np.testing.assert_allclose(backend.run(crops), whole, atol=1e-5)
    assert backend.batch_sizes == [2, 4, 10]  # 4 + 4 + 2 after the one batch of 10

# -- OpenVINO (the [openvino] extra; in [test], so CI runs these) ------------------------------------------

@pytest.fixture
def openvino():
    return pytest.importorskip("openvino", reason="the openvino backend needs openvino (pip install 'mctrt[openvino]')")


def test_openvino_detector_and_embedder_equal_onnxruntimes(assets, openvino):
    """Tolerances: OpenVINO runs FP32 (precision hint f32) with its own kernels, so boxes within 0.01 px
    and scores within 1e-4; embeddings within 1e-4."""
    path = assets / "models/yolov8n_coco_fp32.onnx"
    images = [cv2.imread(str(assets / "images" / n)) for n in ("bus.jpg", "zidane.jpg")]
    on_openvino = Detector(path, backend="openvino", input_size=(640, 640))
    assert on_openvino.backend.name == "openvino"
    assert_detects_as_onnxruntime(on_openvino, path, images, score_atol=1e-4)
    reid = assets / "models/osnet_x0_25_market1501.onnx"
    boxes = np.array([[100, 100, 400, 700], [700, 50, 1100, 700], [0, 0, 50, 120]], np.float32)
    want = Embedder(reid, backend="onnxruntime").embed([images[1]], [boxes])
    got = Embedder(reid, backend="openvino").embed([images[1]], [boxes])
    np.testing.assert_allclose(got, want, atol=1e-4)
    again = Embedder(reid, backend="openvino")
    first = again.embed([images[1]], [boxes])
    again.embed([images[0]], [boxes])
    np.testing.assert_array_equal(first, got)  # an earlier result is not overwritten by the next run


def test_auto_on_the_cpu_times_openvino_against_onnxruntime_and_says_both(assets, openvino, caplog):
    if not runs_on_cpu("auto"):
        pytest.skip("a GPU backend runs here")
    caplog.set_level(logging.INFO, logger="mctrt.models.backends")
    detector = Detector(assets / "models/yolov8n_coco_fp32.onnx", input_size=None)  # auto would load at detect()
    (line,) = [r.getMessage() for r in caplog.records if "one run on this CPU" in r.getMessage()]
    timings = dict(re.findall(r"(onnxruntime|openvino) ([0-9.]+) ms", line))
    assert set(timings) == {"onnxruntime", "openvino"}, line
    faster = float(timings["openvino"]) < OPENVINO_MARGIN * float(timings["onnxruntime"])
    assert detector.backend.name == ("openvino" if faster else "onnxruntime")
    assert line.startswith(f"backend auto: {detector.backend.name} for yolov8n_coco_fp32.onnx")


def test_a_cap_on_onnxruntimes_threads_holds_for_openvino_under_auto(assets, openvino, monkeypatch):
    """threads lets processes share a machine; auto timed onnxruntime on 1 thread against openvino on
    every core, and then ran openvino on every core."""
    if not runs_on_cpu("auto"):
        pytest.skip("a GPU backend runs here")
    from mctrt.models.backends.openvino import OpenVinoBackend

    made = []
    monkeypatch.setattr(OpenVinoBackend, "run", lambda self, batch, run=OpenVinoBackend.run: made.append(self) or run(self, batch))
    # input_size None: the model loads now (auto would load it at the first detect())
    Detector(assets / "models/yolov8n_coco_fp32.onnx", backend_options={"onnxruntime": {"threads": 1}}, input_size=None)
    assert made and all(backend.threads == 1 for backend in made)
    assert Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="openvino", input_size=None,
                    backend_options={"openvino": {"threads": 2}}).backend.threads == 2


def test_int8_runs_on_openvino_too(assets, openvino, tmp_path, monkeypatch):
    from mctrt.models import quantize
    from mctrt.models.quantize import agreement, sample_frames

    monkeypatch.setattr(quantize, "CACHE_DIR", str(tmp_path))
    calibration = [str(assets / "data/lab4cam/videos/cam0.mp4")]
    kwargs = {"precision": "int8", "calibration": calibration, "calibration_frames": 8}
    on_openvino = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="openvino", **kwargs)
    reference = Detector(assets / "models/yolov8n_coco_fp32.onnx", backend="onnxruntime")
    found = agreement(reference, on_openvino, sample_frames([str(assets / "data/pets09_s2l1/pets09_s2l1.avi")], 6))
    assert found["found_by_other"] >= 0.95 and abs(found["score_change_mean"]) <= 0.03, found
