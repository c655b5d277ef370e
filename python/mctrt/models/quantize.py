"""Static INT8 models for the CPU: onnxruntime's QDQ format, weights per output channel, activation
ranges calibrated on the user's own frames; cached beside TensorRT's engines, keyed by everything
the result depends on.

    python -m mctrt.models quantize IN.onnx OUT.onnx --calibration VIDEO|DIR [--frames N]
    modules.detector: {precision: int8, calibration: VIDEO|DIR}   (built on first run, then cached)
    modules.detector: {precision: int8} with only streams or webcams: calibrated on their own frames
                      as the run goes (LiveCalibration), the float model running until then
    modules.reid: {precision: int8}   calibrated on the run's person crops the same way

The output layers stay in floating point: every convolution from which a model output can be reached
without passing another convolution, and everything after it. In YOLOv8 that is the last box and
class convolutions and the decode, which concatenates box corners in pixels (0..640) with class
probabilities (0..1) into one tensor: quantized, one 8-bit scale for both left no score above 0.2 on
PETS09 (AP50 0.89 -> 0.00); kept in floating point, AP50 0.892 -> 0.888, scores 0.006 lower on average
(calibrated on lab4cam frames; `benchmarks/bench_detector.py` compares the two). Activation ranges
are the calibration frames' minimum and maximum: a 99.99th percentile lowered scores by 0.076, which
moves boxes across the tracker's thresholds. Models older than opset 13 are converted first
(per-channel QuantizeLinear needs it).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from mctrt.errors import ConfigError, ModelError
from mctrt.io.decode import decode_image
from mctrt.io.paths import IMAGE_SUFFIXES, image_files

log = logging.getLogger(__name__)

CACHE_DIR = "engines"  # shared with TensorRT's engines (EngineOptions.engine_dir)
PER_CHANNEL_OPSET = 13  # QuantizeLinear's axis attribute, which per-channel weights need
HELD_BACK_EVERY = 5  # every 5th sampled frame is kept out of calibration, to check agreement on
SEEK_BEYOND = 100  # frames between samples beyond which a video is sought rather than read through
LIVE_EVERY = 10  # live calibration takes the frames of every 10th batch, so that they span some seconds


def float_tail(model) -> list[str]:
    """Names of the nodes that stay in floating point: the convolutions an output is reached from
    without another convolution between, and every node on those paths after them."""
    producers = {out: node for node in model.graph.node for out in node.output}
    tail, seen = [], set()
    stack = [o.name for o in model.graph.output]
    while stack:
        node = producers.get(stack.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        tail.append(node.name)
        if node.op_type != "Conv":  # a convolution ends the walk: what feeds it is quantized
            stack.extend(node.input)
    return [name for name in tail if name]


def with_per_channel_opset(model):
    """The model at opset 13 or newer (per-channel QuantizeLinear), converted when older."""
    from onnx import version_converter

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= PER_CHANNEL_OPSET:
        return model
    try:
        return version_converter.convert_version(model, PER_CHANNEL_OPSET)
    except Exception as exc:  # the converter raises its own types
        raise ModelError(f"its opset {opset} could not be converted to {PER_CHANNEL_OPSET}, which INT8 needs ({exc})") from None


def _video_frames(path: Path, count: int) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ConfigError(f"calibration video {path} cannot be opened; give a video file or a folder of images")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    step = max(1, total // count) if total > 0 else 1
    frames, index = [], 0
    if step > SEEK_BEYOND:  # a long recording: seek to each frame instead of decoding all between
        for k in range(count):
            capture.set(cv2.CAP_PROP_POS_FRAMES, k * step)
            ok, image = capture.read()
            if ok and image is not None:
                frames.append(image)
        capture.release()
        return frames
    while len(frames) < count:
        ok = capture.grab()
        if not ok:
            break
        if index % step == 0:
            ok, image = capture.retrieve()
            if ok and image is not None:
                frames.append(image)
        index += 1
    capture.release()
    return frames


def _image_frames(folder: Path, count: int) -> list[np.ndarray]:
    """Images read as a camera's folder is (a JPEG cut short, decoded half grey, left out)."""
    files = image_files(folder)
    picked = [files[int(k)] for k in np.linspace(0, len(files) - 1, min(count, len(files)))] if files else []
    return [image for image, _ in map(decode_image, picked) if image is not None]


def check_sources(sources: Sequence[str]) -> None:
    """ConfigError when there are no calibration sources or one of them does not exist."""
    if not sources:
        raise ConfigError("INT8 calibration needs frames: give a video file or a folder of images from your cameras")
    for source in sources:
        if not Path(source).exists():
            raise ConfigError(f"calibration source {source} does not exist; give a video file or a folder of images")


def sample_frames(sources: Sequence[str], count: int) -> list[np.ndarray]:
    """About `count` frames spread evenly over the sources (video files or folders of images), shared
    among them (fewer frames than sources: the first `count` give one each); ConfigError naming a
    source that is missing or gives no frame."""
    check_sources(sources)
    frames = []
    for k, source in enumerate(sources):
        path = Path(source)
        share = count // len(sources) + (k < count % len(sources))
        if share == 0:
            continue
        found = _image_frames(path, share) if path.is_dir() else _video_frames(path, share)
        if not found:
            raise ConfigError(f"calibration source {path} gave no frames; give a video file or a folder of "
                              f"{', '.join(IMAGE_SUFFIXES)} images")
        frames.extend(found)
    return frames


def split_held_back(frames: list) -> tuple[list, list]:
    """(calibration frames, held-back frames): every HELD_BACK_EVERY-th frame is held back."""
    held = frames[HELD_BACK_EVERY - 1 :: HELD_BACK_EVERY]
    return [f for k, f in enumerate(frames) if k % HELD_BACK_EVERY != HELD_BACK_EVERY - 1], held


def quantize_model(model, frames: list[np.ndarray], prepare: Callable[[list, np.ndarray], None], what: str = "model",
                   progress: bool = True):
    """The INT8 QDQ ModelProto of float ModelProto `model` (one image input, (B, 3, H, W) with fixed
    H, W), its activation ranges calibrated on `frames` put through `prepare(frames, out)`; progress: a
    counter on stderr (not for a background quantization, which would write over a run's own lines)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from mctrt.models.onnx_io import io_shapes

    shape, _ = io_shapes(model)
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape[1:]):
        raise ModelError(f"its input shape {shape} is not (batch, 3, H, W) with fixed H, W")
    name = next(i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer})
    model = with_per_channel_opset(model)

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.done = 0

        def get_next(self):
            if self.done == len(frames):
                if progress:
                    print(file=sys.stderr)
                return None
            batch = np.empty((1, *shape[1:]), np.float32)
            prepare([frames[self.done]], batch)
            self.done += 1
            if progress:
                print(f"\rquantizing {what}: calibrating on frame {self.done}/{len(frames)}", end="", file=sys.stderr,
                      flush=True)
            return {name: batch}

    # the quantizer logs advice on the root logger ("consider pre-processing"): not the user's concern
    quiet = logging.Filter()
    quiet.filter = lambda record: "onnxruntime" not in record.pathname
    root = logging.getLogger()
    root.addFilter(quiet)
    with tempfile.TemporaryDirectory(prefix="mctrt-int8-") as tmp:
        target = Path(tmp) / "int8.onnx"
        try:
            quantize_static(model, target, Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            nodes_to_exclude=float_tail(model))
        except Exception as exc:  # onnxruntime's quantizer raises many types
            raise ModelError(f"onnxruntime could not quantize it ({exc})") from None
        finally:
            root.removeFilter(quiet)
        return onnx.load(str(target))


def _sources_key(sources: Iterable[str]) -> str:
    """What the calibration frames depend on: each source's path, size and modification time
    (for a folder, those of its images)."""
    parts = []
    for source in sources:
        path = Path(source).resolve()
        files = image_files(path) if path.is_dir() else [path]
        for p in files:
            stat = p.stat() if p.exists() else None
            parts.append(f"{p}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def calibration_key(sources: Iterable[str], amount: int) -> str:
    """What a calibration depends on: its sources (_sources_key) and how much of them it takes."""
    return hashlib.sha256(f"{_sources_key(sources)}:{amount}".encode()).hexdigest()


def int8_path(model, stem: str, sources: Sequence[str], frames: int, cache_dir: str | Path | None = None) -> Path:
    """Where the INT8 copy of float ModelProto `model` calibrated on `frames` frames of `sources` is cached:
    named by the float graph's sha256, the calibration set, its size and onnxruntime's version."""
    import onnxruntime

    graph = hashlib.sha256(model.SerializeToString()).hexdigest()[:12]
    calibration = f"cal{_sources_key(sources)[:8]}" if sources else "live"  # live: the cameras' own frames
    return Path(cache_dir or CACHE_DIR) / f"{stem}-{graph}-ort{onnxruntime.__version__}-int8-{calibration}-{frames}.onnx"


def cached_int8(model, source: Path, sources: Sequence[str], prepare: Callable[[list, np.ndarray], None],
                frames: int, what: str, cache_dir: str | Path | None = None):
    """The INT8 copy of float ModelProto `model` (read from `source`), from the cache or quantized now
    (and cached), calibrated on `frames` frames of `sources`."""
    import onnx

    path = int8_path(model, source.stem, sources, frames, cache_dir)
    if path.is_file():
        log.info("int8: using cached %s", path)
        return onnx.load(str(path))
    log.info("int8: quantizing %s %s on %d frames of %s (once; cached as %s)", what, source, frames, ", ".join(sources), path)
    quantized = quantize_model(model, sample_frames(sources, frames), prepare, what)
    _cache(quantized, path, what)
    return quantized


def cached_or_live_int8(model, source: Path, prepare: Callable[[list, np.ndarray], None], frames: int, what: str,
                        cache_dir: str | Path | None = None, max_side: int | None = None):
    """For a model with no calibration files: (its INT8 copy from the cache, None), or (the float model,
    a LiveCalibration that will quantize it on the frames it is offered, kept at most max_side pixels
    on their long side)."""
    import onnx

    path = int8_path(model, source.stem, (), frames, cache_dir)
    if path.is_file():
        log.info("int8: using cached %s (calibrated on the cameras' frames in an earlier run)", path)
        return onnx.load(str(path)), None
    log.info("int8: no calibration files: the %s runs in FP32 until %d images from its cameras have calibrated it",
             what, frames)
    return model, LiveCalibration(model, path, prepare, frames, what, max_side)


def _cache(quantized, path: Path, what: str) -> None:
    """Write an INT8 copy into the cache; where it cannot be written, say so and go on without."""
    import onnx

    partial = path.with_suffix(f".partial-{os.getpid()}")  # two processes quantizing at once never share one
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(quantized, str(partial))
        partial.replace(path)  # a run killed while writing leaves no half file under the cache's name
    except OSError as exc:  # a read-only folder, a full disk: the run goes on with the model it has
        log.warning("int8: could not cache the %s's INT8 copy as %s (%s); it is used now and quantized again "
                    "on the next start: run from a folder you can write to", what, path, exc)
        with contextlib.suppress(OSError):
            partial.unlink()


class LiveCalibration:
    """An INT8 copy calibrated on the frames a model is given, for cameras with no file to calibrate on
    (streams, webcams): poll() keeps the frames of every LIVE_EVERY-th batch until it has `frames`
    of them, then quantizes in a background thread (the caller runs the float model meanwhile) and
    caches the result, which the next start finds at once (int8_path's "live" name: delete it to
    calibrate on the cameras again). The copy is shared by every run of this model at this input size
    on the machine: calibration ranges carry over between sites (an INT8 YOLOv8n calibrated on lab4cam
    finds what the float model finds on PETS09, tests/integration/test_quantize.py). Frames are kept at
    most max_side pixels on their long side (the model sees no more; 64 1080p copies would be 400 MB).
    A copy the caller no longer needs (its input was rebuilt at another size) still finishes and is
    cached under its own size's name."""

    def __init__(self, model, path: Path, prepare: Callable[[list, np.ndarray], None], frames: int, what: str,
                 max_side: int | None = None) -> None:
        self.model, self.path, self.prepare, self.count, self.what = model, path, prepare, frames, what
        self.max_side = max_side
        self.frames: list[np.ndarray] = []
        self.batches = 0
        self.thread: threading.Thread | None = None
        self.result = None  # the INT8 ModelProto, once quantized (set by the thread before it ends)
        self.error: Exception | None = None  # or why it could not be
        self.finished = False  # the copy has been handed over, or its failure reported

    def poll(self, images: list[np.ndarray], source: Path):
        """Sample `images` (those of every LIVE_EVERY-th call, until it has enough); the INT8 ModelProto
        once it is ready, for the caller to run from now on (the float model until then). A copy that
        cannot be built is logged and the float model goes on. `finished` is set once either has happened."""
        if self.thread is None:
            if self.batches % LIVE_EVERY == 0:
                self.frames.extend(self._kept(image) for image in images[: self.count - len(self.frames)])
            self.batches += 1
            if len(self.frames) >= self.count:
                log.info("int8: quantizing the %s on %d images from its cameras, in the background (cached as %s)",
                         self.what, len(self.frames), self.path)
                self.thread = threading.Thread(target=self._quantize, name="int8-calibration", daemon=True)
                self.thread.start()
            return None
        if self.finished or self.thread.is_alive():
            return None
        self.finished = True
        if self.error is not None:
            log.warning("%s %s: INT8 from the cameras' frames: %s; it goes on in FP32", self.what, source, self.error)
            return None
        log.info("%s %s: INT8 from now on (calibrated on images from its cameras)", self.what, source.name)
        return self.result

    def _kept(self, image: np.ndarray) -> np.ndarray:
        """A copy of `image`, shrunk to max_side on its long side where it is larger."""
        scale = self.max_side / max(image.shape[:2]) if self.max_side else 1.0
        if scale >= 1.0:
            return image.copy()
        import cv2

        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the background quantization has finished (waiting up to `timeout` seconds)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.thread is not None and not self.thread.is_alive()

    def _quantize(self) -> None:
        try:
            quantized = quantize_model(self.model, self.frames, self.prepare, self.what, progress=False)
            _cache(quantized, self.path, self.what)
            self.result = quantized
        except Exception as exc:  # reported to the caller by poll(), in its thread
            self.error = exc
        finally:
            self.frames = []


def agreement(reference, other, frames: list[np.ndarray], min_score: float = 0.5) -> dict:
    """How far detector `other` agrees with `reference` on `frames`: the share of each one's boxes
    scoring at least min_score that the other found too (IoU >= 0.5, one to one), and how the scores
    of those pairs changed (other - reference)."""
    from mctrt import lapjv
    from mctrt.boxes import iou_xyxy

    found = [0, 0]
    counts = [0, 0]
    changes = []
    for a, b in zip(reference.detect(frames), other.detect(frames)):
        overlap = iou_xyxy(a.xyxy.astype(np.float32), b.xyxy.astype(np.float32)) if len(a.scores) and len(b.scores) else None
        pairs = []
        if overlap is not None:
            rows, _ = lapjv(1.0 - overlap.astype(np.float64), 0.5)
            pairs = [(i, j) for i, j in enumerate(rows.tolist()) if j >= 0]
        for side, scores in enumerate((a.scores, b.scores)):
            strong = scores >= min_score
            counts[side] += int(strong.sum())
            found[side] += sum(1 for pair in pairs if strong[pair[side]])
        changes += [float(b.scores[j] - a.scores[i]) for i, j in pairs]
    return {
        "frames": len(frames),
        "reference_boxes": counts[0],
        "found_by_other": found[0] / counts[0] if counts[0] else float("nan"),
        "other_boxes": counts[1],
        "found_by_reference": found[1] / counts[1] if counts[1] else float("nan"),
        "score_change_mean": float(np.mean(changes)) if changes else float("nan"),
        "score_change_sd": float(np.std(changes)) if changes else float("nan"),
    }
