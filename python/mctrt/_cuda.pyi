"""Types of mctrt._cuda, the optional CUDA module (built when nvcc is found). Import it through mctrt._native."""

from typing import Any

import numpy as np
import numpy.typing as npt

def build_info() -> dict[str, str | int]: ...
def runtime_status() -> dict[str, Any]:
    """{runtime_version, driver_version, devices: [{index, name, compute_capability, total_memory_bytes}], error}."""

def iou_xyxy(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
