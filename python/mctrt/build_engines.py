"""Build TensorRT engines from ONNX models, ahead of time, into the engine cache (engines/).

    python -m mctrt.build_engines --config configs/demo.yaml [--input-size H W]   # the config's detector and re-ID
                                                    # (input_size auto: sized from its video files' frames)
    python -m mctrt.build_engines --detector yolov8n.onnx [--input-size 384 640] [--reid osnet.onnx]
                                                    # (without --input-size: the model's own size, which a
                                                    # pipeline's default input_size auto does not use)
        [--precision fp16|fp32|int8] [--calibration-images DIR] [--max-batch 32] [--opt-batch min(8, max-batch)]
        [--engine-dir engines]

An engine is keyed by the sha256 of the ONNX graph the backend is given (a YOLOv8 export made
batch-dynamic and re-targeted to the input size first, exactly as the Detector loads it), the
TensorRT version, the GPU and the precision: the pipeline then finds it without rebuilding. The
command-line options override a config's modules.<name>.backend_options.tensorrt.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from mctrt.config import DetectorConfig, PipelineConfig, ReidConfig, load_config
from mctrt.errors import ConfigError, MctrtError, SourceError

log = logging.getLogger(__name__)


def models_from_config(path: Path, input_size: tuple[int, int] | None = None) -> list[tuple[str, DetectorConfig | ReidConfig]]:
    """[("detector", DetectorConfig), ("reid", ReidConfig)] of a pipeline config, read as every command
    reads one (load_config: ${VAR} expanded, every key checked); the detector's input_size replaced by
    `input_size` where given, and `auto` sized as the pipeline will size it (auto_size_of)."""
    config = load_config(path)
    detector = config.detector
    if input_size is not None:
        detector = replace(detector, input_size=input_size)
    elif detector.input_size == "auto":
        from mctrt.models.detector import load_detector_model
        from mctrt.models.prepare import is_yolov8_export

        # as the Detector does: only a YOLOv8 export is sized to the cameras, any other keeps its own size
        yolov8 = is_yolov8_export(load_detector_model(Path(detector.model), None))
        detector = replace(detector, input_size=auto_size_of(config) if yolov8 else None)
    return [(name, module) for name, module in (("detector", detector), ("reid", config.reid)) if module is not None]


def auto_size_of(config: PipelineConfig) -> tuple[int, int]:
    """The input `input_size: auto` gives the config's cameras, from the frame sizes of its video files
    and image folders (SourceError naming one that cannot be read); a stream or webcam is not opened
    ahead of the run (ConfigError saying what to give). A live run sizes from the cameras in its first
    batch, which may be fewer, and builds again, larger, when a camera of another shape joins: with
    cameras of different shapes, give input_size in the config."""
    from mctrt.io.sources import open_capture
    from mctrt.models.detector import auto_input_size

    sizes = []
    for source in config.inputs:
        if source.kind != "file":
            raise ConfigError(f"modules.detector.input_size auto is chosen from the cameras' first frames, and "
                              f"inputs[{source.camera_id}] is a {source.kind}, not opened ahead of the run; give "
                              "--input-size H W (512 640 for 4:3 cameras, 384 640 for 16:9)")
        capture = open_capture(source)
        try:
            if not (capture.width > 0 and capture.height > 0):
                raise ConfigError(f"inputs[{source.camera_id}] ({source.path}) gives no frame size; give --input-size H W")
            sizes.append((capture.height, capture.width))
        finally:
            capture.close()
    size = auto_input_size(sizes, config.detector.input_long_side)
    log.info("detector input auto: %dx%d for the inputs' frames, as the pipeline will size it", *size)
    return size


def build(name: str, config: DetectorConfig | ReidConfig, overrides: dict) -> Path:
    from mctrt.models.backends.tensorrt_build import EngineOptions, build_engine
    from mctrt.models.detector import detector_letterbox, load_detector_model
    from mctrt.models.embedder import upright_crops_into
    from mctrt.models.onnx_io import load_onnx

    settings = {**dict(config.backend_options.get("tensorrt") or {}), **overrides}
    try:
        options = EngineOptions(**settings)
    except TypeError as exc:
        raise ConfigError(f"modules.{name}.backend_options.tensorrt: {exc}") from None
    source = Path(config.model)
    if name == "detector":
        model = load_detector_model(source, config.input_size)
        prepare = detector_letterbox(model, source)
    else:
        model, prepare = load_onnx(source, "re-ID model"), upright_crops_into
    return build_engine(model, source, options, prepare)


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.build_engines") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a pipeline config: builds its detector and re-ID models")
    parser.add_argument("--detector", help="a detector .onnx file")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"),
                        help="the detector's input size (also in place of a config's)")
    parser.add_argument("--reid", help="a re-ID .onnx file")
    parser.add_argument("--precision", choices=("fp32", "fp16", "int8"))
    parser.add_argument("--calibration-images", help="folder of real frames for int8 calibration")
    parser.add_argument("--max-batch", type=int, help="largest batch the engine accepts")
    parser.add_argument("--opt-batch", type=int, help="the batch size TensorRT optimises for")
    parser.add_argument("--engine-dir", help="where engines are cached (default engines/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = {k: v for k, v in (("precision", args.precision), ("calibration_images", args.calibration_images),
                                   ("max_batch", args.max_batch), ("opt_batch", args.opt_batch),
                                   ("engine_dir", args.engine_dir)) if v is not None}
    try:
        input_size = tuple(args.input_size) if args.input_size else None
        models = models_from_config(args.config, input_size) if args.config else []
        if args.detector:
            models.append(("detector", DetectorConfig(args.detector, input_size=input_size)))
        if args.reid:
            models.append(("reid", ReidConfig(args.reid)))
        if not models:
            raise ConfigError("nothing to build: give --config, --detector or --reid")
        for name, config in models:
            path = build(name, config, overrides)
            print(f"{name}: {path}")
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
