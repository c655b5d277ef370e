"""Per-camera tracking: ByteTrack and its Kalman filter, both in C++."""

from mctrt._native import core
from mctrt.tracking.byte_tracker import ByteTracker

KalmanFilter = core.KalmanFilter

__all__ = ["ByteTracker", "KalmanFilter"]
