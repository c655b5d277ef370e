"""Cross-camera identities: one global ID per person across all cameras."""

from mctrt.association.gallery import Correction, CrossCameraAssociator, Identity, Observation

__all__ = ["Correction", "CrossCameraAssociator", "Identity", "Observation"]
