"""Reading a configuration file: YAML with ${VAR} / ${VAR:-default} expanded from the environment,
every section checked against its dataclass (unknown keys refused, naming the valid ones), paths taken
relative to the file."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, fields, replace
from difflib import get_close_matches
from pathlib import Path

import yaml

from mctrt.config.floor import CalibrationConfig, FloorAssociationConfig, FloorPlanConfig
from mctrt.config.models import PIPELINE_TRACKER, PIPELINE_TRACKER_RATE, ByteTrackConfig, DetectorConfig, ReidConfig
from mctrt.config.pipeline import (
    AssociationConfig,
    BusConfig,
    CameraHealthConfig,
    EventsConfig,
    InputConfig,
    LineConfig,
    OutputConfig,
    PipelineConfig,
    ReidScheduleConfig,
    ServerConfig,
    StoreConfig,
    TransitWindow,
    ZoneConfig,
)
from mctrt.errors import ConfigError
from mctrt.io.paths import not_a_file

log = logging.getLogger(__name__)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_REQUIRED_HINTS = {"model": "the path of the .onnx file",
                   "path": "a video file, a folder of images, an rtsp:// URL or a webcam index",
                   "camera_id": "a short name for the camera"}
SECTIONS = ("inputs", "modules", "association", "events", "server", "store", "bus", "output")
MODULES = ("detector", "tracker", "reid")


def expand_env(text: str, where: str) -> str:
    """${VAR} and ${VAR:-default} replaced from the environment; an unset ${VAR} with no default fails.
    A value that starts the text and is a path relative to here (./ or ../, as in
    MCTRT_ASSETS=../shared) is made absolute against the working directory, where it was typed, so that
    it does not become relative to the config file."""

    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            found = os.environ[name]
            if match.start() == 0 and (found.startswith(("./", "../")) or found in (".", "..")):
                return os.path.abspath(found)
            return found
        if default is None:
            raise ConfigError(f"{where} uses ${{{name}}}, which is not set; set it or write ${{{name}:-default}}")
        return default

    return _ENV.sub(value, text)


def unset_with_defaults(path: str | Path) -> list[tuple[str, str]]:
    """The ${VAR:-default} references of a config file whose VAR is not set (their defaults were used),
    as (VAR, default), for an error about a missing file to point at; [] if the file cannot be read."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | Mapping):
            for item in value.values() if isinstance(value, Mapping) else value:
                yield from strings(item)

    return sorted({(m.group(1), m.group(2)) for text in strings(data) for m in _ENV.finditer(text)
                   if m.group(2) is not None and m.group(1) not in os.environ})


def resolve_path(path: str, base: Path) -> str:
    """A path from a config file: ~ expanded, and a relative one taken relative to the file's folder."""
    expanded = Path(path).expanduser()
    return str(expanded if expanded.is_absolute() else base / expanded)


class FromEnv(str):
    """A config value that was one ${VAR} reference and nothing else: from_mapping reads it as YAML would
    (a number, true or false) where the setting it fills takes one, as if written in the file."""


def _typed(value: FromEnv, annotation: str):
    """value as the setting of this type annotation takes it: a number or a bool where it takes one."""
    if "str" in annotation or not any(t in annotation for t in ("int", "float", "bool")):
        return value
    parsed = yaml.safe_load(value)
    return parsed if isinstance(parsed, (int, float, bool)) else value


def _expand_values(data, where: str):
    """expand_env applied to every string value of a parsed file (comments are never expanded)."""
    if isinstance(data, str):
        expanded = expand_env(data, where)
        return FromEnv(expanded) if _ENV.fullmatch(data.strip()) else expanded
    if isinstance(data, list):
        return [_expand_values(v, where) for v in data]
    if isinstance(data, Mapping):
        return {k: _expand_values(v, where) for k, v in data.items()}
    return data


def unknown_keys(where: str, given, valid, what: str = "keys") -> ConfigError | None:
    """The error for keys of `given` not in `valid` (None when all are known), each with the closest
    valid one where a typo is likely: "modules has unknown keys ['detectr'] (did you mean detector?)"."""
    unknown = sorted(set(given) - set(valid), key=str)
    if not unknown:
        return None
    guesses = [f"{key} -> {close[0]}" for key in unknown if (close := get_close_matches(str(key), list(valid), 1, 0.6))]
    hint = f" (did you mean {', '.join(guesses)}?)" if len(guesses) > 1 else (
        f" (did you mean {guesses[0].split(' -> ')[1]}?)" if guesses else "")
    return ConfigError(f"{where} has unknown {what} {unknown}{hint}; valid {what}: {', '.join(valid)}")


def from_mapping(cls, data, where: str, base: Path | None = None, **converted):
    """`cls` built from a config mapping (at `where`, e.g. "modules.detector"): unknown keys refused,
    missing required keys named, lists made tuples, a relative `model` path taken relative to `base`.
    `converted` gives values already built from nested sections."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping of settings; got {data!r}")
    names = [f.name for f in fields(cls) if not f.metadata.get("internal")]  # internal: set by code, not by files
    if (error := unknown_keys(where, data, names)) is not None:
        raise error
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    values.update(converted)
    for f in fields(cls):
        if isinstance(values.get(f.name), FromEnv):
            values[f.name] = _typed(values[f.name], str(f.type))
    for f in fields(cls):
        if f.default is MISSING and f.default_factory is MISSING and f.name not in values:
            raise ConfigError(f"{where}.{f.name} is required: {_REQUIRED_HINTS.get(f.name, 'see configs/demo.yaml')}")
    if base is not None and isinstance(values.get("model"), str) and values["model"]:
        values["model"] = resolve_path(values["model"], base)
    try:
        return cls(**values)
    except ConfigError as exc:  # the model classes name their own keys (DetectorConfig.x): name the file's
        message = str(exc)
        if message.startswith(f"{cls.__name__}."):
            raise ConfigError(where + message[len(cls.__name__):]) from None
        raise


def _list(data, where: str) -> list:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{where} must be a list; got {data!r}")
    return data


def _input(data, index: int, base: Path) -> InputConfig:
    nested = {}
    if isinstance(data, Mapping) and data.get("calibration") is not None:
        name = data.get("camera_id", index)
        nested["calibration"] = _calibration(data["calibration"], f"inputs[{name}].calibration", base)
    config = from_mapping(InputConfig, data, f"inputs[{index}]", **nested)
    if config.kind == "file":
        config = replace(config, path=resolve_path(config.path, base))
    return config


def _detector(data, inputs, base: Path) -> DetectorConfig:
    """modules.detector; INT8 calibration paths taken relative to `base`, and by default the inputs'
    video files (the user's own frames; with none, the cameras' frames as the run goes)."""
    detector = from_mapping(DetectorConfig, data, "modules.detector", base)
    calibration = tuple(resolve_path(c, base) for c in detector.calibration)
    if detector.precision == "int8" and not calibration:
        calibration = tuple(i.path for i in inputs if i.kind == "file")
    return replace(detector, calibration=calibration)


def _calibration(data, where: str, base: Path) -> CalibrationConfig:
    if isinstance(data, Mapping) and isinstance(data.get("file"), str):
        data = {**data, "file": resolve_path(data["file"], base)}
    return from_mapping(CalibrationConfig, data, where, config_key=where)


def _reid(data, base: Path) -> tuple[ReidConfig, ReidScheduleConfig]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"modules.reid must be a mapping of settings; got {data!r}")
    model_keys = {f.name for f in fields(ReidConfig)}
    schedule_keys = {f.name for f in fields(ReidScheduleConfig)}
    if (error := unknown_keys("modules.reid", data, sorted(model_keys | schedule_keys))) is not None:
        raise error
    model = from_mapping(ReidConfig, {k: v for k, v in data.items() if k in model_keys}, "modules.reid", base)
    return model, from_mapping(ReidScheduleConfig, {k: v for k, v in data.items() if k in schedule_keys}, "modules.reid")


def _tracker(data) -> ByteTrackConfig:
    if isinstance(data, Mapping) and "frame_rate" in data:
        log.warning("modules.tracker.frame_rate is no longer read (delete it): the tracker measures time from each "
                    "frame's capture time, and the results files count each camera's own frames")
        data = {k: v for k, v in data.items() if k != "frame_rate"}
    if not isinstance(data, Mapping):
        raise ConfigError(f"modules.tracker must be a mapping of settings; got {data!r}")
    unset = {f.name: getattr(PIPELINE_TRACKER, f.name) for f in fields(ByteTrackConfig) if f.name not in data}
    return replace(from_mapping(ByteTrackConfig, {**unset, **data}, "modules.tracker"), frame_rate=PIPELINE_TRACKER_RATE)


def config_from_dict(data, base: Path, source: Path | None = None) -> PipelineConfig:
    """A PipelineConfig from a parsed configuration file (base: the folder relative paths start from)."""
    where = str(source) if source else "config"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping with the sections {', '.join(SECTIONS)}")
    if (error := unknown_keys(where, data, SECTIONS, "sections")) is not None:
        raise error
    inputs = tuple(_input(item, i, base) for i, item in enumerate(_list(data.get("inputs"), "inputs")))
    if not inputs:
        raise ConfigError(f"{where}: inputs must list at least one camera ({{camera_id, path}})")
    cameras = [i.camera_id for i in inputs]
    repeated = sorted({c for c in cameras if cameras.count(c) > 1})
    if repeated:
        raise ConfigError(f"inputs: camera_id {', '.join(repeated)} is used twice; each camera needs its own name")

    modules = data.get("modules") or {}
    if isinstance(modules, Mapping) and (error := unknown_keys("modules", modules, MODULES)) is not None:
        raise error  # before "detector is required": a misspelt detector is the likelier mistake
    if not isinstance(modules, Mapping) or "detector" not in modules:
        raise ConfigError("modules.detector is required: {model: path/to/detector.onnx, ...}")
    detector = _detector(modules["detector"], inputs, base)
    tracker = _tracker(modules.get("tracker") or {})
    reid, schedule = _reid(modules["reid"], base) if modules.get("reid") is not None else (None, ReidScheduleConfig())

    def known_camera(camera_id: str | None, at: str) -> str | None:
        if camera_id is not None and camera_id not in cameras and camera_id != "*":
            raise ConfigError(f"{at} names camera {camera_id!r}, which is not in inputs ({', '.join(cameras)})")
        return camera_id

    assoc = data.get("association") or {}
    if not isinstance(assoc, Mapping):
        raise ConfigError(f"association must be a mapping of settings; got {assoc!r}")
    windows = []
    for i, item in enumerate(_list(assoc.get("transit_windows"), "association.transit_windows")):
        window = from_mapping(TransitWindow, item, f"association.transit_windows[{i}]")
        for cam in window.cameras:
            known_camera(cam, f"association.transit_windows[{i}]")
        windows.append(window)
    nested = {"transit_windows": tuple(windows)}
    if assoc.get("floor") is not None:
        nested["floor"] = from_mapping(FloorAssociationConfig, assoc["floor"], "association.floor")
    if "default_window" in assoc:
        if not isinstance(assoc["default_window"] or {}, Mapping):
            raise ConfigError(f"association.default_window must be a mapping (min_s, max_s); got {assoc['default_window']!r}")
        nested["default_window"] = from_mapping(TransitWindow, {"cameras": ["*", "*"], **(assoc["default_window"] or {})},
                                                "association.default_window")
    association = from_mapping(AssociationConfig, assoc, "association", **nested)

    ev = data.get("events") or {}
    if not isinstance(ev, Mapping):
        raise ConfigError(f"events must be a mapping of settings; got {ev!r}")
    lines = tuple(from_mapping(LineConfig, item, f"events.lines[{i}]") for i, item in enumerate(_list(ev.get("lines"), "events.lines")))
    zones = tuple(from_mapping(ZoneConfig, item, f"events.zones[{i}]") for i, item in enumerate(_list(ev.get("zones"), "events.zones")))
    calibrated = [i.camera_id for i in inputs if i.calibration is not None]
    for kind, items in (("lines", lines), ("zones", zones)):
        for item in items:
            known_camera(item.camera_id, f"events.{kind}[{item.name}]")
            if item.on_floor and not calibrated:
                raise ConfigError(f"events.{kind}[{item.name}] is on the floor (metres) but no camera has a calibration; "
                                  "give inputs[].calibration, or draw it in one camera's pixels (camera_id + pixels)")
    if not isinstance(ev.get("dwell_per_camera") or {}, Mapping):
        raise ConfigError(f"events.dwell_per_camera must map camera_id to seconds; got {ev['dwell_per_camera']!r}")
    nested = {"lines": lines, "zones": zones, "dwell_per_camera": dict(ev.get("dwell_per_camera") or {})}
    if ev.get("camera_health") is not None:
        nested["camera_health"] = from_mapping(CameraHealthConfig, ev["camera_health"], "events.camera_health")
    events = from_mapping(EventsConfig, ev, "events", **nested)
    for cam in events.dwell_per_camera:
        known_camera(cam, "events.dwell_per_camera")

    server_data = data.get("server") or {}
    nested = {}
    if isinstance(server_data, Mapping) and server_data.get("floor_plan") is not None:
        plan = server_data["floor_plan"]
        if isinstance(plan, Mapping) and isinstance(plan.get("image"), str):
            plan = {**plan, "image": resolve_path(plan["image"], base)}
        nested["floor_plan"] = from_mapping(FloorPlanConfig, plan, "server.floor_plan")
    server = from_mapping(ServerConfig, server_data, "server", **nested)
    store = from_mapping(StoreConfig, data.get("store") or {}, "store")
    if store.path is not None:
        store = replace(store, path=resolve_path(store.path, base))
    bus = from_mapping(BusConfig, data.get("bus") or {}, "bus")
    output = from_mapping(OutputConfig, data.get("output") or {}, "output")
    return PipelineConfig(inputs, detector, tracker, reid, schedule, association, events, server, store, bus, output,
                          source)


def read_config_file(path: str | Path, what: str = "config file"):
    """The parsed YAML of a config file, its ${VAR}s as written; ConfigError names it (as `what`)."""
    path = Path(path)
    if (why := not_a_file(path)) is not None:
        raise ConfigError(f"{what} {path} {why}; give the path of a YAML file such as configs/demo.yaml")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} cannot be read as text ({exc}); give a YAML file such as "
                          "configs/demo.yaml") from None


def check_config(data, path: Path) -> PipelineConfig:
    """Config file content (as read_config_file gives it) loaded as if it lay at `path`."""
    return config_from_dict(_expand_values(data, str(path)), path.parent.resolve(), path)


def load_config(path: str | Path) -> PipelineConfig:
    """Read a configuration file; ConfigError names the file (a site may keep several) and the key at fault."""
    data = read_config_file(path)
    try:
        return check_config(data, Path(path))
    except ConfigError as exc:
        if str(path) in str(exc):
            raise
        raise ConfigError(f"{path}: {exc}") from None
