"""python -m mctrt.splits: cut a calibrated video with ground truth into cameras, to test identity.

Each camera is a strip of the frame, so that cross-camera identity is tested where the truth is known.

    python -m mctrt.splits --video V.avi --gt gt/gt.txt --image-to-floor '[[...], [...], [...]]' \\
        --strips 0:256,320:576,640:768 --base-config configs/pets09.yaml --out DIR [--frames 1:400]

Each strip x0:x1 (columns; rows y0:y1 too with x0:x1/y0:y1) becomes DIR/<name>/<name>.mp4 with
DIR/<name>/gt/gt.txt: the ground truth's boxes in that strip's pixels, kept where at least 60 % of the
box lies inside it and cut to the strip (as ../shared/data/pets09_split2 was made), the person ID
shared by all strips. The MPEG-4 encoder needs even sizes, so a strip's width and height are rounded
down to even numbers of pixels (its last column or row left out).
Gaps between strips are blind spots a person walks through; overlaps are seen twice. DIR/config.yaml
runs them with the detector and re-ID of --base-config and each strip's homography (the full frame's,
shifted by the strip's origin), so `python -m mctrt.run --config DIR/config.yaml --offline --output
OUT` and `python -m mctrt.eval --gt DIR --pred OUT` score it.

Every input is checked before anything is written: the homography, the frames asked for (within the
video's length), the strips, the ground truth, and the split's config, built from --base-config and
checked as `mctrt run` would load it. A video that ends before the length it reports (a damaged file)
gives strips and ground truth of the frames it did give, with a warning.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path

import cv2
import numpy as np
import yaml

from mctrt.config.loader import check_config, expand_env, read_config_file, resolve_path
from mctrt.errors import ConfigError, DataError, MctrtError
from mctrt.geometry import CameraCalibration
from mctrt.io.mot import read_mot

log = logging.getLogger(__name__)

MIN_INSIDE = 0.6


@dataclass(frozen=True)
class Strip:
    """A camera cut from the frame: columns x0:x1 and rows y0:y1 (pixels, end exclusive), of a frame
    of this (width, height) (None: unknown)."""

    name: str
    x0: int
    x1: int
    y0: int
    y1: int
    frame: tuple[int, int] | None = None

    def homography(self, image_to_floor: np.ndarray) -> np.ndarray:
        """The strip's image -> floor homography: the full frame's, after moving by the strip's origin."""
        shift = np.array([[1.0, 0, self.x0], [0, 1.0, self.y0], [0, 0, 1.0]])
        h = image_to_floor @ shift
        return h / h[2, 2]


def parse_strips(text: str, width: int, height: int) -> list[Strip]:
    """"x0:x1[/y0:y1],..." -> Strips named cam0, cam1, ..., each checked against the frame size."""
    strips = []
    for i, part in enumerate(p for p in text.split(",") if p.strip()):
        cols, _, rows = part.partition("/")
        try:
            x0, x1 = (int(v) for v in cols.split(":"))
            y0, y1 = (int(v) for v in rows.split(":")) if rows else (0, height)
        except ValueError:
            raise DataError(f"--strips: {part!r} is not x0:x1 or x0:x1/y0:y1 (pixels)") from None
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise DataError(f"--strips: {part!r} does not fit in the {width}x{height} frame")
        strips.append(Strip(f"cam{i}", x0, x1, y0, y1, (width, height)))
    if not strips:
        raise DataError("--strips lists no strip; give e.g. 0:256,320:576,640:768")
    return strips


def strip_ground_truth(rows: np.ndarray, strip: Strip) -> np.ndarray:
    """Ground-truth rows in the strip's pixels, where >= 60 % of the box is inside it, cut at the
    strip's edges that cut the frame (the part a camera of that view shows; at the frame's own edges
    the boxes stay as annotated, as in the video they were annotated on)."""
    x, y, w, h = rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
    inside_w = np.clip(np.minimum(x + w, strip.x1) - np.maximum(x, strip.x0), 0, None)
    inside_h = np.clip(np.minimum(y + h, strip.y1) - np.maximum(y, strip.y0), 0, None)
    kept = rows[inside_w * inside_h >= MIN_INSIDE * w * h].copy()
    width, height = strip.frame or (None, None)
    for at, size, low, high, limit in ((2, 4, strip.x0, strip.x1, width), (3, 5, strip.y0, strip.y1, height)):
        start, end = kept[:, at], kept[:, at] + kept[:, size]
        if low > 0 or limit is None:
            start = np.maximum(start, low)
        if limit is None or high < limit:
            end = np.minimum(end, high)
        kept[:, at], kept[:, size] = start - low, end - start
    return kept


def parse_frames(text: str) -> tuple[int, int]:
    """"first:last" (1-based, inclusive) -> (first, last); make_split checks the range."""
    try:
        first, last = (int(v) for v in text.split(":"))
    except ValueError:
        raise DataError(f"--frames {text!r} is not first:last (1-based frame numbers, inclusive), e.g. 1:400") from None
    return first, last


def parse_image_to_floor(text: str):
    """--image-to-floor's JSON 3x3 list, given inline or as the path of a JSON file holding it (not yet
    checked as a homography: make_split does that)."""
    inline = text.lstrip().startswith("[")
    if not inline and not Path(text).is_file():
        raise DataError(f"--image-to-floor {text!r} is neither a JSON 3x3 list such as '[[1, 0, 0], [0, 1, 0], "
                        "[0, 0, 1]]' nor the path of a JSON file holding one")
    try:
        source = text if inline else Path(text).read_text()
        return json.loads(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"--image-to-floor file {text} cannot be read ({exc}); give a JSON file holding a 3x3 "
                        "list") from None
    except json.JSONDecodeError as exc:
        what = "--image-to-floor" if inline else f"--image-to-floor file {text}"
        raise DataError(f"{what} is not valid JSON ({exc}); give a 3x3 list such as "
                        "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]") from None


def _read_base_config(path: str | Path) -> dict:
    """The parsed --base-config (its ${VAR}s as written)."""
    data = read_config_file(path, "--base-config") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"--base-config {path} must be a mapping of sections (modules, association, ...) such as "
                          f"configs/pets09.yaml; got {type(data).__name__}")
    return data


def _split_config(strips: list[Strip], image_to_floor: np.ndarray, out: Path, base_config: str | Path | None) -> dict:
    """DIR/config.yaml's content: --base-config's modules and association with the strips as its cameras.
    With a base config it is checked as `mctrt run` would load it from out; without, it lists only the
    cameras (to be completed with modules) and is not checked."""
    config = _read_base_config(base_config) if base_config else {}
    base = Path(base_config).resolve().parent if base_config else Path.cwd()

    def absolute(section, key: str, where: str) -> None:  # a path of the base config, as the base reads it
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, str):
            section[key] = str(Path(resolve_path(expand_env(value, f"{where} of {base_config}"), base)).resolve())
        elif isinstance(value, list):
            section[key] = [str(Path(resolve_path(expand_env(v, f"{where} of {base_config}"), base)).resolve())
                            if isinstance(v, str) else v for v in value]

    modules = config.get("modules")
    for name, module in (modules.items() if isinstance(modules, Mapping) else ()):
        absolute(module, "model", f"modules.{name}.model")
        absolute(module, "calibration", f"modules.{name}.calibration")  # the detector's INT8 frames
    server = config.get("server")
    absolute(server.get("floor_plan") if isinstance(server, dict) else None, "image", "server.floor_plan.image")
    config["inputs"] = [{"camera_id": s.name, "path": f"{s.name}/{s.name}.mp4",
                         "calibration": {"image_to_floor": s.homography(image_to_floor).round(12).tolist()}}
                        for s in strips]
    config.pop("events", None)  # lines and zones of other cameras
    if isinstance(config.get("association"), dict):
        config["association"].pop("transit_windows", None)  # they name the base's cameras
    config["store"] = {"path": None}
    if base_config:
        where = f"the split's config from --base-config {base_config}"
        try:  # what will be written, read back as load_config reads it
            check_config(yaml.safe_load(yaml.safe_dump(config, sort_keys=False)), out / "config.yaml")
        except ConfigError as exc:
            raise ConfigError(f"{where} would not load: {exc}") from None
    return config


def make_split(video: str | Path, gt: str | Path, image_to_floor, strips_text: str, out: str | Path,
               frames: tuple[int, int] | None = None, base_config: str | Path | None = None) -> list[Strip]:
    """Write the strips' videos, ground truth and config (see the module docstring).

    image_to_floor: the video's 3x3 homography (array-like). frames: (first, last), 1-based and
    inclusive; None for the whole video. Every input is checked (DataError or ConfigError naming it)
    before anything is written.
    """
    out = Path(out)
    image_to_floor = CameraCalibration.from_homography(image_to_floor, "--image-to-floor").image_to_floor
    if frames is not None and not 1 <= frames[0] <= frames[1]:
        why = "frames are numbered from 1" if frames[0] < 1 else "it ends before it starts, keeping no frame"
        raise DataError(f"--frames {frames[0]}:{frames[1]}: {why}; give first:last with 1 <= first <= last")
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; give a folder (made if missing) for the cameras")
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise DataError(f"--video {video} cannot be opened; give a video file OpenCV reads")
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
        reported = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # 0 or less: unknown
        if frames is not None and 0 < reported < frames[1]:
            raise DataError(f"--frames {frames[0]}:{frames[1]} goes past the end of --video {video}, which has "
                            f"{reported} frames; give a range within 1:{reported}")
        strips = [replace(s, x1=s.x0 + (s.x1 - s.x0) // 2 * 2, y1=s.y0 + (s.y1 - s.y0) // 2 * 2)
                  for s in parse_strips(strips_text, width, height)]  # even sizes, as the encoder writes them
        for s in strips:
            if s.x1 == s.x0 or s.y1 == s.y0:
                raise DataError(f"--strips: {s.name} is under 2 pixels wide or high; the MPEG-4 encoder needs at "
                                "least 2")
        rows = read_mot(gt, what="ground-truth file")
        config = _split_config(strips, image_to_floor, out, base_config)
        first, last = frames or (1, None)
        read = _write_videos(capture, strips, out, fps, first, last)
    finally:
        capture.release()
    expected = (last if last is not None else reported) - first + 1  # <= 0: unknown
    if read == 0:
        length = f"it reports {reported} frames: " if reported > 0 else ""
        raise DataError(f"--video {video} ended before frame {first} ({length}is the file truncated or damaged?); "
                        "nothing was split")
    if read < expected:
        log.warning("--video %s gave %d of the %d frames %s (is the file truncated or damaged?); the cameras and their "
                    "ground truth hold its frames %d:%d only", video, read, expected,
                    f"of --frames {first}:{last}" if frames else "it reports", first, first + read - 1)
    rows = rows[(rows[:, 0] >= first) & (rows[:, 0] < first + read)]  # never past the videos' last frame
    rows[:, 0] -= first - 1
    for s in strips:
        np.savetxt(out / s.name / "gt" / "gt.txt", strip_ground_truth(rows, s), delimiter=",", fmt="%.6g")
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return strips


def _write_videos(capture: cv2.VideoCapture, strips: list[Strip], out: Path, fps: float, first: int,
                 last: int | None) -> int:
    """Frames first..last (None: to the end) of the capture cut into out/<name>/<name>.mp4 (and the
    folders for their ground truth made); the number of frames written, fewer where the video ends."""
    for s in strips:
        try:
            (out / s.name / "gt").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"--out: cannot make the folder {out / s.name / 'gt'} ({exc.strerror}); give a folder "
                            "you can write to") from None
    writers = []
    try:
        for s in strips:
            path = out / s.name / f"{s.name}.mp4"
            writers.append(cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (s.x1 - s.x0, s.y1 - s.y0)))
            if not writers[-1].isOpened():
                raise DataError(f"--out: OpenCV cannot write the video {path}; check the folder is writable")
        written = 0
        for index in count(1):
            if last is not None and index > last:
                break
            if index < first:
                if not capture.grab():  # passed over, not turned into an image
                    break
                continue
            ok, image = capture.read()
            if not ok:
                break
            for s, writer in zip(strips, writers):
                writer.write(np.ascontiguousarray(image[s.y0:s.y1, s.x0:s.x1]))
            written += 1
    finally:
        for writer in writers:
            writer.release()
    return written


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.splits") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--gt", required=True, help="MOTChallenge ground truth of the video")
    parser.add_argument("--image-to-floor", required=True,
                        help="the video's 3x3 homography to floor metres: a JSON list of 3 rows of 3 numbers, "
                             "'[[h11, h12, h13], [h21, h22, h23], [h31, h32, h33]]', or the path of a JSON file "
                             "holding it")
    parser.add_argument("--strips", required=True, help="x0:x1[/y0:y1],... one per camera")
    parser.add_argument("--frames", help="first:last frames to keep (1-based, inclusive; default: all)")
    parser.add_argument("--base-config", required=True,
                        help="a config whose modules (detector, tracker, re-ID) and association the split uses")
    parser.add_argument("--out", required=True, help="the folder to write the cameras and config.yaml into")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        image_to_floor = parse_image_to_floor(args.image_to_floor)
        frames = parse_frames(args.frames) if args.frames is not None else None
        strips = make_split(args.video, args.gt, image_to_floor, args.strips, args.out, frames, args.base_config)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(strips)} cameras -> {args.out}: " + ", ".join(f"{s.name} {s.x0}:{s.x1}/{s.y0}:{s.y1}" for s in strips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
