"""Whether a file can be written where a command is told to write it, found out before the slow work."""

from __future__ import annotations

import os
from pathlib import Path


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
