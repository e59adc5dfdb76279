"""FreiHAND as distributed: ``<split>_xyz.json`` (N x 21 x 3, metres, camera frame), ``<split>_K.json``
(N x 3 x 3 intrinsics) and ``<split>/rgb/%08d.jpg`` (224 x 224).

Joints are in canonical order and every hand is a right hand. 2D points are the pinhole projections
``uv = (K @ xyz) / z``; being projections of the 3D MANO joints, occluded joints are labelled too. The
training rgb folder holds each labelled frame four times with different backgrounds: image
``i + k * N`` (k = 0..3) uses label ``i``; ``versions`` picks which k to load.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..sample import Record
from ._common import AnnotationError, make_hand, point_array, read_json

FREIHAND_SIZE = (224, 224)


def load_freihand(root: str | Path, split: str = "training", versions: Sequence[int] = (0,)) -> list[Record]:
    """Records of FreiHAND's ``split`` ('training' or 'evaluation') under ``root``.

    versions: background versions of the training images (0 = the green-screen original, 1-3 others);
    the evaluation split has only version 0.
    """
    root = Path(root)
    xyz_path, k_path = root / f"{split}_xyz.json", root / f"{split}_K.json"
    xyz_all, k_all = read_json(xyz_path, f"{split}_xyz.json"), read_json(k_path, f"{split}_K.json")
    if not isinstance(xyz_all, list) or not isinstance(k_all, list) or len(xyz_all) != len(k_all):
        raise AnnotationError(k_path, "K", f"holds {_count(k_all)} matrices for {_count(xyz_all)} hands in "
                              f"{xyz_path.name}", "both files must be lists of the same length")
    count = len(xyz_all)
    uv = [_project(xyz_all[i], k_all[i], xyz_path, k_path, i) for i in range(count)]
    rgb = root / split / "rgb"
    width, height = FREIHAND_SIZE
    return [Record(str(rgb / f"{i + k * count:08d}.jpg"), [make_hand(uv[i], np.ones(21, bool), "right")],
                   width, height, {"dataset": "freihand", "label_index": i, "version": k})
            for k in versions for i in range(count)]


def _count(value: object) -> str:
    return str(len(value)) if isinstance(value, list) else "no list of"


def _project(xyz, k, xyz_path: Path, k_path: Path, index: int) -> np.ndarray:
    """(21, 2) pixel projections of one hand's (21, 3) camera-frame joints."""
    xyz = point_array(xyz, 3, xyz_path, "xyz", index)
    k = point_array(k, 3, k_path, "K", index, count=3)
    if np.any(xyz[:, 2] <= 0):
        raise AnnotationError(xyz_path, "xyz", "a joint has depth z <= 0 (behind the camera)",
                              "xyz must be camera-frame metres", index)
    uvw = xyz @ k.T
    return uvw[:, :2] / uvw[:, 2:3]
