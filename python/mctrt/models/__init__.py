"""Models: the detector (YOLOv8, YOLOX), the re-ID embedder (OSNet) and their inference backends."""

from mctrt.models.detector import Detector
from mctrt.models.embedder import Embedder

__all__ = ["Detector", "Embedder"]
