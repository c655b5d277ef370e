"""Types of mctrt._core, the compiled C++ core (see csrc/bindings). Import it through mctrt._native."""

import numpy as np
import numpy.typing as npt

Float32 = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
Int64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

def build_info() -> dict[str, str | int]: ...
def iou_xyxy(a: Float32, b: Float32) -> Float32:
    """(N, 4) x (M, 4) float32 xyxy -> (N, M) float32 IoU."""

def lapjv(cost: npt.NDArray[np.floating] | npt.NDArray[np.integer], cost_limit: float = ...) -> tuple[Int64, Int64]:
    """(N, M) costs -> (row_to_col (N,), col_to_row (M,)), -1 where unmatched."""

def lapjv_sparse(rows: Int64, cols: Int64, costs: Float64, n_rows: int, n_cols: int,
                 cost_limit: float) -> tuple[Int64, Int64]:
    """lapjv with a finite cost_limit where only the listed (rows[k], cols[k]) pairs, at costs[k], can match."""

def letterbox_batch(images: list[npt.NDArray[np.uint8]], out: Float32, centre: bool, to_rgb: bool, scale: float,
                    pad_value: float) -> Float32:
    """BGR uint8 frames (H, W, 3) letterboxed into out (B, 3, H', W'), written in place (C-contiguous,
    writeable); returns (B, 3) float32 ratio, pad_x, pad_y of each."""

def crop_resize_batch(images: list[npt.NDArray[np.uint8]], boxes_per_image: list[Float32], out: Float32) -> None:
    """Re-ID crops of each image's (K, 4) xyxy boxes into out (total boxes, 3, H, W), in place, normalised."""

def postprocess(raw: Float32, family: str, transforms: Float32, sizes: Int64, conf_threshold: float,
                iou_threshold: float, classes: list[int], num_classes: int, max_det: int, input_h: int,
                input_w: int) -> list[tuple[Float32, Float32, Int64]]:
    """A detector's raw output (B, ...) decoded, NMS'd and mapped back to each frame: (xyxy, scores, class_ids)."""

def floor_predict(mean: Float64, cov: Float64, time: Float64, anchor: Float64, wander: Float64, slots: Int64,
                  times: Float64, speed_sigma: float, turn_time_s: float) -> tuple[Float64, Float64]:
    """Floor tracks' states (K, 4) and covariances (K, 4, 4) at these times; the arrays are not changed."""

def floor_update(mean: Float64, cov: Float64, time: Float64, anchor: Float64, wander: Float64, slots: Int64,
                 times: Float64, xy: Float64, xy_cov: Float64, speed_sigma: float, turn_time_s: float,
                 still_window_s: float) -> None:
    """Corrects floor tracks in place with positions xy (K, 2) and their covariances (K, 2, 2)."""

def mahalanobis_sq(diff: Float64, cov: Float64) -> Float64:
    """Squared Mahalanobis distances (K,) of diff (K, D) under cov (K, D, D), D <= 4; inf where not positive definite."""

def pairwise_mahalanobis_sq(xy_a: Float64, cov_a: Float64, xy_b: Float64, cov_b: Float64,
                            block: Int64 | None = None) -> tuple[Float64, Float64]:
    """Every pair of floor positions (A, 2) x (B, 2) under the sum of their covariances: (d2, logdet), each (A, B).
    With block (A,): xy_b (T, B, 2), cov_b (T, B, 2, 2), and row i against block block[i] only."""

def close_pairs(xy: Float64, cov: Float64, radius_m: float, gate_sq: float) -> tuple[Int64, Int64]:
    """Pairs (first, second), first < second, of floor positions within radius_m in x and y and within the gate."""

class FootRule:
    def __init__(self, *, height_memory_s: float, edge_margin_px: float, occlusion_ratio: float, width_ratio: float,
                 foot_sigma: float, estimated_foot_sigma: float, floor_sigma_m: float) -> None: ...

def foot_points(rule: FootRule, xyxy: Float64, image_wh: Float64, time_s: Float64, rows: Int64, occluded: Bool,
                full_height: Float64, full_top: Float64, full_bottom: Float64,
                full_time: Float64) -> tuple[Float64, Float64, Bool, Bool, Bool]:
    """The foot rule: (foot (N, 2), body (N,), hidden, estimated, cut_side (N,) bool); updates the full-box columns."""

def feet_to_floor(rule: FootRule, to_floor: Float64, floor_sign: Float64, camera: Int64, foot: Float64, body: Float64,
                  hidden: Bool, estimated: Bool, cut_side: Bool, near_zero: float) -> tuple[Float64, Float64]:
    """Undistorted feet -> (floor xy (N, 2), NaN where not placed, covariance (N, 2, 2))."""

class SlotMap:
    def __init__(self) -> None: ...
    def find_or_add(self, keys: Int64) -> tuple[Int64, Bool]: ...
    def find(self, keys: Int64) -> Int64: ...
    def release(self, keys: Int64) -> None: ...
    def rename(self, old_key: int, new_key: int) -> bool: ...
    def keys(self) -> list[int]: ...
    @property
    def slots_used(self) -> int: ...
    def __contains__(self, key: int) -> bool: ...
    def __len__(self) -> int: ...

class KalmanFilter:
    std_weight_position: float
    std_weight_velocity: float
    def __init__(self, velocity_noise: float = ...) -> None: ...
    @property
    def velocity_noise(self) -> float: ...
    def initiate(self, xyah: Float64) -> tuple[Float64, Float64]: ...
    def predict(self, mean: Float64, covariance: Float64, dt: float = 1.0) -> tuple[Float64, Float64]: ...
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
    distance_gate: float
    motion_gate: float
    velocity_noise: float
    confirm_frames: int
    fuse_score: bool
    track_buffer: int
    frame_rate: float
    def __init__(self) -> None: ...
    def validate(self) -> None: ...
    @property
    def max_frames_lost(self) -> float: ...

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
