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
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import yaml

from mctrt.config.loader import expand_env, resolve_path
from mctrt.errors import DataError, MctrtError
from mctrt.io.mot import read_mot

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


def make_split(video: str | Path, gt: str | Path, image_to_floor: np.ndarray, strips_text: str, out: str | Path,
               frames: tuple[int, int] | None = None, base_config: str | Path | None = None) -> list[Strip]:
    """Write the strips' videos, ground truth and config (see the module docstring)."""
    out = Path(out)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise DataError(f"--video {video} cannot be opened; give a video file OpenCV reads")
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    strips = [replace(s, x1=s.x0 + (s.x1 - s.x0) // 2 * 2, y1=s.y0 + (s.y1 - s.y0) // 2 * 2)
              for s in parse_strips(strips_text, width, height)]  # even sizes, as the encoder writes them
    first, last = frames or (1, 10**9)
    rows = read_mot(gt, what="ground-truth file")
    rows = rows[(rows[:, 0] >= first) & (rows[:, 0] <= last)]
    rows[:, 0] -= first - 1
    writers = {}
    for s in strips:
        (out / s.name / "gt").mkdir(parents=True, exist_ok=True)
        writers[s.name] = cv2.VideoWriter(str(out / s.name / f"{s.name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                          (s.x1 - s.x0, s.y1 - s.y0))
        np.savetxt(out / s.name / "gt" / "gt.txt", strip_ground_truth(rows, s), delimiter=",", fmt="%.6g")
    index = 0
    while True:
        ok, image = capture.read()
        index += 1
        if not ok or index > last:
            break
        if index >= first:
            for s in strips:
                writers[s.name].write(np.ascontiguousarray(image[s.y0:s.y1, s.x0:s.x1]))
    capture.release()
    for writer in writers.values():
        writer.release()
    config = yaml.safe_load(Path(base_config).read_text()) if base_config else {}
    base = Path(base_config).resolve().parent if base_config else Path.cwd()
    for name, module in (config.get("modules") or {}).items():  # paths as the base config reads them, made absolute
        if isinstance(module, dict) and isinstance(module.get("model"), str):
            model = expand_env(module["model"], f"modules.{name}.model of {base_config}")
            module["model"] = str(Path(resolve_path(model, base)).resolve())
    config["inputs"] = [{"camera_id": s.name, "path": f"{s.name}/{s.name}.mp4",
                         "calibration": {"image_to_floor": s.homography(image_to_floor).round(12).tolist()}}
                        for s in strips]
    config.pop("events", None)  # lines and zones of other cameras
    (config.get("association") or {}).pop("transit_windows", None)  # they name the base's cameras
    config["store"] = {"path": None}
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return strips


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.splits") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--gt", required=True, help="MOTChallenge ground truth of the video")
    parser.add_argument("--image-to-floor", required=True, help="the video's 3x3 homography to floor metres (JSON)")
    parser.add_argument("--strips", required=True, help="x0:x1[/y0:y1],... one per camera")
    parser.add_argument("--frames", help="first:last frames to keep (1-based, inclusive)")
    parser.add_argument("--base-config", required=True,
                        help="a config whose modules (detector, tracker, re-ID) and association the split uses")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        h = np.asarray(json.loads(args.image_to_floor), np.float64)
        if h.shape != (3, 3):
            raise DataError(f"--image-to-floor must be a 3x3 matrix; got shape {h.shape}")
        frames = tuple(int(v) for v in args.frames.split(":")) if args.frames else None
        strips = make_split(args.video, args.gt, h, args.strips, args.out, frames, args.base_config)
    except (MctrtError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(strips)} cameras -> {args.out}: " + ", ".join(f"{s.name} {s.x0}:{s.x1}/{s.y0}:{s.y1}" for s in strips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
