"""InterHand2.6M: 2D joints projected from 3D world joints and the per-capture cameras.

Three files (names as distributed, e.g. ``InterHand2.6M_train_data.json``, ``..._camera.json``,
``..._joint_3d.json``; fixtures: ``test_interhand2.6m_*.json``):
- data: ``images[]`` {id, file_name, width, height, capture, camera, frame_idx}; ``annotations[]``
  {image_id, bbox [x, y, w, h], joint_valid (42 x [0/1]), hand_type right/left/interacting}.
- camera: {capture: {campos: {cam: (3,)}, camrot: {cam: (3, 3)}, focal: {cam: [fx, fy]}, princpt: {cam: [cx, cy]}}}.
- joint_3d: {capture: {frame_idx: {world_coord: (42, 3) mm, joint_valid, hand_type}}}.
``X_cam = camrot @ (world - campos)``, ``u = fx X / Z + cx``, ``v = fy Y / Z + cy``. Points 0-20 are the
right hand, 21-41 the left; within a hand 0-3 thumb tip..base, 4-7 index, ..., 16-19 little (tip first)
and 20 the wrist; reordered to canonical. A hand with an invalid wrist is dropped (as mmpose does).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sample import HandLabel, Record
from ._common import AnnotationError, field_of, make_hand, point_array, read_json, xywh_to_xyxy
from .coco import _images_by_id, _list_field

INTERHAND_TO_CANONICAL = (20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16)
_HANDS = {"right": 0, "left": 21}
_HAND_TYPES = {"right": ("right",), "left": ("left",), "interacting": ("right", "left")}


def load_interhand(data_json: str | Path, camera_json: str | Path | None = None,
                   joint_3d_json: str | Path | None = None, image_root: str | Path | None = None) -> list[Record]:
    """Records of an InterHand2.6M annotation triple.

    camera_json / joint_3d_json: None = the data file's name with ``_data`` replaced by ``_camera`` /
    ``_joint_3d``. image_root: where ``file_name`` is relative to (default: the data file's folder).
    """
    data_json = Path(data_json)
    camera_json = Path(camera_json) if camera_json else _sibling(data_json, "_camera")
    joint_3d_json = Path(joint_3d_json) if joint_3d_json else _sibling(data_json, "_joint_3d")
    data = read_json(data_json, "InterHand2.6M data")
    cameras, joints = read_json(camera_json, "camera"), read_json(joint_3d_json, "joint_3d")
    images = _images_by_id(data, data_json)
    root = Path(image_root) if image_root is not None else data_json.parent
    hands: dict[int, list[HandLabel]] = {image_id: [] for image_id in images}
    for index, ann in enumerate(_list_field(data, "annotations", data_json)):
        where = f"annotations[{index}]"
        image = images.get(field_of(ann, "image_id", data_json, where))
        if image is None:
            raise AnnotationError(data_json, "image_id", f"{ann['image_id']!r} is not in images[]", record=where)
        uv = _project(image, cameras, joints, camera_json, joint_3d_json)
        valid = point_array(field_of(ann, "joint_valid", data_json, where), 1, data_json, "joint_valid", where,
                            count=42)[:, 0] > 0
        hands[image["id"]].extend(_hands(ann, uv, valid, data_json, where))
    return [Record(str(root / images[i]["file_name"]), hands[i], images[i].get("width"),
                   images[i].get("height"), {"dataset": "interhand2.6m", "image_id": i,
                                             "capture": images[i].get("capture"),
                                             "camera": images[i].get("camera")})
            for i in images]


def _sibling(data_json: Path, suffix: str) -> Path:
    name = data_json.name
    if "_data" not in name:
        raise AnnotationError(data_json, "camera_json", "cannot guess the camera/joint_3d file names",
                              "pass camera_json= and joint_3d_json=")
    return data_json.with_name(name.replace("_data", suffix))


def _project(image: dict, cameras: dict, joints: dict, camera_json: Path, joint_3d_json: Path) -> np.ndarray:
    """(42, 2) pixel projections of the image's frame seen by its camera."""
    capture, camera, frame = str(image["capture"]), str(image["camera"]), str(image["frame_idx"])
    try:
        cam = cameras[capture]
        campos = np.asarray(cam["campos"][camera], np.float64)
        camrot = np.asarray(cam["camrot"][camera], np.float64)
        focal, princpt = cam["focal"][camera], cam["princpt"][camera]
    except (KeyError, TypeError) as e:
        raise AnnotationError(camera_json, f"{capture}/{e.args[0] if e.args else '?'}",
                              f"no camera {camera!r} of capture {capture}",
                              "use the camera file of the same split") from e
    try:
        world = joints[capture][frame]["world_coord"]
    except (KeyError, TypeError) as e:
        raise AnnotationError(joint_3d_json, "world_coord", f"no frame {frame} of capture {capture}",
                              "use the joint_3d file of the same split") from e
    world = point_array(world, 3, joint_3d_json, "world_coord", f"{capture}/{frame}", count=42)
    cam_pts = (world - campos) @ camrot.T
    z = np.where(np.abs(cam_pts[:, 2]) < 1e-6, 1e-6, cam_pts[:, 2])
    return np.stack([focal[0] * cam_pts[:, 0] / z + princpt[0], focal[1] * cam_pts[:, 1] / z + princpt[1]], 1)


def _hands(ann: dict, uv: np.ndarray, valid: np.ndarray, path: Path, where: str) -> list[HandLabel]:
    hand_type = field_of(ann, "hand_type", path, where)
    if hand_type not in _HAND_TYPES:
        raise AnnotationError(path, "hand_type", f"is {hand_type!r}", "expected right, left or interacting", where)
    box = xywh_to_xyxy(ann["bbox"]) if len(_HAND_TYPES[hand_type]) == 1 and "bbox" in ann else None
    out = []
    for side in _HAND_TYPES[hand_type]:
        idx = [_HANDS[side] + j for j in INTERHAND_TO_CANONICAL]
        if valid[idx[0]]:  # the wrist anchors the hand; without it the hand is dropped
            out.append(make_hand(uv[idx], valid[idx], side, box))
    return out
