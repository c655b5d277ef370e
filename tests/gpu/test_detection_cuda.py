"""CUDA pre- and post-processing against the C++ core, and the torch backend on CUDA against ONNX Runtime.

Tolerances: letterbox and crops sample the same points with the same weights, so float32 outputs
agree to float rounding (1e-5 of a 0..1 value; the issue allows 1/255); float16 outputs to half
precision (1e-3). Decode + NMS is compiled without fused multiply-adds and must give the same boxes,
scores and classes as the CPU. The torch backend in FP16 keeps every confident (score >= 0.4)
reference box at IoU >= 0.9 with a score within 0.03.
"""

import cv2
import numpy as np
import pytest

from mctrt import Detector, Embedder, iou_xyxy
from mctrt._native import core, cuda

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def frames(assets):
    images = [cv2.imread(str(assets / "images" / name)) for name in ("bus.jpg", "zidane.jpg")]
    rng = np.random.default_rng(0)
    images.append(rng.integers(0, 256, (333, 517, 3), dtype=np.uint8))  # odd sizes, noise
    images.append(np.ascontiguousarray(images[1][100:500, 200:900]))
    return images


def device_to_host(buffer, shape, dtype, stream):
    out = np.empty(shape, dtype)
    buffer.download(out, stream.handle)
    return out


@pytest.mark.parametrize(("dtype", "atol"), [("float32", 1e-5), ("float16", 1e-3)])
@pytest.mark.parametrize(("centre", "to_rgb", "scale"), [(True, True, 1 / 255), (False, False, 1.0)])
def test_letterbox_kernel_equals_cpu(frames, dtype, atol, centre, to_rgb, scale):
    want = np.empty((len(frames), 3, 384, 640), np.float32)
    want_t = core.letterbox_batch(frames, want, centre, to_rgb, scale, 114.0)
    stream, buffer = cuda.Stream(), cuda.DeviceBuffer(want.size * np.dtype(dtype).itemsize)
    got_t = cuda.DetectionKernels().letterbox(frames, buffer.ptr, dtype, 384, 640, centre, to_rgb, scale, 114.0,
                                              stream.handle)
    got = device_to_host(buffer, want.shape, dtype, stream).astype(np.float32)
    np.testing.assert_array_equal(got_t, want_t)
    np.testing.assert_allclose(got, want, rtol=0, atol=atol * (255 if scale == 1.0 else 1))


def test_crop_kernel_equals_cpu(frames):
    boxes = [np.array([[10, 20, 200, 500], [-5, -5, 30, 40]], np.float32), np.array([[700.5, 50.2, 1100.9, 700.1]], np.float32),
             np.empty((0, 4), np.float32), np.array([[0, 0, 517, 333], [100, 100, 101, 101]], np.float32)]
    want = np.empty((5, 3, 256, 128), np.float32)
    core.crop_resize_batch(frames, boxes, want)
    stream, buffer = cuda.Stream(), cuda.DeviceBuffer(want.nbytes)
    cuda.CropKernels().crop_resize(frames, boxes, buffer.ptr, "float32", 256, 128, stream.handle)
    np.testing.assert_allclose(device_to_host(buffer, want.shape, np.float32, stream), want, rtol=0, atol=1e-4)


@pytest.mark.parametrize(("model", "conf", "classes"), [
    ("yolov8n_coco_fp32.onnx", 0.25, [0]),
    ("yolov8n_coco_fp32.onnx", 0.01, list(range(80))),  # thousands of candidates, many classes
    ("yolox_nano_coco_416.onnx", 0.1, [0, 2]),
])
def test_decode_and_nms_kernels_equal_cpu(assets, frames, model, conf, classes):
    detector = Detector(assets / "models" / model, backend="onnxruntime", conf_threshold=conf, classes=classes,
                        input_size=None)  # the model's own size, loaded now
    h, w = detector.input_size
    batch = np.empty((len(frames), 3, h, w), np.float32)
    centre, to_rgb, scale = (True, True, 1 / 255) if detector.family == "yolov8" else (False, False, 1.0)
    transforms = core.letterbox_batch(frames, batch, centre, to_rgb, scale, 114.0)
    raw = np.ascontiguousarray(detector.backend.run(batch), np.float32)
    sizes = np.array([f.shape[:2] for f in frames], np.int64)
    args = (transforms, sizes, conf, 0.45, classes, detector.num_classes, 300, h, w)
    want = core.postprocess(raw, detector.family, *args)
    stream, buffer = cuda.Stream(), cuda.DeviceBuffer(raw.nbytes)
    buffer.upload(raw, stream.handle)
    got = cuda.DetectionKernels().postprocess(buffer.ptr, len(frames), detector.num_anchors, detector.family, *args,
                                              stream.handle)
    for (wx, ws, wc), (gx, gs, gc) in zip(want, got):
        np.testing.assert_array_equal(gc, wc)
        np.testing.assert_array_equal(gs, ws)
        np.testing.assert_allclose(gx, wx, rtol=1e-6, atol=1e-4)


def confident_boxes_kept(reference, got, min_score=0.4):
    for want, have in zip(reference, got):
        confident = want.scores >= min_score
        assert confident.any()
        iou = iou_xyxy(want.xyxy[confident], have.xyxy)
        best = iou.argmax(axis=1)
        assert (iou.max(axis=1) >= 0.9).all()
        np.testing.assert_allclose(have.scores[best], want.scores[confident], atol=0.03)


@pytest.fixture
def torch_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip(f"torch {torch.__version__} sees no CUDA device (a CPU build?)")


@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_torch_fp16_detector_finds_what_onnxruntime_finds(assets, frames, cuda_graphs, torch_on_cuda):
    path = assets / "models/yolov8n_coco_fp32.onnx"
    onnxruntime = Detector(path, backend="onnxruntime", input_size=(640, 640))
    detector = Detector(path, backend="torch", backend_options={"torch": {"cuda_graphs": cuda_graphs}}, input_size=(640, 640))
    assert detector.backend.device == "cuda" and detector.backend.input_dtype == "float16"
    assert detector.backend.cuda_graphs == cuda_graphs and detector._gpu is not None  # the CUDA kernels ran
    # Other frames at the same batch size (a graph replaying stale input would give the first ones'
    # boxes), then other batch sizes, then the first frames again. The noise image has no people.
    for batch in ([0, 1], [3, 0], [0, 1, 3], [1], [0, 1]):
        images = [frames[k] for k in batch]
        confident_boxes_kept(onnxruntime.detect(images), detector.detect(images))


def test_torch_embedder_on_cuda_equals_onnxruntime(assets, frames, torch_on_cuda):
    path = assets / "models/osnet_x0_25_market1501.onnx"
    boxes = [np.array([[30, 220, 250, 900], [220, 230, 350, 880]], np.float32), np.array([[700, 50, 1100, 700]], np.float32),
             np.empty((0, 4), np.float32), np.empty((0, 4), np.float32)]
    want = Embedder(path, backend="onnxruntime").embed(frames, boxes)
    embedder = Embedder(path, backend="torch")
    assert embedder.backend.device == "cuda" and embedder._gpu is not None  # the CUDA crop kernel ran
    got = embedder.embed(frames, boxes)
    assert (np.sum(want * got, axis=1) >= 0.999).all()  # cosine similarity of FP16 and FP32 features


def test_torch_embedder_on_cuda_pads_each_crop_count_to_a_power_of_two(assets, frames, torch_on_cuda):
    """The crop count changes every step, and each new batch shape cost torch 225-275 ms on its first
    call on an H200: the Embedder's batches are padded to a few shapes, run once at start (up to 64
    crops; larger batches go in chunks of 64). The padding must not leak in."""
    path = assets / "models/osnet_x0_25_market1501.onnx"
    reference, embedder = Embedder(path, backend="onnxruntime"), Embedder(path, backend="torch")
    warmed = [1, 2, 4, 8, 16, 32, 64]
    assert embedder.backend.batch_sizes == warmed
    rng = np.random.default_rng(1)
    for n in (3, 5, 2, 7, 6, 1, 70):
        corner = rng.uniform(0, 300, (n, 2))
        boxes = [np.c_[corner, corner + rng.uniform(60, 400, (n, 2))].astype(np.float32)]
        want, got = reference.embed(frames[:1], boxes), embedder.embed(frames[:1], boxes)
        assert got.shape == (n, 512) and (np.sum(want * got, axis=1) >= 0.999).all()
    assert embedder.backend.batch_sizes == warmed  # 70 crops went as 64 + 6: no shape past the warm-up
    assert embedder.backend.max_batch == 64
