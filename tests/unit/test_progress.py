"""How an offline run shows how far it has got: a progress bar on a terminal, plain lines elsewhere,
out of the total the files declare."""

import io

import cv2
import numpy as np

from mctrt.config import config_from_dict
from mctrt.run import Progress, total_frames


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Running:
    """What Progress reads of a pipeline."""

    def __init__(self, frames: dict[str, int]) -> None:
        self.frames = frames

    def snapshot(self) -> dict:
        return {"metrics": {"total_frames": sum(self.frames.values()), "frames": self.frames, "average_fps": 12.5}}


def test_a_terminal_gets_a_bar_of_frames_done_of_the_total():
    out = Terminal()
    progress = Progress(200, out)
    progress(Running({"west": 30, "east": 30}))
    progress.close(Running({"west": 100, "east": 100}))
    text = out.getvalue()
    assert " 60/200 " in text and "200/200" in text and "frame/s" in text


def test_a_log_gets_plain_lines_with_the_total():
    out = io.StringIO()
    progress = Progress(200, out)
    progress(Running({"west": 30, "east": 30}))
    progress.close(Running({"west": 100, "east": 100}))
    assert out.getvalue() == "  60 of 200 frames (west 30, east 30) at 12.5 frames/s\n"


def test_the_total_is_what_the_files_declare_up_to_max_frames(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "a.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(30):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()

    def config(*paths):
        return config_from_dict({"inputs": [{"camera_id": f"c{k}", "path": str(p)} for k, p in enumerate(paths)],
                                 "modules": {"detector": {"model": "m.onnx"}}}, tmp_path)

    assert total_frames(config(tmp_path / "a.avi", tmp_path / "a.avi").inputs, None) == 60
    assert total_frames(config(tmp_path / "a.avi", tmp_path / "a.avi").inputs, 20) == 40
    assert total_frames(config(tmp_path / "a.avi", tmp_path / "missing.avi").inputs, None) is None  # its camera says why
