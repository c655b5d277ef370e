"""The mctrt command: `mctrt <command> [options]` is `python -m mctrt.<command> [options]`.

    mctrt run --config configs/demo.yaml --offline --output runs/demo
    mctrt eval --gt ../shared/data/pets09_split2 --pred runs/demo
    mctrt info | calibrate | models | tracking | build-engines | splits   (each: --help)
"""

from __future__ import annotations

import difflib
import importlib
import sys

COMMANDS = {  # name -> (module, what it does)
    "run": ("mctrt.run", "run the pipeline on a config's cameras (offline or live, with the dashboard)"),
    "eval": ("mctrt.eval", "score results against MOTChallenge ground truth (MOTA, IDF1, HOTA)"),
    "info": ("mctrt.info", "what this build contains and what this machine offers"),
    "calibrate": ("mctrt.calibrate", "draw each camera's floor grid to check its calibration by eye"),
    "models": ("mctrt.models.__main__", "prepare a YOLOv8 export, or quantize a detector to INT8 for the CPU"),
    "tracking": ("mctrt.tracking.__main__", "ByteTrack over a MOTChallenge detection file"),
    "build-engines": ("mctrt.build_engines", "build TensorRT engines ahead of time"),
    "splits": ("mctrt.splits", "cut a calibrated video into cameras, to test cross-camera identity"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    return "usage: mctrt <command> [options]\n\ncommands:\n" + "\n".join(
        f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()) + "\n\n`mctrt <command> --help` for its options"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        print(f"error: mctrt has no command {name!r}{hint}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest, prog=f"mctrt {name}")


if __name__ == "__main__":
    sys.exit(main())
