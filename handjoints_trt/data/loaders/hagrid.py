"""HaGRID hand crops with MediaPipe pseudo-labels (shared/data/hagrid_mp, see its README.md).

``annotations.json`` is a list of records {file, width, height, keypoints (21 x [x, y], canonical order,
continuous pixels), handedness ('Left'/'Right' as MediaPipe says), handedness_score, gesture, quality,
flip_err, hagrid_id}; ``val.txt`` lists the model-selection split's file names.

Handedness choice: MediaPipe labels hands as if the image were a mirrored selfie view, and these are
ordinary, non-mirrored photos, so MediaPipe's 'Left' is most likely the person's right hand (README,
"Handedness note"). By default HandLabel.handedness is therefore the *opposite* of MediaPipe's label;
``handedness="mediapipe"`` keeps MediaPipe's label and ``handedness="none"`` drops it. The raw label is
always in Record.meta["mediapipe_handedness"].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...skeleton import NUM_JOINTS
from ..sample import HandLabel, Record, keypoint_box
from ._common import AnnotationError, read_json, require_file

SPLITS = ("train", "val", "all")
HANDEDNESS_MODES = ("person", "mediapipe", "none")
_PERSON_HAND = {"Left": "right", "Right": "left"}
_MEDIAPIPE_HAND = {"Left": "left", "Right": "right"}
_FIELDS = ("file", "width", "height", "keypoints", "handedness")


def load_hagrid_mp(root: str | Path, split: str = "train", handedness: str = "person") -> list[Record]:
    """Records of the hagrid_mp folder ``root`` (holding annotations.json, val.txt, images/).

    split: 'train' (not in val.txt), 'val' (in val.txt) or 'all'.
    handedness: 'person' (MediaPipe's label swapped, the module docstring says why), 'mediapipe' or 'none'.
    Every joint is visible (MediaPipe predicts all 21). Images are not read here.
    """
    if split not in SPLITS:
        raise ValueError(f"load_hagrid_mp: split={split!r}; use one of {SPLITS}")
    if handedness not in HANDEDNESS_MODES:
        raise ValueError(f"load_hagrid_mp: handedness={handedness!r}; use one of {HANDEDNESS_MODES}")
    root = Path(root)
    ann_path = root / "annotations.json"
    entries = read_json(ann_path, "annotations.json")
    if not isinstance(entries, list):
        raise AnnotationError(ann_path, "<top level>", f"is a {type(entries).__name__}, expected a list of "
                              "records", "use the annotations.json shipped with hagrid_mp")
    val_files = _read_val(root / "val.txt") if split != "all" else set()
    images = root / "images"
    records = []
    for index, entry in enumerate(entries):
        _check_entry(entry, ann_path, index)
        in_val = entry["file"] in val_files
        if split == "all" or in_val == (split == "val"):
            records.append(_record(entry, images, ann_path, index, handedness))
    return records


def _read_val(path: Path) -> set[str]:
    """The file names of the val split (one per line)."""
    path = require_file(path, "val.txt")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def _check_entry(entry: object, path: Path, index: int) -> None:
    if not isinstance(entry, dict):
        raise AnnotationError(path, "<record>", f"is a {type(entry).__name__}, expected an object", record=index)
    for name in _FIELDS:
        if name not in entry:
            raise AnnotationError(path, name, "missing", "every hagrid_mp record has " + ", ".join(_FIELDS),
                                  index)
    if entry["handedness"] not in _PERSON_HAND:
        raise AnnotationError(path, "handedness", f"is {entry['handedness']!r}", "expected 'Left' or 'Right'",
                              index)


def _record(entry: dict, images: Path, path: Path, index: int, handedness: str) -> Record:
    keypoints = np.asarray(entry["keypoints"], np.float32)
    if keypoints.shape != (NUM_JOINTS, 2):
        raise AnnotationError(path, "keypoints", f"has shape {keypoints.shape}, expected (21, 2)",
                              "21 x [x, y] in MediaPipe order", index)
    raw = entry["handedness"]
    label = {"person": _PERSON_HAND.get(raw), "mediapipe": _MEDIAPIPE_HAND.get(raw), "none": None}[handedness]
    visible = np.ones(NUM_JOINTS, bool)
    # Built directly (not via make_hand): all 21 are predicted and this is the hot loop of 26k records.
    hand = HandLabel(keypoints, visible, keypoint_box(keypoints), label)
    meta = {"mediapipe_handedness": raw, "dataset": "hagrid_mp"}
    for key in ("handedness_score", "gesture", "quality", "flip_err", "hagrid_id"):
        if key in entry:
            meta[key] = entry[key]
    return Record(str(images / entry["file"]), [hand], int(entry["width"]), int(entry["height"]), meta)
