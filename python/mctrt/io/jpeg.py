"""Picture: a frame as the dashboard shows it, a JPEG scaled down to at most a width. Encoded by the
server where the frames are (one process), or by a worker for its central's dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Picture:
    """jpeg: the encoded image, width x height pixels, `scale` of the frame's pixels (boxes in frame
    pixels times scale land on it)."""

    jpeg: bytes
    width: int
    height: int
    scale: float

    @classmethod
    def of(cls, image: np.ndarray, max_width: int, quality: int) -> Picture:
        """image (H, W, 3) BGR uint8, scaled down to max_width if wider; RuntimeError if encoding fails."""
        h, w = image.shape[:2]
        scale = min(1.0, max_width / w)
        if scale < 1.0:
            image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return cls(jpeg.tobytes(), image.shape[1], image.shape[0], scale)
