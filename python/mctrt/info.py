"""python -m mctrt.info: what this build of mctrt contains and what this machine offers.

Every "no" comes with its reason. Nothing here fails: each probe reports instead of raising.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import platform
import sys

import mctrt
from mctrt import _native


def _probe(module: str, missing: str, describe) -> tuple[bool, str]:
    """(available, detail) of an optional package: `missing` if absent, `describe(module)` if it imports."""
    if importlib.util.find_spec(module) is None:
        return False, missing
    try:
        return True, describe(importlib.import_module(module))
    except Exception as exc:  # a broken install raises anything
        return False, f"{module} is installed but fails to import: {exc}"


def _torch_detail(torch) -> str:
    where = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if torch.cuda.is_available() else "CPU only"
    return f"torch {torch.__version__}, {where}"


def collect() -> dict:
    """Everything `python -m mctrt.info` prints, as a dict."""
    cuda = _native.cuda_status()
    trt_ok, trt_detail = _probe("tensorrt", "the tensorrt Python package is not installed (pip install 'tensorrt-cu12>=10,<11')",
                                lambda trt: f"TensorRT {trt.__version__}")
    ort_ok, ort_detail = _probe(
        "onnxruntime", "onnxruntime is not installed (pip install onnxruntime, or onnxruntime-gpu for CUDA)",
        lambda ort: f"onnxruntime {ort.__version__}, providers: {', '.join(ort.get_available_providers())}",
    )
    torch_ok, torch_detail = _probe("torch", "torch is not installed (pip install torch: the torch backend)", _torch_detail)
    build = dict(_native.core.build_info())
    if _native.cuda is not None:
        build["cuda"] = dict(_native.cuda.build_info())
    return {
        "version": mctrt.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "build": build,
        "cuda_module": {"available": cuda.compiled, "detail": "compiled" if cuda.compiled else cuda.reason},
        "gpu": {
            "available": cuda.usable,
            "detail": ", ".join(f"{d['name']} (sm_{d['compute_capability'].replace('.', '')})" for d in cuda.devices)
            or cuda.reason,
            "driver_version": cuda.driver_version,
        },
        "tensorrt": {"available": trt_ok, "detail": trt_detail},
        "onnxruntime": {"available": ort_ok, "detail": ort_detail},
        "torch": {"available": torch_ok, "detail": torch_detail},
    }


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.info") -> int:
    argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]).parse_args(argv)
    info = collect()
    build = info["build"]
    print(f"mctrt {info['version']} (Python {info['python']}, {info['platform']})")
    print(f"build:        _core {build['build_type']}, {build['compiler']}, {build['resampler']} resampler")
    if "cuda" in build:
        cuda_build = build["cuda"]
        version = cuda_build["cuda_runtime_version"]
        print(f"              _cuda CUDA {version // 1000}.{version % 1000 // 10}, architectures {cuda_build['architectures']}")
    for key, label in (("cuda_module", "CUDA kernels"), ("gpu", "GPU"), ("tensorrt", "TensorRT"), ("torch", "PyTorch"),
                       ("onnxruntime", "ONNX Runtime")):
        entry = info[key]
        print(f"{label + ':':<13} {'yes' if entry['available'] else 'no'} - {entry['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
