"""Detector: YOLOv8 or YOLOX person (or any COCO class) detection on a batch of frames.

Pre-processing (letterbox) and post-processing (decode, NMS, back to frame pixels) are C++, one call
each per batch; the model runs on a backend. The model family is recognised from the output shape:
YOLOv8 (1, 4 + C, A), centred letterbox, RGB / 255; YOLOX (1, A, 5 + C), top-left letterbox, BGR 0..255.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mctrt._native import core, cuda, cuda_kernels_for
from mctrt.config import DetectorConfig
from mctrt.errors import ConfigError, ModelError
from mctrt.models.backends import check_tensorrt, choose_backend, open_backend, open_or_keep, runs_on_cpu
from mctrt.models.onnx_io import io_shapes, load_onnx
from mctrt.models.prepare import is_yolov8_export, prepare_model
from mctrt.models.quantize import cached_int8, cached_or_live_int8, check_sources
from mctrt.models.yolo import LETTERBOX, PAD_VALUE, family, letterbox_into
from mctrt.types import Detections

log = logging.getLogger(__name__)

MAX_DETECTIONS = 300


class Detector:
    """Detect objects in BGR frames.

    Args:
        model: path of a YOLOv8 or YOLOX ONNX file. A YOLOv8 export is made batch-dynamic (and re-targeted
            to input_size) in memory as it loads; see mctrt.models.prepare.
        backend: "auto" (tensorrt, then torch on CUDA, then the faster of onnxruntime and openvino here),
            or a backend's name.
        input_size, conf_threshold, nms_iou, classes, backend_options, precision, calibration,
            calibration_frames, input_long_side: see mctrt.config.DetectorConfig (whose conf_threshold
            is 0.05 by default, for the pipeline's tracker; a detector on its own keeps 0.25). With
            input_size "auto" (the default) the backend is built by the first detect(), from those
            frames' sizes, and built again, larger, when a later frame's shape does not fit it (a
            camera that joins late).
    On a GPU backend, letterbox, decode and NMS run as CUDA kernels on the backend's stream, the
    letterbox writing straight into the model's input.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        backend: str = "auto",
        input_size: tuple[int, int] | str | None = "auto",
        conf_threshold: float = 0.25,
        nms_iou: float = 0.45,
        classes: Sequence[int] = (0,),
        backend_options: Mapping[str, Mapping] | None = None,
        precision: str = "fp32",
        calibration: Sequence[str] | str = (),
        calibration_frames: int = 64,
        input_long_side: int = 640,
    ) -> None:
        size = input_size if input_size is None or isinstance(input_size, str) else tuple(input_size)
        self.config = DetectorConfig(str(model), backend, size, conf_threshold, nms_iou, tuple(classes),
                                     dict(backend_options or {}), precision, calibration, calibration_frames,
                                     input_long_side)
        self.path = Path(model)
        self.backend = None
        self._auto_shapes: set[tuple[int, int]] | None = None  # frame (H, W)s "auto" has sized the input for
        self._live = None  # INT8 with no calibration files: a LiveCalibration sampling detect()'s frames
        # "auto" sizes the input to the cameras, from the first frames. What that build could find wrong is
        # checked now: by building the model as it is (its backend, options, classes), dropped after; a
        # TensorRT engine takes minutes to build, so there the classes, the options and TensorRT itself.
        proto = load_detector_model(self.path, None) if self.config.input_size == "auto" else None
        if proto is not None and is_yolov8_export(proto):
            backend = choose_backend(self.config.backend)
            if backend == "tensorrt":
                self._check_classes(family(io_shapes(proto)[1][0])[1])
                check_tensorrt(self.config.backend_options)
            else:
                if self.config.precision == "int8" and runs_on_cpu(backend) and self.config.calibration:
                    check_sources(self.config.calibration)
                self._load(None, precision="fp32", backend=backend)
                self.backend, self.input_size = None, None  # built by the first detect()
            self._auto_shapes = set()
            return
        self._load(None if self.config.input_size == "auto" else self.config.input_size)

    def _load(self, input_size: tuple[int, int] | None, precision: str | None = None, backend: str | None = None) -> None:
        """The backend for the model re-targeted to input_size (None: the model's own); precision and
        backend: the config's unless given."""
        path, backend = self.path, backend or self.config.backend
        proto = load_detector_model(path, input_size)
        prepare = detector_letterbox(proto, path)
        self._live = None
        if (precision or self.config.precision) == "int8":
            if runs_on_cpu(backend) and not self.config.calibration:
                proto, self._live = cached_or_live_int8(proto, path, prepare, self.config.calibration_frames,
                                                        "detector model", max_side=_long_side(proto))
            elif runs_on_cpu(backend):
                try:
                    proto = cached_int8(proto, path, self.config.calibration, prepare, self.config.calibration_frames,
                                        "detector")
                except ModelError as exc:
                    raise ModelError(f"detector model {path}: INT8: {exc}") from None
            else:
                log.info("detector precision int8 is for the CPU backends; %s runs its own precision", backend)
        self.backend = open_backend(proto, path, backend, "detector model", self.config.backend_options, prepare=prepare)
        self.family, self.num_classes, self.num_anchors = family(self.backend.output_shapes[0])
        shape = self.backend.input_shape
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) for d in shape[2:]):
            raise ModelError(f"detector model {path} has input shape {shape}; expected (batch, 3, H, W) with fixed H, W")
        self.input_size = (int(shape[2]), int(shape[3]))
        if input_size is not None and tuple(input_size) != self.input_size:
            raise ModelError(
                f"detector model {path} takes {self.input_size[0]}x{self.input_size[1]} input, not "
                f"{input_size[0]}x{input_size[1]}; only YOLOv8 exports can be re-targeted: use input_size=None"
            )
        self._check_classes(self.num_classes)
        self._input = np.empty((0, 3, *self.input_size), np.float32)
        # CUDA pre/post-processing needs mctrt's CUDA module; without it a GPU backend takes host arrays
        self._gpu = cuda.DetectionKernels() if cuda_kernels_for(self.backend.device, path.name) else None

    def _check_classes(self, num_classes: int) -> None:
        bad = [c for c in self.config.classes if not c < num_classes]
        if bad:
            raise ConfigError(f"classes {bad} are not in the model's 0..{num_classes - 1}")

    @classmethod
    def from_config(cls, config: DetectorConfig) -> Detector:
        return cls(config.model, backend=config.backend, input_size=config.input_size,
                   conf_threshold=config.conf_threshold, nms_iou=config.nms_iou, classes=config.classes,
                   backend_options=config.backend_options, precision=config.precision,
                   calibration=config.calibration, calibration_frames=config.calibration_frames,
                   input_long_side=config.input_long_side)

    def _batch_buffer(self, size: int) -> np.ndarray:
        """The model input, allocated once per batch size seen and reused."""
        if len(self._input) != size:
            self._input = np.empty((size, 3, *self.input_size), np.float32)
        return self._input

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        """Detections for each BGR uint8 (H, W, 3) frame, in that frame's pixels."""
        if isinstance(images, np.ndarray):  # `not images` would be numpy's ambiguous truth value
            raise TypeError(f"detect takes a list of frames, not one array of shape {images.shape}; for one frame: "
                            "detect([frame])")
        if not images:
            return []
        if self._auto_shapes is not None and not self._auto_shapes.issuperset(i.shape[:2] for i in images):
            self._size_auto(images)
        if self._live is not None and (quantized := self._live.poll(images, self.path)) is not None:
            # INT8 calibrated on the cameras' frames: ready now, the float model ran until here
            self.backend = open_or_keep(quantized, self.path, self.config.backend, "detector model",
                                        self.config.backend_options, self.backend)
        self._live = None if self._live is None or self._live.finished else self._live
        if self._gpu is not None:
            step = self.backend.fixed_batch or self.backend.max_batch or len(images)
            results = [r for i in range(0, len(images), step) for r in self._detect_on_gpu(images[i : i + step])]
        else:
            results = self._detect_on_cpu(images)
        return [Detections(xyxy, scores, class_ids.astype(np.int64)) for xyxy, scores, class_ids in results]

    def wait_for_int8(self, timeout: float | None = None) -> bool:
        """Where INT8 is being calibrated on the cameras' frames: wait up to `timeout` seconds for its
        quantization to finish (the next detect() then runs it); whether it has, or there is none to wait
        for (False before the first detect() of input_size auto where that will begin one)."""
        if self._live is not None:
            return self._live.wait(timeout)
        c = self.config
        live_later = self.backend is None and c.precision == "int8" and not c.calibration and runs_on_cpu(c.backend)
        return not live_later

    def _size_auto(self, images: list[np.ndarray]) -> None:
        """Build the backend for "auto" at the size that holds every frame shape seen so far: once at the
        first frames, and again only where a new shape needs a larger input (a portrait camera joining
        landscape ones), since a frame letterboxed into a smaller input loses its distant people."""
        empty = next((k for k, image in enumerate(images) if not image.size), None)
        if empty is not None:  # as the letterbox says it, rather than a division by a zero size
            raise ValueError(f"images[{empty}] is empty")
        shapes = self._auto_shapes | {tuple(image.shape[:2]) for image in images}
        size = auto_input_size(sorted(shapes), self.config.input_long_side)
        frames = ", ".join(sorted(f"{w}x{h}" for h, w in shapes))
        if self.backend is None:
            log.info("detector input auto: %dx%d for frames of %s (long side %d)", *size, frames,
                     self.config.input_long_side)
            self._load(size)
        elif size != self.input_size:
            log.warning("detector input auto: %dx%d -> %dx%d for frames of %s (a new frame shape; give "
                        "modules.detector.input_size to fix it from the start)", *self.input_size, *size, frames)
            self._load(size)
        self._auto_shapes = shapes

    def _keep(self) -> tuple:
        """What post-processing keeps: conf, NMS IoU, classes, number of classes, max boxes, input H, W."""
        c = self.config
        return (c.conf_threshold, c.nms_iou, list(c.classes), self.num_classes, MAX_DETECTIONS, *self.input_size)

    def _detect_on_cpu(self, images: list[np.ndarray]) -> list:
        centre, to_rgb, scale = LETTERBOX[self.family]
        batch = self._batch_buffer(len(images))
        transforms = core.letterbox_batch(list(images), batch, centre, to_rgb, scale, PAD_VALUE)
        raw = np.ascontiguousarray(self.backend.run(batch), dtype=np.float32)
        return core.postprocess(raw, self.family, transforms, _sizes(images), *self._keep())

    def _detect_on_gpu(self, images: list[np.ndarray]) -> list:
        centre, to_rgb, scale = LETTERBOX[self.family]
        backend, n = self.backend, len(images)
        transforms = self._gpu.letterbox(list(images), backend.input_pointer(n), backend.input_dtype, *self.input_size,
                                         centre, to_rgb, scale, PAD_VALUE, backend.stream)
        raw = backend.execute(n)
        return self._gpu.postprocess(raw, n, self.num_anchors, self.family, transforms, _sizes(images), *self._keep(),
                                     backend.stream)


def auto_input_size(frame_sizes: Sequence[tuple[int, int]], long_side: int = 640) -> tuple[int, int]:
    """The detector input (H, W) for frames of these (height, width): each frame scaled so that its
    long side is long_side (the scale a square long_side input gives it), in an input whose sides are
    long_side less a multiple of 64, the shortest that holds every frame (4:3 -> 512 x 640, 16:9 ->
    384 x 640; cameras of different shapes: the box around all of them, so that none is shrunk
    further). Less padding to run through the model than the square, and the same grid: the letterbox
    centres each frame, so its padding is the square's less a multiple of 32 and YOLOv8's stride-32
    cells fall on the same pixels. A side 32 px off (480 x 640 for 4:3) shifts them by half a cell and
    moves every score (on PETS09, by 0.015 (sd) against 0.0025 at 512 x 640)."""
    def side(extent: float) -> int:
        needed = int(np.ceil(extent - 1e-9))
        return long_side - (long_side - needed) // 64 * 64

    height = max(h / max(h, w) for h, w in frame_sizes) * long_side
    width = max(w / max(h, w) for h, w in frame_sizes) * long_side
    return side(height), side(width)


def _long_side(model) -> int | None:
    """The longer of a model's fixed input height and width (None where they are not fixed)."""
    sides = [d for d in io_shapes(model)[0][2:] if isinstance(d, int)]
    return max(sides) if len(sides) == 2 else None


def _sizes(images: list[np.ndarray]) -> np.ndarray:
    """(B, 2) int64 height, width of each frame."""
    return np.array([image.shape[:2] for image in images], dtype=np.int64)


def detector_letterbox(model, path: Path):
    """The pre-processing of a loaded detector model (yolo.letterbox_into its family's padding), or
    ModelError naming the file when its output is no detector's (an OSNet file given as one, say)."""
    try:
        return letterbox_into(family(io_shapes(model)[1][0])[0])
    except ModelError as exc:
        raise ModelError(f"detector model {path}: {exc}; give a YOLOv8 or YOLOX export") from None


def load_detector_model(path: Path, input_size: tuple[int, int] | None):
    """The ONNX model at `path`; a YOLOv8 export made batch-dynamic and re-targeted to input_size."""
    model = load_onnx(path, "detector model")
    if not is_yolov8_export(model):  # YOLOX, or a graph prepare does not know: used as it is
        try:
            own = tuple(io_shapes(model)[0][2:])
        except ModelError as exc:
            raise ModelError(f"detector model {path}: {exc}") from None
        if input_size is not None and own != tuple(input_size):
            raise ModelError(f"detector model {path} takes {'x'.join(map(str, own))} input, not "
                             f"{input_size[0]}x{input_size[1]}; only YOLOv8 exports can be re-targeted: leave input_size "
                             "out (or use the model's own)")
        return model
    try:
        return prepare_model(model, dynamic_batch=True, input_size=input_size)
    except ModelError as exc:
        raise ModelError(f"detector model {path}: {exc}") from None
