"""python -m mctrt.info reports what the build and the machine can do, with a reason for every no."""

import subprocess
import sys

from mctrt import _native, info


def test_every_capability_has_an_answer_and_a_reason_for_no():
    report = info.collect()
    for key in ("cuda_module", "gpu", "tensorrt", "torch", "onnxruntime"):
        assert isinstance(report[key]["available"], bool)
        assert report[key]["detail"], f"{key} has no explanation"


def test_cuda_module_report_matches_the_build():
    report = info.collect()
    assert report["cuda_module"]["available"] == (_native.cuda is not None)
    assert ("cuda" in report["build"]) == (_native.cuda is not None)
    if not report["gpu"]["available"]:
        assert report["gpu"]["detail"] == _native.cuda_status().reason


def test_cli_prints_version_build_and_capabilities():
    result = subprocess.run([sys.executable, "-m", "mctrt.info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mctrt ")
    for label in ("build:", "CUDA kernels:", "GPU:", "TensorRT:", "PyTorch:", "ONNX Runtime:"):
        assert any(line.startswith(label) for line in lines), label
    assert f"{_native.core.build_info()['resampler']} resampler" in lines[1]
