"""The models' and the tracker's settings: ByteTrackConfig, DetectorConfig, ReidConfig.

Each dataclass is frozen and checks itself on construction, raising ConfigError that names the field
and its valid range. Classes that configure C++ code mirror a C++ struct field for field; the ranges
are checked by the C++ side (one place), and a test keeps the defaults of both sides equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from mctrt._native import core
from mctrt.errors import ConfigError

# Field annotation -> Python types accepted for it (bools are never numbers here).
_ACCEPTED_TYPES = {"float": (int, float), "int": (int,), "bool": (bool,)}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class ByteTrackConfig:
    """ByteTrack settings for one camera. Costs are 1 - IoU (times the score where fused), so a
    larger `*_match_thresh` accepts matches with less overlap.

    Defaults are those of the official ByteTrack evaluation (tools/track.py: track_thresh 0.6,
    match_thresh 0.9, track_buffer 30), which are looser than its demo's and suit low frame rates,
    where people move further between frames.

    Deliberate differences from the official code: IDs are given when a confirmed track is first
    output, so they run 1, 2, 3, ... with no gaps; a lost track whose buffer has run out is dropped in that frame
    (the official code keeps it matchable one frame longer); IoU has no "+1 pixel" term; boxes with
    zero width or height are ignored; a score exactly at track_thresh counts as low (the official code
    ignores it); the returned box is the matched detection's, not the Kalman estimate (which lags a
    moving person).

    Attributes:
        track_thresh: detections scoring above this are "high" and may start tracks; those between
            low_thresh and this only extend existing tracks. Higher: fewer false tracks, more misses.
        low_thresh: detections at or below this are ignored entirely.
        new_track_thresh: a leftover high detection starts a track only at this score or above
            (the official code uses track_thresh + 0.1). Higher: fewer short false tracks, later starts.
        match_thresh: largest cost accepted in the first association (high-score detections with
            tracked and lost tracks). Higher: tolerates faster motion, risks swapping people.
        second_match_thresh: largest cost (1 - IoU, unfused) for low-score detections.
        unconfirmed_match_thresh: largest cost for confirming a one-frame-old track.
        duplicate_iou: a tracked and a lost track overlapping more than this are one person; the
            younger is dropped.
        distance_gate: a third association, after ByteTrack's two, in frames that come 1.5 frames or
            more after the last at frame_rate (in the pipeline 0.15 s: processing fell behind the
            camera, or the camera runs under 6.7 frames/s): the tracks lost in this frame and
            the confident boxes left over, matched by the squared Mahalanobis distance of a box's centre
            from the track's predicted centre (the Kalman filter's spread: it scales with the box height
            and the time since the last frame), up to this value; heights must agree within a factor of
            1.5. It keeps people who moved more than about their width between processed frames (low
            frame rates, dropped frames), where IoU sees no overlap. 0 turns it off (ByteTrack's
            behaviour); 9.21 is the 99 % quantile of that distance for a right match.
        motion_gate: in ByteTrack's IoU associations, a box that two or more tracks could take goes
            only to those whose Kalman filter expects it there: the box's centre, aspect ratio and
            height within this squared Mahalanobis distance of the prediction (DeepSORT's gate; 9.49
            is the 95 % quantile of that distance, chi-square with 4 degrees of freedom, for a right
            match). IoU alone lets a track step onto a nearer, taller person who walks or stops in
            front of it (the box a third taller and lower still overlaps well), and the two leave with
            each other's IDs. A box only one track could take is left to IoU: a seated, half-hidden
            person's boxes jump more than the filter's spread. The spread scales with the box height
            and grows while a track is lost. 0 turns it off (ByteTrack's behaviour).
        velocity_noise: the Kalman filter's process noise on the velocities, per frame at frame_rate
            (in the pipeline, per 0.1 s), as a fraction of the box height (a standard deviation): how
            quickly the motion model lets a person change speed or direction. ByteTrack's 1/160
            (DeepSORT's, set for 30 frames/s video) is ByteTrackConfig()'s; over the pipeline's 0.1 s
            steps people change velocity more, and 0.0125 (twice it; a config file's default,
            PIPELINE_TRACKER below) keeps more identities (docs/tracking.md). Larger: turns are
            followed sooner, a prediction's spread (motion_gate, distance_gate) grows faster, and a
            box's changes of shape (a seated, half-hidden person's box ballooning for a few frames)
            are taken for motion sooner.
        confirm_frames: a high box (above track_thresh) below new_track_thresh also starts a tentative
            track, confirmed (given an ID) once boxes have continued it in this many frames in a row;
            at least 2. A new_track_thresh that suits one footage misses people whom the detector
            never scores that high in another (a seated, half-hidden person at 0.59; INT8 or another
            input size moves scores by a few hundredths, across a threshold at their mode); a box
            that persists is a person, where a one-off box is usually not. 0 turns it off
            (ByteTrack's behaviour); 3 is DeepSORT's n_init.
        fuse_score: multiply IoU by the detection score in the first and tentative associations, so
            confident detections win close calls (the official code turns this off for MOT20).
        track_buffer: how long a lost track is kept for re-finding, in frames at 30 fps (track_buffer
            / 30 seconds when the tracker is given capture times, as in the pipeline, counted from
            when it was last seen: a track unseen for longer, lost or not, is gone before the next
            matching). Longer: survives longer occlusions, but a different person may inherit the ID.
        frame_rate: the unit of the Kalman filter's motion noise (per frame: velocity_noise) and,
            without capture times, the video's frame rate (track_buffer is scaled by frame_rate / 30).
            Given capture times, the tracker predicts across the real gap between frames, so dropped
            frames and uneven rates cost no identities. Not a config file's key: the config loader
            gives the pipeline's trackers PIPELINE_TRACKER_RATE (below).
    """

    track_thresh: float = 0.6
    low_thresh: float = 0.1
    new_track_thresh: float = 0.7
    match_thresh: float = 0.9
    second_match_thresh: float = 0.5
    unconfirmed_match_thresh: float = 0.7
    duplicate_iou: float = 0.85
    distance_gate: float = 0.0
    motion_gate: float = 0.0
    velocity_noise: float = 1 / 160
    confirm_frames: int = 0
    fuse_score: bool = True
    track_buffer: int = 30
    frame_rate: float = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) != (f.type == "bool") or not isinstance(value, _ACCEPTED_TYPES[f.type]):
                raise ConfigError(f"ByteTrackConfig.{f.name} must be {f.type}; got {value!r} ({type(value).__name__})")
            if f.type == "int" and not _INT32_MIN <= value <= _INT32_MAX:  # the C++ field is a 32-bit int
                raise ConfigError(f"ByteTrackConfig.{f.name} must be an integer within {_INT32_MIN}..{_INT32_MAX}; got {value}")
        try:
            self.to_native().validate()
        except ValueError as exc:
            raise ConfigError(f"ByteTrackConfig.{exc}") from None

    def to_native(self) -> core.ByteTrackConfig:
        """The C++ struct with the same values."""
        native = core.ByteTrackConfig()
        for f in fields(self):
            setattr(native, f.name, getattr(self, f.name))
        return native


# The pipeline's trackers, given capture times, count time in seconds whatever the cameras' rate: in
# steps of a tenth, their motion model's noise (velocity_noise) being per step, as at the 10 frames/s
# of the footage they were tuned on (a processed frame 0.15 s or more after the last also brings in
# distance_gate). modules.tracker.frame_rate is therefore not read from a config file.
PIPELINE_TRACKER_RATE = 10.0

# The pipeline's tracker where a config file leaves a key out: ByteTrack's own defaults (above, what
# ByteTrackConfig() gives, as the official code has them) with the settings measured for a tracker fed
# by a 640 x 640 YOLOv8n at conf_threshold 0.05 (README, Tracking; docs/tracking.md): new tracks only from
# boxes a detector is sure of, a first matching looser than 0.85 (which lost people on PETS09 played
# backwards; 0.875 did best there), people found again after skipped frames, a box two tracks could
# take given by motion, velocities that follow people's turns over 0.1 s steps.
PIPELINE_TRACKER = ByteTrackConfig(track_thresh=0.55, new_track_thresh=0.8, match_thresh=0.875, distance_gate=9.21,
                                   motion_gate=9.49, velocity_noise=0.0125, frame_rate=PIPELINE_TRACKER_RATE)

BACKENDS = ("auto", "onnxruntime", "openvino", "tensorrt", "torch")
PRECISIONS = ("fp32", "int8")  # of the CPU backends; GPU backends have their own


def check_backend(owner: str, backend: str, options: Mapping) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"{owner}.backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    bad_shape = ConfigError(f"{owner}.backend_options must map a backend name to its options (e.g. onnxruntime: "
                            f"{{threads: 2}}); got {options!r}")
    if not isinstance(options, Mapping):
        raise bad_shape
    unknown = sorted(set(map(str, options)) - set(BACKENDS[1:]))
    if unknown:
        raise ConfigError(f"{owner}.backend_options are keyed by backend ({', '.join(BACKENDS[1:])}); got {unknown}")
    if not all(v is None or isinstance(v, Mapping) for v in options.values()):
        raise bad_shape


def check_model(owner: str, model) -> None:
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{owner}.model must be the path of an .onnx file; got {model!r}")


@dataclass(frozen=True)
class DetectorConfig:
    """The person detector (`modules.detector` in a config file).

    Attributes:
        model: path of a YOLOv8 or YOLOX ONNX file (the single source of truth; engines are built from it).
        backend: "auto" (tensorrt, then torch on CUDA, then onnxruntime, or openvino where installed and
            faster here) or one of them by name.
        input_size: "auto" (the default): the cameras' own shape, from the first frames, at the scale
            a square input_long_side input gives them (4:3 -> 512 x 640, 16:9 -> 384 x 640: the same
            pixels of each frame on the square's grid, with less of its padding; for cameras of several
            shapes, the box around all of them; see detector.auto_input_size); YOLOv8 only, a YOLOX
            model keeps its own. (H, W) multiples of 32, e.g. (640, 640): that input, fixed (YOLOv8
            only; the model is re-targeted as it loads). None keeps the model's own.
        input_long_side: the input's long side for "auto", a multiple of 32. Smaller is faster and
            loses distant people (a person 60 px tall in a 1080p frame is 20 px at 640).
        conf_threshold: boxes scoring lower are dropped. Lower: more people found, more false boxes.
            0.05 by default: the pipeline's tracker keeps its tracks through occlusion on boxes down to its
            low_thresh (0.1; ByteTrack's second matching), which a detector's usual 0.25 would drop
            (Detector(...) on its own keeps 0.25).
        nms_iou: boxes of one class overlapping a better one by more than this are dropped.
        classes: COCO class indices to keep (0 = person).
        backend_options: per backend, its settings: {"torch": {"cuda_graphs": true}, "tensorrt":
            {"precision": "fp16", "max_batch": 32, ...}}.
        precision: "fp32", or "int8" on the CPU backends (onnxruntime, openvino): a static INT8 copy of the
            model (mctrt.models.quantize), built on the first run and cached under engines/. GPU
            backends keep their own precision (torch FP16, tensorrt's backend_options).
        calibration: for int8, video files or folders of images from your cameras whose frames set
            the INT8 ranges; in a config file it defaults to the config's video-file inputs. With none
            (only streams or webcams) the model runs in FP32 while it samples the cameras' frames, is
            quantized in the background and runs in INT8 from then on; the next start finds that
            copy cached (mctrt.models.quantize.LiveCalibration).
        calibration_frames: how many frames of them calibrate.
    """

    model: str
    backend: str = "auto"
    input_size: tuple[int, int] | str | None = "auto"
    conf_threshold: float = 0.05
    nms_iou: float = 0.45
    classes: tuple[int, ...] = (0,)
    backend_options: Mapping[str, Mapping] = field(default_factory=dict)
    precision: str = "fp32"
    calibration: tuple[str, ...] = ()
    calibration_frames: int = 64
    input_long_side: int = 640

    def __post_init__(self) -> None:
        check_model("DetectorConfig", self.model)
        for name in ("conf_threshold", "nms_iou"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"DetectorConfig.{name} must be a number in [0, 1]; got {value!r}")
        long_side = self.input_long_side
        if isinstance(long_side, bool) or not isinstance(long_side, int) or long_side <= 0 or long_side % 32:
            raise ConfigError(f"DetectorConfig.input_long_side must be a positive multiple of 32; got {long_side!r}")
        if isinstance(self.input_size, str):
            if self.input_size != "auto":
                raise ConfigError(f'DetectorConfig.input_size must be [H, W] or "auto"; got {self.input_size!r}')
        elif self.input_size is not None:
            size = tuple(self.input_size) if isinstance(self.input_size, (list, tuple)) else ()
            if len(size) != 2 or not all(isinstance(v, int) and v > 0 and v % 32 == 0 for v in size):
                raise ConfigError(
                    f"DetectorConfig.input_size must be [H, W], positive multiples of 32 (e.g. [384, 640]); got {self.input_size!r}"
                )
            object.__setattr__(self, "input_size", size)
        if not self.classes or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in self.classes):
            raise ConfigError(f"DetectorConfig.classes must be a non-empty list of class indices; got {self.classes!r}")
        object.__setattr__(self, "classes", tuple(self.classes))
        check_backend("DetectorConfig", self.backend, self.backend_options)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"DetectorConfig.precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        calibration = (self.calibration,) if isinstance(self.calibration, str) else tuple(self.calibration or ())
        if not all(isinstance(c, str) and c for c in calibration):
            raise ConfigError(f"DetectorConfig.calibration must be a path or a list of paths (videos, folders of images); "
                              f"got {self.calibration!r}")
        object.__setattr__(self, "calibration", calibration)
        frames = self.calibration_frames
        if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= 10_000:
            raise ConfigError(f"DetectorConfig.calibration_frames must be a whole number in 1..10000; got {frames!r}")


@dataclass(frozen=True)
class ReidConfig:
    """The re-identification embedder (`modules.reid` in a config file).

    Attributes:
        model: path of an OSNet-style ONNX file ((B, 3, 256, 128) in, (B, D) out).
        backend, backend_options: as for DetectorConfig.
        precision: "fp32", or "int8" on the CPU backends: a static INT8 copy calibrated on
            `calibration_crops` person crops of the run, those of every 10th embedding call until it has
            them (FP32 until then; quantized in the background and cached under engines/ for the next
            start). Off by default: OSNet x0.25's depthwise
            convolutions ran slower in INT8 on this project's AMD EPYC (docs/cpu-inference.md).
        calibration_crops: how many crops calibrate it.
    """

    model: str
    backend: str = "auto"
    backend_options: Mapping[str, Mapping] = field(default_factory=dict)
    precision: str = "fp32"
    calibration_crops: int = 128

    def __post_init__(self) -> None:
        check_model("ReidConfig", self.model)
        check_backend("ReidConfig", self.backend, self.backend_options)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"ReidConfig.precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        crops = self.calibration_crops
        if isinstance(crops, bool) or not isinstance(crops, int) or not 1 <= crops <= 10000:
            raise ConfigError(f"ReidConfig.calibration_crops must be a whole number in 1..10000; got {crops!r}")
