"""Build TensorRT engines from ONNX models, ahead of time, into the engine cache (engines/).

    python -m mctrt.build_engines --config configs/demo.yaml        # the config's detector and re-ID models
    python -m mctrt.build_engines --detector yolov8n.onnx [--input-size 384 640] [--reid osnet.onnx]
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
from pathlib import Path

from mctrt.config import DetectorConfig, ReidConfig, load_config
from mctrt.errors import ConfigError, MctrtError


def models_from_config(path: Path) -> list[tuple[str, DetectorConfig | ReidConfig]]:
    """[("detector", DetectorConfig), ("reid", ReidConfig)] of a pipeline config, read as every command
    reads one (load_config: ${VAR} expanded, every key checked)."""
    config = load_config(path)
    return [(name, module) for name, module in (("detector", config.detector), ("reid", config.reid)) if module is not None]


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
        if config.input_size == "auto":
            raise ConfigError("modules.detector.input_size auto is chosen from the cameras' first frames when the "
                              "pipeline starts; to build ahead give input_size [H, W] (512 x 640 for 4:3 cameras, "
                              "384 x 640 for 16:9) or --input-size")
        model = load_detector_model(source, config.input_size)
        prepare = detector_letterbox(model, source)
    else:
        model, prepare = load_onnx(source, "re-ID model"), upright_crops_into
    return build_engine(model, source, options, prepare)


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.build_engines") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a pipeline config: builds its detector and re-ID models")
    parser.add_argument("--detector", help="a detector .onnx file")
    parser.add_argument("--input-size", nargs=2, type=int, metavar=("H", "W"), help="the detector's input size")
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
        models = models_from_config(args.config) if args.config else []
        if args.detector:
            models.append(("detector", DetectorConfig(args.detector, input_size=tuple(args.input_size) if args.input_size else None)))
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
