"""The only importer of mctrt's compiled modules, and the report of what they can do here.

`core` (mctrt._core, pure C++) is always part of a build. `cuda` (mctrt._cuda) exists only when the
build found a CUDA compiler; importing it never touches a GPU. Everything else in mctrt imports the
compiled code from here.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from types import ModuleType

try:
    from mctrt import _core as core
except ImportError as exc:  # pragma: no cover - a broken install, nothing to test
    raise ImportError(
        f"mctrt's compiled core (mctrt._core) could not be imported: {exc}. "
        "Reinstall with `pip install .` from the project root; a source checkout is not importable "
        "without building."
    ) from exc

log = logging.getLogger(__name__)

cuda: ModuleType | None = None
CUDA_IMPORT_ERROR: str | None = None  # set when the module exists but fails to load
if importlib.util.find_spec("mctrt._cuda") is not None:
    try:
        from mctrt import _cuda as cuda
    except ImportError as exc:
        CUDA_IMPORT_ERROR = str(exc)


@dataclass(frozen=True)
class CudaStatus:
    """Whether CUDA kernels can run here, and why not when they cannot."""

    compiled: bool
    usable: bool
    reason: str  # empty when usable
    devices: tuple[dict, ...] = ()
    runtime_version: int = 0
    driver_version: int = 0


def cuda_status() -> CudaStatus:
    """Ask the CUDA runtime (not at import time: this loads the driver)."""
    if cuda is None:
        if CUDA_IMPORT_ERROR:
            why = f"the CUDA module failed to import: {CUDA_IMPORT_ERROR}"
        else:
            why = "this build has no CUDA module: no CUDA compiler was found when it was built (or MCTRT_CUDA=OFF)"
        return CudaStatus(compiled=False, usable=False, reason=why)
    status = cuda.runtime_status()
    devices = tuple(status["devices"])
    if devices:
        reason = ""
    elif status["driver_version"] == 0:
        reason = f"no NVIDIA driver is installed (libcuda.so.1 not found; CUDA says {status['error']})"
    else:
        reason = f"no usable GPU: {status['error']}"
    return CudaStatus(
        compiled=True,
        usable=bool(devices),
        reason=reason,
        devices=devices,
        runtime_version=status["runtime_version"],
        driver_version=status["driver_version"],
    )


def cuda_kernels_for(device: str, model: str) -> bool:
    """Whether a model run on `device` ("cuda", "cpu") gets its pre- and post-processing from mctrt's
    CUDA kernels. A GPU backend without usable kernels (no CUDA module, or one built for a newer
    CUDA than this driver runs, while torch sees the GPU) takes host arrays instead, and says so."""
    if device != "cuda":
        return False
    status = cuda_status()
    if not status.usable:
        log.warning("%s: pre- and post-processing on the CPU, not mctrt's CUDA kernels: %s", model, status.reason)
    return status.usable
