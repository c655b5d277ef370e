"""Cross-camera identities: one global ID per person across all cameras, on the floor where cameras
are calibrated and by appearance where they are not (rules: associator.py)."""

from mctrt.association.associator import CameraTracks, Correction, CrossCameraAssociator, Identity
from mctrt.association.floor_tracks import FloorTracks
from mctrt.association.reid_schedule import ReidPlan, ReidScheduler

__all__ = ["CameraTracks", "Correction", "CrossCameraAssociator", "FloorTracks", "Identity", "ReidPlan", "ReidScheduler"]
