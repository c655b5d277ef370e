"""The pipeline's settings beyond the models: cameras, re-ID schedule, association, events, server,
store, and PipelineConfig holding a whole configuration file. configs/demo.yaml documents every key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mctrt.config.checks import fail, number, points, text
from mctrt.config.floor import CalibrationConfig, FloorAssociationConfig, FloorPlanConfig
from mctrt.config.models import PIPELINE_TRACKER, ByteTrackConfig, DetectorConfig, ReidConfig
from mctrt.errors import ConfigError


@dataclass(frozen=True)
class InputConfig:
    """One camera (an entry of `inputs:`).

    Attributes:
        camera_id: a short unique name ([A-Za-z0-9_-]), used in results file names and the API.
        path: a video file, a folder of images (frames in name order; io.paths.image_files), an
            rtsp:// (or http://) URL, or a webcam index (0, 1, ...).
        loop: files only, live mode: start again at the end instead of ending.
        fps: pace a file at this rate in live mode (default: the file's own rate); a folder of images'
            frame rate (default: its MOTChallenge seqinfo.ini's frameRate).
        rtsp_transport: "tcp" (reliable through NAT and firewalls) or "udp" (lower latency).
        open_timeout_s, read_timeout_s: give up opening / waiting for a frame after this long; the
            camera is then reconnected with exponential backoff.
        calibration: where its pixels lie on the floor (CalibrationConfig), or None: the camera's
            people are then matched by appearance alone.
    """

    camera_id: str
    path: str
    loop: bool = False
    fps: float | None = None
    rtsp_transport: str = "tcp"
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    calibration: CalibrationConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.camera_id, str) or not self.camera_id or not all(c.isalnum() or c in "_-" for c in self.camera_id):
            raise fail("inputs[].camera_id", "a name of letters, digits, '_' or '-'", self.camera_id)
        if self.camera_id == "world":  # offline results: DIR/<camera_id>.txt beside the floor's DIR/world.txt
            raise ConfigError("inputs[].camera_id 'world' is taken by the floor positions' results file (world.txt); "
                              "give the camera another name")
        where = f"inputs[{self.camera_id}]"
        if isinstance(self.path, int) and not isinstance(self.path, bool):
            object.__setattr__(self, "path", str(self.path))
        text(f"{where}.path", self.path)
        if not isinstance(self.loop, bool):
            raise fail(f"{where}.loop", "true or false", self.loop)
        if self.fps is not None:
            number(f"{where}.fps", self.fps, 0.0, open_low=True)
        if self.rtsp_transport not in ("tcp", "udp"):
            raise fail(f"{where}.rtsp_transport", "tcp or udp", self.rtsp_transport)
        for name in ("open_timeout_s", "read_timeout_s"):
            number(f"{where}.{name}", getattr(self, name), 0.0, open_low=True)
        try:
            url = urlsplit(self.path)
            host = url.hostname
        except ValueError as exc:  # an unclosed [IPv6 address, say
            raise ConfigError(f"{where}.path {self.path} is not a valid URL ({exc}); fix it") from None
        if url.scheme.lower() in ("rtsp", "rtsps", "http", "https", "rtmp") and not host:  # retried for ever
            raise ConfigError(f"{where}.path {self.path} names no host; give a URL such as rtsp://HOST[:PORT]/PATH")

    @property
    def kind(self) -> str:
        """"webcam", "stream" (a URL) or "file" (a video file or a folder of images)."""
        if self.path.isdigit():
            return "webcam"
        return "stream" if "://" in self.path else "file"


@dataclass(frozen=True)
class ReidScheduleConfig:
    """When re-ID runs (`modules.reid` keys beside the model's): for a new track, then every N frames
    per track, only on boxes good enough to describe a person.

    Attributes:
        every_n_frames: frames between two embeddings of one track. Lower: quicker to notice an ID
            mix-up, more re-ID work.
        min_box_height, min_box_width: smaller boxes are too few pixels to describe anyone (pixels).
        min_score: the detection score a box needs (occluded people score low and embed badly).
        border_margin_px: boxes within this of the image border are cut off and skipped.
        max_wait_frames: a track that never passes the gates gets a global ID of its own after this
            many frames, without appearance.
    """

    every_n_frames: int = 10
    min_box_height: int = 64
    min_box_width: int = 24
    min_score: float = 0.5
    border_margin_px: int = 2
    max_wait_frames: int = 30

    def __post_init__(self) -> None:
        number("modules.reid.every_n_frames", self.every_n_frames, 1, integer=True)
        for name in ("min_box_height", "min_box_width", "border_margin_px", "max_wait_frames"):
            number(f"modules.reid.{name}", getattr(self, name), 0, integer=True)
        number("modules.reid.min_score", self.min_score, 0.0, 1.0)


@dataclass(frozen=True)
class TransitWindow:
    """How long a person takes to get from one camera's view to the other's (both ways), in seconds.
    min_s = 0 means the views overlap: the person may be seen in both at once. A camera paired with
    itself ([door, door]) bounds the gap of a person leaving its view and coming back."""

    cameras: tuple[str, str]
    min_s: float = 0.0
    max_s: float = 60.0

    def __post_init__(self) -> None:
        cams = tuple(self.cameras) if isinstance(self.cameras, (list, tuple)) else ()
        if len(cams) != 2 or not all(isinstance(c, str) for c in cams):
            raise fail("association.transit_windows[].cameras", "two camera_ids", self.cameras)
        object.__setattr__(self, "cameras", cams)
        number("association.transit_windows[].min_s", self.min_s, 0.0)
        number("association.transit_windows[].max_s", self.max_s, self.min_s)


@dataclass(frozen=True)
class AssociationConfig:
    """Cross-camera identities (`association:`).

    The thresholds suit OSNet x0.25 (cosine similarities of different people reach 0.8 and more):
    they were chosen by a sweep on the PETS09 footage (configs/demo.yaml, configs/pets09.yaml).

    Attributes:
        enabled: false gives every track its own global ID (no re-ID matching at all).
        match_threshold: the cosine similarity a track needs to join an identity. Higher: fewer
            wrong merges, more people split in two.
        reentry_threshold: the similarity a track needs to join an identity last seen in its own
            camera (a person coming back). Higher than match_threshold: within one camera the tracker
            already follows each person, and look-alikes met again there are a common mistake.
        ema: weight of an identity's old embedding when one of its tracks adds a new one.
        maturity: embeddings an identity needs before other tracks may match it (one blurred crop
            should not attract others).
        ttl_s: an identity unseen this long is forgotten.
        default_window: the transit window of any camera pair not listed (and of a camera with itself).
        transit_windows: per pair of cameras.
        floor: matching on the floor, for calibrated cameras (FloorAssociationConfig).
    """

    enabled: bool = True
    match_threshold: float = 0.86
    reentry_threshold: float = 0.97
    ema: float = 0.9
    maturity: int = 2
    ttl_s: float = 600.0
    default_window: TransitWindow = TransitWindow(("*", "*"), 0.0, 60.0)
    transit_windows: tuple[TransitWindow, ...] = ()
    floor: FloorAssociationConfig = FloorAssociationConfig()

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise fail("association.enabled", "true or false", self.enabled)
        number("association.match_threshold", self.match_threshold, -1.0, 1.0)
        number("association.reentry_threshold", self.reentry_threshold, -1.0, 1.0)
        number("association.ema", self.ema, 0.0, 0.999)
        number("association.maturity", self.maturity, 1, integer=True)
        number("association.ttl_s", self.ttl_s, 0.0, open_low=True)

    def window(self, a: str, b: str) -> TransitWindow:
        """The transit window between cameras a and b."""
        for w in self.transit_windows:
            if {a, b} == set(w.cameras):
                return w
        return self.default_window


@dataclass(frozen=True)
class LineConfig:
    """A counting line, in one camera's pixels (camera_id + points) or on the floor in metres
    (points_m, seen by every calibrated camera: one crossing per person however many cameras see it).
    Crossing from the left of a->b to its right is "forward": left and right as drawn on the image,
    or, on the floor, as on a map with x to the right and y up. A person must pass through the segment
    (its ends widened by the hysteresis): one seen past an end is forgotten until back beside it."""

    name: str
    camera_id: str | None = None
    points: tuple[tuple[float, float], tuple[float, float]] | None = None
    hysteresis_px: float | None = None  # default 8 px (image lines only)
    points_m: tuple[tuple[float, float], tuple[float, float]] | None = None
    hysteresis_m: float | None = None  # default 0.2 m (floor lines only)

    def __post_init__(self) -> None:
        text("events.lines[].name", self.name)
        where = f"events.lines[{self.name}]"
        _image_or_floor(where, self.camera_id, self.points, self.points_m, "points", "points_m")
        key, unit = ("points", "the camera's pixels") if self.points_m is None else ("points_m", "floor metres")
        (a, b) = points(f"{where}.{key}", getattr(self, key), 2, unit, exactly=True)
        if a == b:
            raise ConfigError(f"{where}.{key}: the line's two ends are the same point {list(a)}; give two different points")
        object.__setattr__(self, key, (a, b))
        _hysteresis(self, where, 8.0, 0.2)

    @property
    def on_floor(self) -> bool:
        return self.points_m is not None


@dataclass(frozen=True)
class ZoneConfig:
    """A polygon zone, in one camera's pixels (camera_id + polygon) or on the floor in metres
    (polygon_m, shared by all calibrated cameras): enter/leave events, occupancy, and dwell past a
    threshold. A person inside leaves only once farther outside than hysteresis_px (or _m), so
    someone standing on the edge, their position jittering across it, is one visit."""

    name: str
    camera_id: str | None = None
    polygon: tuple[tuple[float, float], ...] | None = None
    dwell_threshold_s: float | None = None
    polygon_m: tuple[tuple[float, float], ...] | None = None
    hysteresis_px: float | None = None  # default 8 px (image zones only)
    hysteresis_m: float | None = None  # default 0.2 m (floor zones only)

    def __post_init__(self) -> None:
        text("events.zones[].name", self.name)
        where = f"events.zones[{self.name}]"
        _image_or_floor(where, self.camera_id, self.polygon, self.polygon_m, "polygon", "polygon_m")
        key, unit = ("polygon", "the camera's pixels") if self.polygon_m is None else ("polygon_m", "floor metres")
        corners = points(f"{where}.{key}", getattr(self, key), 3, unit)
        if abs(_area(corners)) < 1e-9:
            raise ConfigError(f"{where}.{key} encloses no area (its points lie on one line, or its edges cross); give "
                              "the corners of the zone in order around it")
        object.__setattr__(self, key, corners)
        if self.dwell_threshold_s is not None:
            number(f"{where}.dwell_threshold_s", self.dwell_threshold_s, 0.0, open_low=True)
        _hysteresis(self, where, 8.0, 0.2)

    @property
    def on_floor(self) -> bool:
        return self.polygon_m is not None


def _area(corners) -> float:
    """A polygon's signed area (shoelace)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]))


def _hysteresis(shape, where: str, default_px: float, default_m: float) -> None:
    """A line or zone's hysteresis is in its own units: hysteresis_px on an image, hysteresis_m on the
    floor; the other one is an error (a floor zone given pixels would silently ignore them)."""
    given, unused = ("hysteresis_m", "hysteresis_px") if shape.on_floor else ("hysteresis_px", "hysteresis_m")
    if getattr(shape, unused) is not None:
        raise ConfigError(f"{where}.{unused} does not apply: this one is drawn "
                          f"{'on the floor (metres)' if shape.on_floor else 'on an image (pixels)'}; use {given}")
    value = getattr(shape, given)
    if value is None:
        value = default_m if shape.on_floor else default_px
    object.__setattr__(shape, given, number(f"{where}.{given}", value, 0.0))


def _image_or_floor(where: str, camera_id, image_shape, floor_shape, image_key: str, floor_key: str) -> None:
    """A line or zone is drawn either on one camera's image or on the floor, never both."""
    if floor_shape is not None:
        if camera_id is not None or image_shape is not None:
            raise ConfigError(f"{where}: give either camera_id and {image_key} (pixels of that camera) or {floor_key} "
                              "(floor metres, for all calibrated cameras), not both")
        return
    if image_shape is None:
        raise ConfigError(f"{where} needs {image_key} (with camera_id) or {floor_key}")
    text(f"{where}.camera_id", camera_id)


@dataclass(frozen=True)
class CameraHealthConfig:
    """Per-camera health events in live runs (`events.camera_health`): camera_offline when no frame came
    for offline_after_s, camera_slow when fewer than min_fps frames a second were processed over the
    last window_s, camera_ok when it is back to normal. A condition must hold debounce_s before its
    event, so a hiccup raises nothing.

    Attributes:
        offline_after_s: seconds without a frame before a camera is offline.
        min_fps: processed frames per second below which a camera is slow (null: never).
        window_s: the span the frame rate is measured over.
        debounce_s: how long a new condition must last before it is reported.
    """

    offline_after_s: float = 5.0
    min_fps: float | None = None
    window_s: float = 5.0
    debounce_s: float = 2.0

    def __post_init__(self) -> None:
        number("events.camera_health.offline_after_s", self.offline_after_s, 0.0, open_low=True)
        if self.min_fps is not None:
            number("events.camera_health.min_fps", self.min_fps, 0.0, open_low=True)
        number("events.camera_health.window_s", self.window_s, 0.0, open_low=True)
        number("events.camera_health.debounce_s", self.debounce_s, 0.0)


@dataclass(frozen=True)
class EventsConfig:
    """Events (`events:`), all on the foot point (bottom centre of the box), or on the floor track.

    Attributes:
        exit_after_s: a person unseen in a camera this long has left it (exit); shorter gaps are the
            same visit, so a flickering track does not enter twice.
        dwell_threshold_s: a dwell event when someone stays in a camera's view this long.
        dwell_per_camera: overrides of dwell_threshold_s per camera_id.
        lines, zones: see LineConfig and ZoneConfig.
        camera_health: see CameraHealthConfig.
    """

    exit_after_s: float = 2.0
    dwell_threshold_s: float = 30.0
    dwell_per_camera: Mapping[str, float] = field(default_factory=dict)
    lines: tuple[LineConfig, ...] = ()
    zones: tuple[ZoneConfig, ...] = ()
    camera_health: CameraHealthConfig = CameraHealthConfig()

    def __post_init__(self) -> None:
        number("events.exit_after_s", self.exit_after_s, 0.0)
        number("events.dwell_threshold_s", self.dwell_threshold_s, 0.0, open_low=True)
        if not isinstance(self.dwell_per_camera, Mapping):
            raise fail("events.dwell_per_camera", "a mapping of camera_id to seconds", self.dwell_per_camera)
        for cam, seconds in self.dwell_per_camera.items():
            number(f"events.dwell_per_camera.{cam}", seconds, 0.0, open_low=True)
        for kind, shapes in (("lines", self.lines), ("zones", self.zones)):
            names = [shape.name for shape in shapes]
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:  # events, occupancy and the dashboard tell them apart by name
                raise ConfigError(f"events.{kind}: the name {twice[0]!r} is used twice; give each one its own name "
                                  f"(e.g. {twice[0]}_<camera>), or draw one on the floor for all cameras")

    def dwell_threshold(self, camera_id: str) -> float:
        return float(self.dwell_per_camera.get(camera_id, self.dwell_threshold_s))


@dataclass(frozen=True)
class ServerConfig:
    """The dashboard and API (`server:`). Binding anything but loopback without a token is unsafe.

    Attributes:
        host, port: where to listen (port 0: any free port, logged).
        token: a bearer token the API and WebSockets require (null: the MCTRT_TOKEN environment
            variable if set, else none). An empty string is refused.
        jpeg_max_fps: video frames sent per camera per second at most (the pipeline may run faster).
        jpeg_max_width: frames wider than this are scaled down before encoding (pixels).
        jpeg_quality: 1..100.
        client_queue: frames (or stats messages) held per client; a slow client loses its oldest.
        stats_interval_s: how often /ws/stats pushes the stats.
        heartbeat_s: how often a WebSocket is pinged; a client that has not answered within half of it
            is closed (a page whose machine slept or lost its network).
        trail_s: how much of each person's recent path the floor view shows (seconds of scene
            time; 0: none). Longer: easier to read where people came from, more clutter and bytes.
        allowed_origins: browser origins (e.g. "https://ops.example.com") allowed to open WebSockets
            besides the page's own.
        allowed_hosts: host names (e.g. "ops.example.com") requests may be addressed to besides
            "localhost" and IP addresses: a request whose Host header names anything else is refused,
            so that a web page cannot reach the server through a name of its own that resolves here
            (DNS rebinding).
        floor_plan: a picture under the floor view (FloorPlanConfig), or None.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    jpeg_max_fps: float = 10.0
    jpeg_max_width: int = 960
    jpeg_quality: int = 75
    client_queue: int = 2
    stats_interval_s: float = 1.0
    heartbeat_s: float = 20.0
    trail_s: float = 5.0
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    floor_plan: FloorPlanConfig | None = None

    def __post_init__(self) -> None:
        text("server.host", self.host)
        number("server.port", self.port, 0, 65535, integer=True)
        if self.token is not None:
            text("server.token", self.token)
        number("server.jpeg_max_fps", self.jpeg_max_fps, 0.0, 120.0, open_low=True)
        number("server.jpeg_max_width", self.jpeg_max_width, 16, 7680, integer=True)
        number("server.jpeg_quality", self.jpeg_quality, 1, 100, integer=True)
        number("server.client_queue", self.client_queue, 1, 1000, integer=True)
        number("server.stats_interval_s", self.stats_interval_s, 0.05, 60.0)
        number("server.heartbeat_s", self.heartbeat_s, 1.0, 3600.0)
        number("server.trail_s", self.trail_s, 0.0, 60.0)
        if not isinstance(self.allowed_origins, tuple) or not all(map(_is_origin, self.allowed_origins)):
            raise fail("server.allowed_origins", 'a list of origins like "https://host:port" (no path)',
                       self.allowed_origins)
        if not isinstance(self.allowed_hosts, tuple) or not all(
                isinstance(h, str) and h and not set(h) & set(":/[] ") for h in self.allowed_hosts):
            raise fail("server.allowed_hosts", 'a list of host names like "ops.example.com" (no scheme or port)',
                       self.allowed_hosts)


def _is_origin(text) -> bool:
    """scheme://host[:port] (http or https), as a browser's Origin header has it; a trailing slash allowed."""
    if not isinstance(text, str):
        return False
    try:
        parts = urlsplit(text.strip())
        parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/")
            and not (parts.query or parts.fragment or parts.username))


@dataclass(frozen=True)
class StoreConfig:
    """The event store (`store:`).

    Attributes:
        path: the SQLite database file (null: no store); the embedded default.
        url: a PostgreSQL database instead, postgresql://USER[:PASSWORD]@HOST:PORT/DB (its tables are
            created if missing): one store for a central and every reader. When set, path is unused.
    """

    path: str | None = "mctrt.db"
    url: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        if self.path is not None and (not isinstance(self.path, str) or not self.path):
            raise fail("store.path", "the path of an SQLite file, or null for no store", self.path)
        if self.url is not None and (not isinstance(self.url, str)
                                     or not self.url.startswith(("postgresql://", "postgres://"))):
            raise fail("store.url", "a PostgreSQL URL like postgresql://mctrt@HOST:5432/mctrt", self.url)


@dataclass(frozen=True)
class BusConfig:
    """Camera workers and one central over Redis Streams (`bus:`; used by --role worker and central).

    Attributes:
        url: the Redis server, redis://HOST:PORT/DB (--bus overrides it).
        prefix: the streams' names start with it: PREFIX:step:<camera_id>. Give each site (or each
            offline run sharing one Redis) its own.
        lateness_s: live: how long the central waits for a camera that is behind before it goes on
            without it (its late steps are then processed late and counted, never dropped).
        step_window_s: cameras' steps whose capture times lie within this of each other are one step
            of the scene (at most one per camera).
        max_len: entries kept per camera stream (older ones are trimmed; about max_len / fps seconds).
        embedding_dtype: float16 (half the bytes) or float32.
        buffer: steps a worker holds while Redis is unreachable; beyond it the oldest are dropped and
            counted.
        checkpoint_s: how often the central saves its state with the events since the last save (one
            store transaction), then acknowledges their steps: a restarted central repeats at most
            this much work. Events reach the store (and its API) up to this late.
    """

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "mctrt"
    lateness_s: float = 0.5
    step_window_s: float = 0.05
    max_len: int = 100_000
    embedding_dtype: str = "float16"
    buffer: int = 1000
    checkpoint_s: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise fail("bus.url", "a Redis URL like redis://HOST:6379/0", self.url)
        text("bus.prefix", self.prefix)
        number("bus.lateness_s", self.lateness_s, 0.0, 60.0)
        number("bus.step_window_s", self.step_window_s, 0.0, 10.0)
        number("bus.max_len", self.max_len, 100, 10**9, integer=True)
        if self.embedding_dtype not in ("float16", "float32"):
            raise fail("bus.embedding_dtype", "float16 or float32", self.embedding_dtype)
        number("bus.buffer", self.buffer, 1, 10**7, integer=True)
        number("bus.checkpoint_s", self.checkpoint_s, 0.0, 3600.0)


@dataclass(frozen=True)
class OutputConfig:
    """What the results files (`--output DIR`, written at the end of a run) add with hindsight (`output:`).

    The seconds become frames at each camera's own rate, measured from its frame numbers and capture
    times (the median over its first second; until then 10 frames/s; the scene logs it), and
    world.txt's and the settling's steps at the steps' own rate, measured alike (offline, the
    fastest camera's; live, the processing's).

    Attributes:
        fill_gaps_s: where a person's rows in one camera stop for at most this long (in frames at the
            camera's rate: 20 at 10 frames/s) and go on under the same global ID, the frames
            between get boxes interpolated linearly, with a score of 0 (no detection was behind them),
            unless a box before or after the gap reaches the image's border (the person may have left
            the view; `modules.reid.border_margin_px`); 0 leaves the gaps. Boxes the detector misses
            for a few frames, or a track lost while its person is hidden, are much of what a
            per-camera track lacks; the run's events, store and live views never see these rows.
        smooth_s: each box written is the mean of its person's boxes in that camera this long either
            side (in frames at the camera's rate: 2 at 10 frames/s; consecutive frames
            only), which takes the detector's jitter out of a person's walk; 0 leaves the boxes as
            the tracker gave them.
        settle_after_s: rows this old (in steps at the steps' rate) are final: written
            aside in their final form and let go from memory, so that a run of days holds minutes
            of rows, not days. A correction joining two IDs after that renames only the rows not
            yet settled (events.jsonl's `id_corrected` says which IDs became which). At least
            fill_gaps_s + smooth_s (a settled row needs the rows it is filled and smoothed from; the
            writer holds at least four times that); 0 keeps every row to the end of the run.
        relink: at the end of a run no longer than settle_after_s, judge every link across a gap
            again with what came after it: where swapping two hand-offs makes both the people's
            motion and their looks agree better, the files take the swapped IDs, and a person who
            vanished and came back under a new ID that clearly is them gets their ID back
            (`association/relink.py`; the run's events, store and live views keep the IDs of the
            time). Needs calibrated cameras and re-ID.
    """

    fill_gaps_s: float = 2.0
    smooth_s: float = 0.2
    settle_after_s: float = 600.0
    relink: bool = True

    def __post_init__(self) -> None:
        number("output.fill_gaps_s", self.fill_gaps_s, 0.0, 3600.0)
        number("output.smooth_s", self.smooth_s, 0.0, 60.0)
        number("output.settle_after_s", self.settle_after_s, 0.0, 10**7)
        if not isinstance(self.relink, bool):
            raise fail("output.relink", "true or false", self.relink)
        if 0 < self.settle_after_s < self.fill_gaps_s + self.smooth_s:
            raise ConfigError(f"output.settle_after_s must be 0 or at least output.fill_gaps_s + output.smooth_s "
                              f"({self.fill_gaps_s + self.smooth_s:g}): a settled row needs the rows it is filled and "
                              f"smoothed from; got {self.settle_after_s:g}")


@dataclass(frozen=True)
class PipelineConfig:
    """A whole configuration file, loaded by load_config()."""

    inputs: tuple[InputConfig, ...]
    detector: DetectorConfig
    tracker: ByteTrackConfig = PIPELINE_TRACKER
    reid: ReidConfig | None = None
    reid_schedule: ReidScheduleConfig = ReidScheduleConfig()
    association: AssociationConfig = AssociationConfig()
    events: EventsConfig = EventsConfig()
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    bus: BusConfig = BusConfig()
    output: OutputConfig = OutputConfig()
    source: Path | None = None  # the file it came from

    @property
    def camera_ids(self) -> list[str]:
        return [i.camera_id for i in self.inputs]
