"""COCO-WholeBody, hands part: one annotation per person with ``lefthand_kpts`` / ``righthand_kpts``.

Each is 21 x (x, y, v) in canonical order; a hand is used only when its ``*_valid`` is true, and a joint
is labelled when v > 0 (v takes 1, 2 and also fractional values in (0, 1) in the real files, so v == 2
would drop labelled joints). ``*_box`` is [x, y, w, h], all zeros when absent.
"""
from __future__ import annotations

from pathlib import Path

from ..sample import HandLabel, Record
from ._common import AnnotationError, field_of, read_json
from .coco import _images_by_id, _list_field, _record, coco_hand


def load_coco_wholebody(json_path: str | Path, image_root: str | Path | None = None,
                        keep_empty_images: bool = False) -> list[Record]:
    """Records of a COCO-WholeBody file with every valid hand of every person.

    keep_empty_images: also return images without a valid hand (negatives for the localizer).
    """
    json_path = Path(json_path)
    data = read_json(json_path, "COCO-WholeBody annotations")
    images = _images_by_id(data, json_path)
    root = Path(image_root) if image_root is not None else json_path.parent
    hands: dict[int, list[HandLabel]] = {image_id: [] for image_id in images}
    for index, ann in enumerate(_list_field(data, "annotations", json_path)):
        where = f"annotations[{index}]"
        image_id = field_of(ann, "image_id", json_path, where)
        if image_id not in images:
            raise AnnotationError(json_path, "image_id", f"{image_id!r} is not in images[]", record=where)
        for side in ("left", "right"):
            if not field_of(ann, f"{side}hand_valid", json_path, where):
                continue
            hands[image_id].append(coco_hand(ann, json_path, where, None, side, f"{side}hand_kpts",
                                             f"{side}hand_box"))
    records = [_record(images[i], hands[i], root, json_path, "coco_wholebody") for i in images]
    return [r for r in records if r.hands or keep_empty_images]
