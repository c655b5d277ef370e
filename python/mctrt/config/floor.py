"""Settings for the floor: each camera's calibration (`inputs[].calibration`), the floor association
(`association.floor`) and the dashboard's floor plan (`server.floor_plan`). Units: metres, seconds,
pixels, as the names say."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mctrt.config.checks import fail, number, text
from mctrt.errors import ConfigError
from mctrt.io.paths import not_a_file
from mctrt.geometry import CameraCalibration

CALIBRATION_FORMS = {
    "image_to_floor": ("image_to_floor",),
    "lens": ("intrinsics", "distortion", "world_to_camera"),
    "file": ("file",),
    "point pairs": ("image_points", "floor_points"),
}


@dataclass(frozen=True)
class CalibrationConfig:
    """Where one camera's pixels lie on the floor (`inputs[].calibration`), in exactly one form:

    - image_to_floor: [[h11, h12, h13], [h21, h22, h23], [h31, h32, h33]], the homography from this
      camera's image pixels to floor metres (the fixed contract other tools write);
    - intrinsics (3x3), distortion ([k1, k2, p1, p2, k3], OpenCV's order, may be []) and
      world_to_camera (4x4: floor metres, the floor is z = 0, -> camera coordinates);
    - file: a calibration JSON with those three (`intrinsic`, `distortion`, `extrinsic[0].tf`, each a
      row-major `doubles` list, as ../shared/data/lab4cam/config_camera/N.json), relative to the config;
    - image_points and floor_points: >= 4 pixels and the floor metres they show, fitted (the
      residuals are logged and `python -m mctrt.calibrate` prints them).

    `camera` is the CameraCalibration built from it (the load fails with ConfigError when it cannot be).
    """

    image_to_floor: tuple | None = None
    intrinsics: tuple | None = None
    distortion: tuple | None = None
    world_to_camera: tuple | None = None
    file: str | None = None
    image_points: tuple | None = None
    floor_points: tuple | None = None
    config_key: str = field(default="calibration", compare=False, metadata={"internal": True})  # for errors
    camera: CameraCalibration | None = field(default=None, compare=False, repr=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        given = [name for name, keys in CALIBRATION_FORMS.items() if any(getattr(self, k) is not None for k in keys)]
        forms = "; ".join(f"{name}: {', '.join(keys)}" for name, keys in CALIBRATION_FORMS.items())
        if len(given) != 1:
            raise ConfigError(f"{self.config_key} needs exactly one form ({forms}); got "
                              f"{' and '.join(given) if given else 'none'}")
        form = given[0]
        if form == "image_to_floor":
            camera = CameraCalibration.from_homography(self.image_to_floor, f"{self.config_key}.image_to_floor")
        elif form == "lens":
            missing = [k for k in ("intrinsics", "world_to_camera") if getattr(self, k) is None]
            if missing:
                raise ConfigError(f"{self.config_key} gives a lens but no {' or '.join(missing)}; the lens form needs "
                                  "intrinsics, distortion ([] for none) and world_to_camera")
            camera = CameraCalibration.from_lens(self.intrinsics, self.distortion, self.world_to_camera, where=self.config_key)
        elif form == "file":
            camera = CameraCalibration.from_file(text(f"{self.config_key}.file", self.file), f"{self.config_key}.file")
        else:
            if self.image_points is None or self.floor_points is None:
                raise ConfigError(f"{self.config_key} needs both image_points (pixels) and floor_points (metres)")
            camera = CameraCalibration.from_point_pairs(self.image_points, self.floor_points, self.config_key)
        object.__setattr__(self, "camera", camera)


@dataclass(frozen=True)
class FloorAssociationConfig:
    """How people are placed and matched on the floor (`association.floor`); used for calibrated cameras.

    Where a person stands is the bottom centre of the box (undistorted, then through the camera's
    homography), with an uncertainty: foot_sigma * box height pixels in the image, mapped to the floor
    through the homography's local derivative (so it grows with the distance from the camera), plus
    floor_sigma_m for the calibration itself.

    Attributes:
        foot_sigma: the foot point's standard error in pixels, as a fraction of the box height.
            Larger: more tolerant gates, more confusion between neighbours.
        estimated_foot_sigma: the same for a foot estimated from the track's recent height (the box
            is cut by the image's lower edge or by something in front of the legs).
        floor_sigma_m: the calibration's own error on the floor (metres).
        edge_margin_px: a box within this of an image border is cut off by it.
        width_ratio: a person's width as a fraction of their height (to place one cut by a side edge).
        occlusion_ratio: a box shorter than this fraction of its track's recent full height has its
            lower part hidden (if its bottom, not its top, moved): the foot is estimated.
        height_memory_s: how long a track's full height (from its last whole box) is trusted for that estimate.
        head_height_m, head_height_sigma_m: how high above the floor a box's top is, for a camera
            whose pose is known (intrinsics and extrinsics) to place a person whose feet are hidden and
            who has no recent full height: under the point at that height seen at the box top, that
            height's spread (seated about 1.3 m, standing 1.5-1.95 m) becoming an uncertainty along the
            line of sight. Set from people's heights, not swept.
        speed_sigma: how fast people walk, as the spread of their velocity per axis (m/s; about 1
            for a walking pace of 1.4): how fast a person first seen may be walking, and how far one
            out of sight may have gone.
        turn_time_s: how long people keep their speed and heading (s): a person out of sight is
            extrapolated along their last velocity for about this long and then not further, and the
            uncertainty grows from quadratic to linear in the time out of sight. Larger: follows
            straight walks more closely, turns less.
        gate_sigma: a track and a person's floor track match only within this many standard
            deviations (Mahalanobis distance of the position, at the track's capture time).
        max_gap_s: a person unseen this long is no longer placed by extrapolation (only appearance
            and the transit windows can bring them back). Nor is one whom the motion model, walking them
            on (along their last velocity, slowing over turn_time_s), has off the site by now (the convex
            hull of the floor the calibrated cameras see): they left the area. One it has on the site is in
            a blind spot between views, or hidden, and still looked for.
        still_window_s, still_radius_m: a person out of sight longer than max_gap_s who, over the
            last still_window_s they were seen, strayed less than still_radius_m (rms) from where
            they were on average, was still (seated at a desk, standing in a queue): they are looked
            for there, within still_radius_m, unless appearance vetoes it (min_similarity).
        appearance_weight: what a cosine distance of 1 adds to the squared Mahalanobis distance in
            the matching cost (appearance only breaks near ties: OSNet rates different people alike).
        min_similarity: inside the gate, an embedding less similar than this to the person's vetoes
            the match.
        ambiguity_margin: a new track whose best and second-best candidates' costs differ by less
            than this waits (up to the re-ID schedule's max_wait_frames) for the scene to tell them apart.
        view_margin: a floor point counts as in a camera's view when its pixel is this fraction of
            the image width inside the left and right edges. A person in a camera's view but not
            among its tracks is evidence of two people; near the edges it is not.
        split_after_s: two tracks of one person in different cameras that disagree on the floor for
            this long are two people: the later one is detached and matched again.
        merge_after_s: two people whose floor tracks agree this long, never seen by one camera at the
            same time, are one: the younger ID is corrected into the older.
        meeting_s, meeting_window_s: trackers swap people who cross. A track that comes within
            gate_sigma of someone lost from sight at most meeting_window_s ago is watched for
            meeting_s, then stays with whichever of the two (its person, or the one it met) it moved
            like (association/meetings.py). meeting_s 0: off. First choices, not swept (2 s and 5 s
            did worse on the tuning cuts in a variant of the rule since dropped).
    """

    foot_sigma: float = 0.05
    estimated_foot_sigma: float = 0.15
    floor_sigma_m: float = 0.15
    edge_margin_px: int = 2
    width_ratio: float = 0.4
    occlusion_ratio: float = 0.75
    height_memory_s: float = 3.0
    head_height_m: float = 1.6
    head_height_sigma_m: float = 0.25
    speed_sigma: float = 1.0
    turn_time_s: float = 5.0
    gate_sigma: float = 3.0
    max_gap_s: float = 10.0
    still_window_s: float = 3.0
    still_radius_m: float = 0.5
    appearance_weight: float = 10.0
    min_similarity: float = 0.5
    ambiguity_margin: float = 2.0
    view_margin: float = 0.03
    split_after_s: float = 0.5
    merge_after_s: float = 0.5
    meeting_s: float = 1.0
    meeting_window_s: float = 3.0

    def __post_init__(self) -> None:
        w = "association.floor"
        for name in ("foot_sigma", "estimated_foot_sigma", "floor_sigma_m", "speed_sigma", "turn_time_s",
                     "still_window_s", "gate_sigma", "head_height_m"):
            number(f"{w}.{name}", getattr(self, name), 0.0, open_low=True)
        for name in ("still_radius_m", "height_memory_s", "head_height_sigma_m", "max_gap_s", "appearance_weight", "ambiguity_margin", "split_after_s",
                     "merge_after_s", "meeting_s", "meeting_window_s"):
            number(f"{w}.{name}", getattr(self, name), 0.0)
        number(f"{w}.edge_margin_px", self.edge_margin_px, 0, integer=True)
        number(f"{w}.occlusion_ratio", self.occlusion_ratio, 0.0, 1.0)
        number(f"{w}.width_ratio", self.width_ratio, 0.0, 2.0, open_low=True)
        number(f"{w}.view_margin", self.view_margin, 0.0, 0.5)
        number(f"{w}.min_similarity", self.min_similarity, -1.0, 1.0)


@dataclass(frozen=True)
class FloorPlanConfig:
    """A floor plan image under the dashboard's floor view (`server.floor_plan`).

    Attributes:
        image: the picture (PNG or JPEG), relative to the config file.
        origin_px: the plan pixel [x, y] where the floor's (0, 0) lies.
        pixels_per_m: the plan's scale.
        y_axis: "up" when the floor's +y points up the picture (the usual map convention), "down"
            when it points down it.
    """

    image: str
    origin_px: tuple[float, float] = (0.0, 0.0)
    pixels_per_m: float = 50.0
    y_axis: str = "up"

    def __post_init__(self) -> None:
        text("server.floor_plan.image", self.image)
        origin = self.origin_px
        if not (isinstance(origin, (list, tuple)) and len(origin) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in origin)):
            raise fail("server.floor_plan.origin_px", "[x, y] in the plan's pixels", origin)
        object.__setattr__(self, "origin_px", (float(origin[0]), float(origin[1])))
        number("server.floor_plan.pixels_per_m", self.pixels_per_m, 0.0, open_low=True)
        if self.y_axis not in ("up", "down"):
            raise fail("server.floor_plan.y_axis", "up or down", self.y_axis)

    def check_image(self) -> None:
        """ConfigError unless the image is a PNG or JPEG file: checked before a dashboard is served
        (found out otherwise when it first asks for it, a 404); a worker never needs it."""
        path, fix = Path(self.image), "give a PNG or JPEG picture (relative to the config file) in server.floor_plan.image"
        if (why := not_a_file(path)) is not None:
            raise ConfigError(f"floor plan {path} {why}; {fix}")
        with open(path, "rb") as file:
            head = file.read(8)
        if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
            raise ConfigError(f"floor plan {path} is not a PNG or JPEG image; {fix}")
