"""Paths a command is given: whether a file is there to read, whether one can be written (found out
before the slow work), and writing one in a single step."""

from __future__ import annotations

import os
import re
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def image_files(folder: str | Path) -> list[Path]:
    """The images in a folder (IMAGE_SUFFIXES, any case), in name order with numbers compared as
    numbers (frame_9.png before frame_10.png; MOTChallenge's 000001.jpg ... as they are). Hidden
    files are left out (macOS writes a ._NAME beside each file on some drives). A MOTChallenge
    sequence's own folder, holding no images, stands for its img1/."""
    def natural(path: Path) -> list:  # re.split's odd parts are the runs of digits
        return [int(part) if k % 2 else part for k, part in enumerate(re.split(r"(\d+)", path.name))]

    folder = Path(folder)
    files = sorted((p for p in folder.iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()), key=natural)
    return files if files or not (folder / "img1").is_dir() else image_files(folder / "img1")


def why_unwritable(path: str | Path) -> str | None:
    """Why a file cannot be written (or made, with its missing folders) at `path`, or None if it can."""
    path = Path(path)
    try:
        if path.is_dir():
            return "it is a folder"
        if path.exists():
            return None if os.access(path, os.W_OK) else "it is not writable"
        folder = path.parent
        while not folder.exists() and folder != folder.parent:  # missing folders are made when it is written
            folder = folder.parent
    except OSError as exc:  # a folder on the way that cannot be entered
        return exc.strerror or str(exc)
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"{folder} is not writable"


def not_a_file(path: str | Path) -> str | None:
    """Why `path` is no file to read ("is a folder", "does not exist"), or None when it is one."""
    path = Path(path)
    if path.is_file():
        return None
    return "is a folder" if path.is_dir() else "does not exist"


def write_in_one_step(path: Path, write) -> None:
    """write(temporary path) beside `path`, then the file put in place whole (os.replace): a run that
    fails part way leaves no half-written file, nor harms the one already there."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
