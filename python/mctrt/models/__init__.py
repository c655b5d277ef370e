"""Models: the detector (YOLOv8, YOLOX) and its inference backends."""

from mctrt.models.detector import Detector

__all__ = ["Detector"]
