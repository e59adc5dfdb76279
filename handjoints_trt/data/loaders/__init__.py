"""Dataset loaders: one module per annotation format, one interface for all.

Every loader is ``load_<format>(path, ...) -> list[Record]`` with hands in canonical joint order
(skeleton.HandJoint), keypoints in continuous image pixels, unlabelled joints visible = False and held at
(0, 0); images are not read at load time (Record.load() reads them). Bad input raises
:class:`AnnotationError` (a ValueError) naming the file, the record and the field.

| format key | loader | path |
|---|---|---|
| hagrid_mp | load_hagrid_mp | folder with annotations.json, val.txt, images/ |
| cmu_manual | load_cmu_manual | folder of per-hand JSON + JPEG (hand_labels/manual_train) |
| cmu_manual_coco | load_cmu_manual_coco | mmpose COCO form (fixtures/panoptic) |
| cmu_synth (HS) | load_cmu_synth | hand_labels_synth/ (synth1..4 of per-hand JSON) |
| rhd | load_rhd | RHD split folder (anno_*.pickle, color/) |
| rhd_coco | load_rhd_coco | mmpose COCO form (fixtures/rhd) |
| freihand | load_freihand | FreiHAND root (training_xyz.json, training_K.json, training/rgb) |
| freihand_coco | load_freihand_coco | mmpose COCO form (fixtures/freihand) |
| coco_wholebody | load_coco_wholebody | COCO-WholeBody JSON (lefthand_kpts / righthand_kpts) |
| onehand10k | load_onehand10k | COCO form (fixtures/onehand10k) |
| interhand2.6m | load_interhand | the *_data.json (camera and joint_3d files beside it) |
| paper | load_paper | the paper-convention JSON (loaders/paper.py) |
| coco_hands | load_coco_hands | any COCO-style 21-keypoint hand file in canonical order |
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..sample import Record
from ._common import AnnotationError, image_size
from .cmu import load_cmu_hand_json, load_cmu_manual, load_cmu_synth
from .coco import load_cmu_manual_coco, load_coco_hands, load_freihand_coco, load_onehand10k, load_rhd_coco
from .coco_wholebody import load_coco_wholebody
from .freihand import load_freihand
from .hagrid import load_hagrid_mp
from .interhand import load_interhand
from .paper import PAPER_FORMAT, load_paper, write_paper
from .rhd import load_rhd

LOADERS: dict[str, Callable[..., list[Record]]] = {
    "hagrid_mp": load_hagrid_mp,
    "cmu_manual": load_cmu_manual,
    "cmu_manual_coco": load_cmu_manual_coco,
    "cmu_synth": load_cmu_synth,
    "hs": load_cmu_synth,
    "rhd": load_rhd,
    "rhd_coco": load_rhd_coco,
    "freihand": load_freihand,
    "freihand_coco": load_freihand_coco,
    "coco_wholebody": load_coco_wholebody,
    "onehand10k": load_onehand10k,
    "interhand2.6m": load_interhand,
    "paper": load_paper,
    "coco_hands": load_coco_hands,
}


def load_dataset(format: str, path: str | Path, **kwargs) -> list[Record]:
    """Load ``path`` with the loader registered for ``format`` (a key of LOADERS)."""
    if format not in LOADERS:
        raise ValueError(f"unknown dataset format {format!r}; known: {sorted(LOADERS)}")
    return LOADERS[format](path, **kwargs)


__all__ = ["LOADERS", "PAPER_FORMAT", "AnnotationError", "image_size", "load_dataset", "load_cmu_hand_json",
           "load_cmu_manual", "load_cmu_manual_coco", "load_cmu_synth", "load_coco_hands", "load_coco_wholebody",
           "load_freihand", "load_freihand_coco", "load_hagrid_mp", "load_interhand", "load_onehand10k",
           "load_paper", "load_rhd", "load_rhd_coco", "write_paper"]
