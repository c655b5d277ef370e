"""Types of mctrt._core, the compiled C++ core (see csrc/bindings). Import it through mctrt._native."""

import numpy as np
import numpy.typing as npt

Float32 = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
Int64 = npt.NDArray[np.int64]

def build_info() -> dict[str, str | int]: ...
def iou_xyxy(a: Float32, b: Float32) -> Float32:
    """(N, 4) x (M, 4) float32 xyxy -> (N, M) float32 IoU."""

def lapjv(cost: npt.NDArray[np.floating] | npt.NDArray[np.integer], cost_limit: float = ...) -> tuple[Int64, Int64]:
    """(N, M) costs -> (row_to_col (N,), col_to_row (M,)), -1 where unmatched."""

def floor_predict(mean: Float64, cov: Float64, time: Float64, anchor: Float64, wander: Float64, slots: Int64,
                  times: Float64, acceleration_sigma: float) -> tuple[Float64, Float64]:
    """Floor tracks' states (K, 4) and covariances (K, 4, 4) at these times; the arrays are not changed."""

def floor_update(mean: Float64, cov: Float64, time: Float64, anchor: Float64, wander: Float64, slots: Int64,
                 times: Float64, xy: Float64, xy_cov: Float64, acceleration_sigma: float,
                 still_window_s: float) -> None:
    """Corrects floor tracks in place with positions xy (K, 2) and their covariances (K, 2, 2)."""

class KalmanFilter:
    std_weight_position: float
    std_weight_velocity: float
    def __init__(self) -> None: ...
    def initiate(self, xyah: Float64) -> tuple[Float64, Float64]: ...
    def predict(self, mean: Float64, covariance: Float64) -> tuple[Float64, Float64]: ...
    def multi_predict(self, means: Float64, covariances: Float64) -> tuple[Float64, Float64]: ...
    def project(self, mean: Float64, covariance: Float64) -> tuple[Float64, Float64]: ...
    def update(self, mean: Float64, covariance: Float64, xyah: Float64) -> tuple[Float64, Float64]: ...
    def gating_distance(
        self, mean: Float64, covariance: Float64, measurements: Float64, only_position: bool = False
    ) -> Float64: ...

class ByteTrackConfig:
    track_thresh: float
    low_thresh: float
    new_track_thresh: float
    match_thresh: float
    second_match_thresh: float
    unconfirmed_match_thresh: float
    duplicate_iou: float
    fuse_score: bool
    track_buffer: int
    frame_rate: float
    def __init__(self) -> None: ...
    def validate(self) -> None: ...
    @property
    def max_frames_lost(self) -> int: ...

class ByteTracker:
    def __init__(self, config: ByteTrackConfig) -> None: ...
    def update(self, xyxy: Float32, scores: Float32) -> tuple[Float32, Int64, Float32, Int64, Int64]: ...
    def reset(self) -> Int64: ...
    @property
    def frame_id(self) -> int: ...
    @property
    def num_tracked(self) -> int: ...
    @property
    def num_lost(self) -> int: ...
