"""python -m mctrt.tracking: ByteTrack over a MOTChallenge detection file.

    python -m mctrt.tracking --det det.txt --output results.txt --frame-rate 10

Every ByteTrackConfig field is an option (--track-thresh, --match-thresh, ...).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import MISSING, fields

from mctrt.config import ByteTrackConfig
from mctrt.errors import ConfigError, MctrtError
from mctrt.io.mot import read_mot, write_mot
from mctrt.tracking.offline import track_detections

def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_PARSERS = {"float": float, "int": int, "bool": _parse_bool}


def _config(args) -> ByteTrackConfig:
    """The tracker's settings from the options; ConfigError names the option (--track-thresh), not the field."""
    try:
        return ByteTrackConfig(**{f.name: getattr(args, f.name) for f in fields(ByteTrackConfig)})
    except ConfigError as exc:
        key, _, rest = str(exc).partition(" ")
        if not key.startswith("ByteTrackConfig."):
            raise
        raise ConfigError(f"--{key.removeprefix('ByteTrackConfig.').replace('_', '-')} {rest}") from None


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.tracking") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--det", required=True, help="MOTChallenge detections: frame,-1,left,top,w,h,score,...")
    parser.add_argument("--output", required=True, help="where to write results: frame,id,left,top,w,h,score,-1,-1,-1")
    parser.add_argument("--num-frames", type=_positive_int,
                        help="frames in the video (default: the last frame with a detection)")
    for f in fields(ByteTrackConfig):
        default = f.default if f.default is not MISSING else None
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=_PARSERS[f.type], default=default,
                            help=f"(default {default})")
    args = parser.parse_args(argv)
    try:
        config = _config(args)
        det_rows = read_mot(args.det, what="detection file", min_columns=7)
        last = int(det_rows[:, 0].max()) if len(det_rows) else 0
        if args.num_frames is not None and args.num_frames < last:
            print(f"warning: --num-frames {args.num_frames} leaves out detections up to frame {last}", file=sys.stderr)
        start = time.perf_counter()
        results = track_detections(det_rows, config, args.num_frames)
        elapsed = time.perf_counter() - start
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        write_mot(args.output, results)
    except OSError as exc:
        print(f"error: cannot write --output {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    frames = args.num_frames or last
    ids = len(set(results[:, 1].astype(int))) if len(results) else 0
    print(f"{frames} frames, {len(results)} boxes, {ids} track IDs, {elapsed * 1e3:.1f} ms -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
