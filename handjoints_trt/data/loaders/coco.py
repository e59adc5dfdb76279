"""COCO-style hand keypoint files: one hand per annotation, ``keypoints`` = 21 x (x, y, v) in image pixels.

Used (as mmpose distributes them) by CMU Panoptic HandDB's manual set, OneHand10K, FreiHAND and RHD; see
shared/data/fixtures/README.md. ``images[]`` gives ``id``, ``file_name`` (relative to the JSON's folder
unless ``image_root`` says otherwise), ``width``, ``height``; ``annotations[]`` gives ``image_id``,
``bbox`` [x, y, w, h] and ``keypoints``. v > 0 means labelled; v = 0 (with x = y = 0) means not labelled.
All annotations of one image become one Record with several hands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence


from ..sample import HandLabel, Record
from ._common import (TIP_FIRST_TO_CANONICAL, AnnotationError, field_of, make_hand, normalize_handedness,
                      point_array, read_json, xywh_to_xyxy)

# handedness_of(annotation, image entry, json path, annotation index) -> 'left' / 'right' / None
HandednessRule = Callable[[dict, dict, Path, int], "str | None"]


def load_coco_hands(json_path: str | Path, image_root: str | Path | None = None,
                    order: Sequence[int] | None = None, handedness_of: HandednessRule | None = None,
                    dataset: str = "coco_hands") -> list[Record]:
    """Records of a COCO-style hand keypoint file.

    order: canonical[j] = raw[order[j]]; None = the file is already in canonical order.
    handedness_of: how to read an annotation's handedness; None = unknown.
    Images without annotations are kept (no hands: negatives for the localizer).
    """
    json_path = Path(json_path)
    data = read_json(json_path, "COCO keypoint annotations")
    images = _images_by_id(data, json_path)
    root = Path(image_root) if image_root is not None else json_path.parent
    hands: dict[int, list[HandLabel]] = {image_id: [] for image_id in images}
    for index, ann in enumerate(_list_field(data, "annotations", json_path)):
        image_id = field_of(ann, "image_id", json_path, f"annotations[{index}]")
        if image_id not in images:
            raise AnnotationError(json_path, "image_id", f"{image_id!r} is not in images[]",
                                  "every annotation must point at an image entry", f"annotations[{index}]")
        handedness = handedness_of(ann, images[image_id], json_path, index) if handedness_of else None
        hands[image_id].append(coco_hand(ann, json_path, f"annotations[{index}]", order, handedness))
    return [_record(images[i], hands[i], root, json_path, dataset) for i in images]


def coco_hand(ann: dict, path: Path, where: str, order: Sequence[int] | None = None,
              handedness: str | None = None, keypoints_field: str = "keypoints",
              box_field: str | None = "bbox") -> HandLabel:
    """One hand from a COCO annotation's flat or nested 21 x (x, y, v) list; v > 0 = labelled."""
    raw = point_array(field_of(ann, keypoints_field, path, where), 3, path, keypoints_field, where)
    if order is not None:
        raw = raw[list(order)]
    box = xywh_to_xyxy(ann[box_field]) if box_field and box_field in ann else None
    return make_hand(raw[:, :2], raw[:, 2] > 0, handedness, box)


def _list_field(data: object, name: str, path: Path) -> list:
    if not isinstance(data, dict) or not isinstance(data.get(name), list):
        raise AnnotationError(path, name, "missing or not a list", "a COCO file has images[] and annotations[]")
    return data[name]


def _images_by_id(data: object, path: Path) -> dict[int, dict]:
    images = {}
    for index, image in enumerate(_list_field(data, "images", path)):
        for name in ("id", "file_name"):
            field_of(image, name, path, f"images[{index}]")
        images[image["id"]] = image
    return images


def _record(image: dict, hands: list[HandLabel], root: Path, json_path: Path, dataset: str) -> Record:
    meta = {"dataset": dataset, "image_id": image["id"], "annotations": str(json_path)}
    width, height = image.get("width"), image.get("height")
    return Record(str(root / image["file_name"]), hands, None if width is None else int(width),
                  None if height is None else int(height), meta)


# ------------------------------------------------------------------------ handedness rules

def handedness_from_field(field: str) -> HandednessRule:
    """Read handedness from an annotation field ('left'/'right' strings or is_left-style booleans)."""
    def rule(ann: dict, image: dict, path: Path, index: int) -> str | None:
        return normalize_handedness(ann.get(field), path, field, f"annotations[{index}]")
    return rule


def handedness_from_file_suffix(ann: dict, image: dict, path: Path, index: int) -> str | None:
    """CMU Panoptic HandDB names each hand's image ``<frame>_l.jpg`` or ``<frame>_r.jpg``."""
    stem = Path(image["file_name"]).stem.lower()
    return "left" if stem.endswith("_l") else "right" if stem.endswith("_r") else None


def always(hand: str) -> HandednessRule:
    """Every hand of the set has this handedness (FreiHAND: right hands only)."""
    return lambda ann, image, path, index: hand


# ------------------------------------------------------------------------ named formats

def load_cmu_manual_coco(json_path: str | Path, image_root: str | Path | None = None) -> list[Record]:
    """CMU Panoptic HandDB manual set (MPII + NZSL) in mmpose's COCO form (fixtures/panoptic).

    Canonical order; handedness from the ``_l`` / ``_r`` file-name suffix; meta keeps ``head_size``
    (the PCKh normaliser) per hand in meta['head_size'] and the image source in meta['source_set'].
    """
    records = load_coco_hands(json_path, image_root, None, handedness_from_file_suffix, "cmu_manual")
    data = read_json(json_path)
    by_image: dict = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for record in records:
        anns = by_image.get(record.meta["image_id"], [])
        record.meta["head_size"] = [a.get("head_size") for a in anns]
        record.meta["source_set"] = [a.get("dataset") for a in anns]
    return records


def load_onehand10k(json_path: str | Path, image_root: str | Path | None = None) -> list[Record]:
    """OneHand10K in COCO form: canonical order, integer pixels, v = 0 for unlabelled, handedness unknown."""
    return load_coco_hands(json_path, image_root, None, None, "onehand10k")


def load_freihand_coco(json_path: str | Path, image_root: str | Path | None = None) -> list[Record]:
    """FreiHAND in mmpose's COCO form: canonical order, right hands, all 21 labelled (MANO projections)."""
    return load_coco_hands(json_path, image_root, None, always("right"), "freihand")


def load_rhd_coco(json_path: str | Path, image_root: str | Path | None = None) -> list[Record]:
    """RHD in mmpose's COCO form: fingers stored tip first (reordered here), ``hand_type`` left/right."""
    return load_coco_hands(json_path, image_root, TIP_FIRST_TO_CANONICAL, handedness_from_field("hand_type"),
                           "rhd")
