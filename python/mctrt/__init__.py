"""mctrt: real-time multi-camera people tracking.

The public API is what this module exports; everything else may change.
"""

from importlib.metadata import PackageNotFoundError, version

from mctrt._native import core as _core
from mctrt.boxes import iou_xyxy
from mctrt.config import ByteTrackConfig
from mctrt.models import Detector, Embedder
from mctrt.tracking import ByteTracker, KalmanFilter
from mctrt.types import Detections, Tracks

try:
    __version__ = version("mctrt")
except PackageNotFoundError:  # pragma: no cover - only when run from an unusual install
    __version__ = "0+unknown"

lapjv = _core.lapjv

__all__ = [
    "ByteTrackConfig", "ByteTracker", "Detections", "Detector", "Embedder", "KalmanFilter", "Tracks", "__version__", "iou_xyxy", "lapjv",
]
