"""CMU Panoptic HandDB per-hand JSON files: the manual set (MPII + NZSL) and "hands from synthetic data".

Layout as distributed (hand_labels.zip / hand_labels_synth.zip): a folder of ``<name>.json`` files, each
beside its image ``<name>.jpg``. A file holds one hand: ``hand_pts`` = 21 x [x, y, flag] in image pixels,
canonical order, flag 1 = labelled (0 = not labelled / not visible), and ``is_left`` (1 = left hand).
The manual set also has ``head_size`` (the PCKh normaliser), kept in Record.meta. The synthetic set
("HS" in METHOD.md) lives in synth1..synth4 sub-folders; both loaders search the folder recursively.
"""
from __future__ import annotations

from pathlib import Path

from ..sample import Record
from ._common import (AnnotationError, field_of, image_size, make_hand, normalize_handedness, point_array,
                      read_json)

_META_FIELDS = ("head_size", "hand_box_center", "mpii_image", "mpii_annorect_idx")


def load_cmu_manual(path: str | Path, image_ext: str = ".jpg") -> list[Record]:
    """Records of the CMU manual set: ``path`` is a folder (e.g. manual_train/) or one hand's JSON file."""
    return _load_folder(path, image_ext, "cmu_manual")


def load_cmu_synth(path: str | Path, image_ext: str = ".jpg") -> list[Record]:
    """Records of CMU "hands from synthetic data": ``path`` is hand_labels_synth/ (or synthN/, or one file)."""
    return _load_folder(path, image_ext, "cmu_synth")


def load_cmu_hand_json(json_path: str | Path, image_ext: str = ".jpg", dataset: str = "cmu_manual") -> Record:
    """One Record from one per-hand JSON file; the image is the file of the same name with ``image_ext``."""
    json_path = Path(json_path)
    data = read_json(json_path, "hand_pts")
    pts = point_array(field_of(data, "hand_pts", json_path, None), 3, json_path, "hand_pts", None)
    handedness = normalize_handedness(bool(field_of(data, "is_left", json_path, None)), json_path,
                                      "is_left", None)
    # flag 1 = labelled; the points of unlabelled joints are not real positions.
    hand = make_hand(pts[:, :2], pts[:, 2] > 0, handedness)
    image = json_path.with_suffix(image_ext)
    size = image_size(image)
    meta = {"dataset": dataset, "annotations": str(json_path)}
    meta.update({k: data[k] for k in _META_FIELDS if k in data})
    return Record(str(image), [hand], *(size if size else (None, None)), meta)


def _load_folder(path: str | Path, image_ext: str, dataset: str) -> list[Record]:
    path = Path(path)
    if path.is_file():
        return [load_cmu_hand_json(path, image_ext, dataset)]
    if not path.is_dir():
        raise AnnotationError(path, "hand_pts", "no such file or folder",
                              "pass the folder of per-hand JSON files (e.g. hand_labels/manual_train)")
    files = sorted(path.rglob("*.json"))
    if not files:
        raise AnnotationError(path, "hand_pts", "folder holds no .json file",
                              "pass the folder of per-hand JSON files (e.g. hand_labels/manual_train)")
    return [load_cmu_hand_json(f, image_ext, dataset) for f in files]
