"""mctrt's exceptions, defined once. The C++ extension raises these too (translated in its bindings).

Every message names the input at fault and how to fix it. Bad argument shapes and dtypes raise
plain ValueError; classes below that are also ValueErrors can be caught either way.
"""

from __future__ import annotations


class MctrtError(Exception):
    """Base class of every error mctrt raises on purpose."""


class ConfigError(MctrtError, ValueError):
    """A configuration key is unknown or its value is out of range."""


class DataError(MctrtError, ValueError):
    """A data file (detections, ground truth, tracking results) is missing or malformed."""


class SourceError(MctrtError):
    """A camera input cannot be read: permanent (a missing file: fix the config) or worth retrying (a
    stream that dropped or did not answer)."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class CudaError(MctrtError):
    """A CUDA call failed, or CUDA was needed and this build or machine has none."""


class ModelError(MctrtError):
    """A model file is missing, unreadable, or not the kind of model expected."""


class BackendUnavailable(MctrtError):
    """An inference backend was asked for but cannot run here (missing package, GPU or feature)."""
