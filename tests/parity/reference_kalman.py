"""A short, obviously correct numpy Kalman filter: the oracle for the C++ one.

Same model as ByteTrack/DeepSORT: state (cx, cy, a, h, vcx, vcy, va, vh), constant velocity, noise
proportional to the box height. Written with plain matrix algebra (no structure exploited) so that
it is easy to check by eye; the C++ version exploits the block structure and must agree.
"""

from __future__ import annotations

import numpy as np

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160

MOTION = np.eye(8)
MOTION[:4, 4:] = np.eye(4)  # dt = 1 frame
OBSERVATION = np.eye(4, 8)


def initiate(xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4,) measurement -> mean (8,), covariance (8, 8)."""
    h = xyah[3]
    pos, vel = STD_WEIGHT_POSITION, STD_WEIGHT_VELOCITY
    std = np.array([2 * pos * h, 2 * pos * h, 1e-2, 2 * pos * h, 10 * vel * h, 10 * vel * h, 1e-5, 10 * vel * h])
    return np.r_[xyah, np.zeros(4)].astype(np.float64), np.diag(std**2)


def process_noise(mean: np.ndarray) -> np.ndarray:
    h = mean[3]
    pos, vel = STD_WEIGHT_POSITION, STD_WEIGHT_VELOCITY
    std = np.array([pos * h, pos * h, 1e-2, pos * h, vel * h, vel * h, 1e-5, vel * h])
    return np.diag(std**2)


def predict(mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step ahead. The noise uses the height before the step, as ByteTrack does."""
    q = process_noise(mean)
    return MOTION @ mean, MOTION @ covariance @ MOTION.T + q


def project(mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """State -> measurement space: mean (4,), innovation covariance (4, 4)."""
    h = mean[3]
    std = np.array([STD_WEIGHT_POSITION * h, STD_WEIGHT_POSITION * h, 1e-1, STD_WEIGHT_POSITION * h])
    return OBSERVATION @ mean, OBSERVATION @ covariance @ OBSERVATION.T + np.diag(std**2)


def update(mean: np.ndarray, covariance: np.ndarray, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    projected_mean, projected_cov = project(mean, covariance)
    gain = covariance @ OBSERVATION.T @ np.linalg.inv(projected_cov)
    new_mean = mean + gain @ (xyah - projected_mean)
    new_cov = covariance - gain @ projected_cov @ gain.T
    return new_mean, new_cov


def gating_distance(
    mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray, only_position: bool = False
) -> np.ndarray:
    """Squared Mahalanobis distance of (M, 4) measurements to the projected state."""
    projected_mean, projected_cov = project(mean, covariance)
    if only_position:
        projected_mean, projected_cov = projected_mean[:2], projected_cov[:2, :2]
        measurements = measurements[:, :2]
    d = measurements - projected_mean
    return np.einsum("mi,ij,mj->m", d, np.linalg.inv(projected_cov), d)
