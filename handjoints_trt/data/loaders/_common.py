"""What every loader shares: precise errors, JSON reading, and turning raw points into a HandLabel.

Conventions (the same as data/sample.py): keypoints are (21, 2) float32 image pixels in canonical order
(skeleton.HandJoint), continuous coordinates ((0, 0) = top-left corner of the top-left pixel). A joint at
exactly (0, 0) is never visible: several sets (and the paper's own) mark "not labelled" that way.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...skeleton import NUM_JOINTS
from ..sample import HandLabel

# Finger order of the sets that store each finger tip first (RHD, InterHand2.6M): canonical[j] = raw[m[j]].
TIP_FIRST_TO_CANONICAL: tuple[int, ...] = (0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13,
                                           20, 19, 18, 17)


class AnnotationError(ValueError):
    """A dataset file is missing or does not hold what its format promises.

    The message names the file, the record and the field, and says how to fix it.
    """

    def __init__(self, path: str | Path, field: str, problem: str, fix: str = "", record: Any = None):
        where = f"{path}" + (f", record {record}" if record is not None else "")
        message = f"{where}: field {field!r}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)
        self.path, self.field, self.record = str(path), field, record


def require_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or AnnotationError when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, what, "file not found",
                              f"pass the folder or file of the data set that holds {what}")
    return path


def read_json(path: str | Path, what: str = "annotations") -> Any:
    """Parse a JSON file; errors name the file."""
    path = require_file(path, what)
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AnnotationError(path, what, f"not valid JSON ({e})", "re-download or re-export the file") from e


def field_of(record: Any, name: str, path: str | Path, index: Any) -> Any:
    """``record[name]``, or an AnnotationError naming the file, the record and the missing field."""
    if not isinstance(record, dict):
        raise AnnotationError(path, name, f"record is a {type(record).__name__}, expected an object",
                              record=index)
    if name not in record:
        raise AnnotationError(path, name, "missing", "every record of this format must have it", index)
    return record[name]


def point_array(values: Any, columns: int, path: str | Path, field: str, index: Any,
                count: int = NUM_JOINTS) -> np.ndarray:
    """Flat or nested numbers -> (count, columns) float64; wrong sizes raise naming the field."""
    try:
        arr = np.asarray(values, np.float64)
    except (TypeError, ValueError) as e:
        raise AnnotationError(path, field, f"not a list of numbers ({e})", record=index) from e
    if arr.size != count * columns:
        raise AnnotationError(path, field, f"has {arr.size} numbers, expected {count} x {columns} = "
                              f"{count * columns}", f"{count} keypoints of {columns} values each", index)
    arr = arr.reshape(count, columns)
    if not np.isfinite(arr).all():
        raise AnnotationError(path, field, "holds NaN or infinite values", record=index)
    return arr


def make_hand(keypoints: np.ndarray, visible: np.ndarray, handedness: str | None = None,
              box: Sequence[float] | None = None) -> HandLabel:
    """A HandLabel from canonical-order (21, 2) points and (21,) labelled flags.

    A point at exactly (0, 0) is never visible (the "not labelled" marker of several sets). ``box`` is
    (x0, y0, x1, y1); None = the tight box around the visible joints.
    """
    keypoints = np.asarray(keypoints, np.float32).reshape(NUM_JOINTS, 2)
    visible = np.asarray(visible, bool).reshape(NUM_JOINTS) & np.any(keypoints != 0, axis=1)
    return HandLabel(keypoints, visible, None if box is None else np.asarray(box, np.float32), handedness)


def xywh_to_xyxy(box: Sequence[float]) -> np.ndarray | None:
    """COCO [x, y, w, h] -> (x0, y0, x1, y1) float32; None for an empty (zero-size) box."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return None
    return np.array([x, y, x + w, y + h], np.float32)


def normalize_handedness(value: Any, path: str | Path, field: str, index: Any) -> str | None:
    """'left' / 'right' / None from the usual spellings (bools: True = left, as CMU's is_left)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "left" if value else "right"
    text = str(value).strip().lower()
    if text in ("left", "l"):
        return "left"
    if text in ("right", "r"):
        return "right"
    if text in ("", "unknown", "none"):
        return None
    raise AnnotationError(path, field, f"unknown handedness {value!r}", "use 'left' or 'right'", index)


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG or PNG file's header (reads a few hundred bytes, not the pixels).

    None when the file is missing or neither format: formats without sizes in their labels (CMU per-hand
    JSON, RHD, FreiHAND) use this so every Record carries its size without decoding thousands of images.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(26)
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            if head[:2] == b"\xff\xd8":
                return _jpeg_size(f)
    except OSError:
        return None
    return None


# JPEG start-of-frame markers (baseline, progressive, ...): all but DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f) -> tuple[int, int] | None:
    """Walk the JPEG segments to the start-of-frame and read its height and width."""
    f.seek(2)
    while True:
        byte = f.read(1)
        while byte and byte != b"\xff":
            byte = f.read(1)
        while byte == b"\xff":  # fill bytes
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # segments without a length
            continue
        length = int.from_bytes(f.read(2), "big")
        if marker in _SOF_MARKERS:
            data = f.read(5)
            return int.from_bytes(data[3:5], "big"), int.from_bytes(data[1:3], "big")
        f.seek(length - 2, 1)
