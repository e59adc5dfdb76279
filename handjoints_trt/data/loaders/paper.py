"""The paper's own convention as a simple JSON file: 21 points per hand, (0, 0) = occluded / not labelled.

File form (one JSON object; ``file`` is relative to the JSON's folder)::

    {"format": "handjoints-paper-v1",
     "images": [{"file": "img/0001.jpg", "width": 960, "height": 540,
                 "hands": [{"keypoints": [[x, y], ... 21 pairs, canonical order],
                            "handedness": "left" | "right" | null}]}]}

Coordinates are continuous image pixels ((0, 0) = top-left corner of the top-left pixel), joints in
canonical order (skeleton.HandJoint). A joint written as exactly [0, 0] is occluded: it becomes
visible = False, never a real coordinate (METHOD.md, "Notation"). ``width`` / ``height`` may be omitted
(then read from the image header). :func:`write_paper` writes the form from Records.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..sample import Record
from ._common import AnnotationError, field_of, image_size, make_hand, normalize_handedness, point_array, read_json

PAPER_FORMAT = "handjoints-paper-v1"


def load_paper(json_path: str | Path) -> list[Record]:
    """Records of a paper-convention JSON file (form in the module docstring)."""
    json_path = Path(json_path)
    data = read_json(json_path, "paper-convention annotations")
    if not isinstance(data, dict) or data.get("format") != PAPER_FORMAT:
        raise AnnotationError(json_path, "format", f"is {data.get('format') if isinstance(data, dict) else data!r}",
                              f"a paper-convention file starts with {{\"format\": \"{PAPER_FORMAT}\"}}")
    images = data.get("images")
    if not isinstance(images, list):
        raise AnnotationError(json_path, "images", "missing or not a list", "see loaders/paper.py for the form")
    return [_record(entry, json_path, f"images[{i}]") for i, entry in enumerate(images)]


def _record(entry: dict, path: Path, where: str) -> Record:
    image = path.parent / str(field_of(entry, "file", path, where))
    hands = []
    for h, hand in enumerate(field_of(entry, "hands", path, where)):
        hand_where = f"{where}.hands[{h}]"
        points = point_array(field_of(hand, "keypoints", path, hand_where), 2, path, "keypoints", hand_where)
        handedness = normalize_handedness(hand.get("handedness"), path, "handedness", hand_where)
        # make_hand turns every exact (0, 0) into visible = False: the paper's occlusion marker.
        hands.append(make_hand(points, np.ones(21, bool), handedness))
    if "width" in entry and "height" in entry:
        size = (int(entry["width"]), int(entry["height"]))
    else:
        size = image_size(image) or (None, None)
    return Record(str(image), hands, size[0], size[1], {"dataset": "paper", "annotations": str(path)})


def write_paper(records: list[Record], json_path: str | Path) -> Path:
    """Write Records in the paper convention (invisible joints as [0, 0]); image paths made relative."""
    json_path = Path(json_path)
    images = []
    for record in records:
        hands = [{"keypoints": np.where(h.visible[:, None], h.keypoints, 0).round(3).tolist(),
                  "handedness": h.handedness} for h in record.hands]
        entry = {"file": _relative(record.path, json_path.parent), "hands": hands}
        if record.width is not None and record.height is not None:
            entry.update(width=record.width, height=record.height)
        images.append(entry)
    json_path.write_text(json.dumps({"format": PAPER_FORMAT, "images": images}))
    return json_path


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(Path(path).resolve())
