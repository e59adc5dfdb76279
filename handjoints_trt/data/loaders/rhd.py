"""Rendered Hand Pose dataset (RHD), as distributed: ``<split>/anno_<split>.pickle`` + ``<split>/color/%05d.png``.

The pickle is a dict {sample id: {'uv_vis': (42, 3) [u, v, visible], 'xyz': (42, 3) metres, 'K': (3, 3)}}.
Points 0-20 are the left hand, 21-41 the right; within a hand 0 is the wrist and each finger is stored
**tip first** (thumb tip..MCP, index tip..MCP, ...), reordered here to canonical. ``visible`` is 1 when the
joint is visible in the render; an occluded joint is not labelled here (its u, v are a projection behind
something), and so is a joint outside the image. Every image holds both hands' entries; a hand is kept when
at least ``min_visible`` of its joints are visible (RHD renders many hands mostly out of view).
"""
from __future__ import annotations

import pickle
from pathlib import Path


from ..sample import Record
from ._common import TIP_FIRST_TO_CANONICAL, AnnotationError, make_hand, point_array, require_file

RHD_SIZE = (320, 320)  # every RHD image is 320 x 320
_HANDS = (("left", 0), ("right", 21))


def load_rhd(path: str | Path, min_visible: int = 6, occluded_labelled: bool = False) -> list[Record]:
    """Records of an RHD split.

    path: the split folder (holding anno_<split>.pickle and color/) or the pickle itself.
    min_visible: a hand with fewer visible joints is dropped.
    occluded_labelled: True keeps occluded joints inside the image as labelled (their projection is
        exact in a render), for training a net to infer hidden joints.
    """
    pickle_path = _pickle_path(Path(path))
    with open(pickle_path, "rb") as f:
        try:
            annotations = pickle.load(f)
        except Exception as e:  # pickle raises many types for a damaged file
            raise AnnotationError(pickle_path, "<pickle>", f"cannot unpickle ({e})", "re-download RHD") from e
    if not isinstance(annotations, dict):
        raise AnnotationError(pickle_path, "<top level>", f"is a {type(annotations).__name__}, expected a dict "
                              "{sample id: {'uv_vis', 'xyz', 'K'}}")
    color = pickle_path.parent / "color"
    return [_record(sample_id, entry, color, pickle_path, min_visible, occluded_labelled)
            for sample_id, entry in sorted(annotations.items())]


def _pickle_path(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("anno_*.pickle"))
        if not found:
            raise AnnotationError(path, "anno_*.pickle", "not found in this folder",
                                  "pass an RHD split folder such as RHD_published_v2/training")
        return found[0]
    return require_file(path, "anno_*.pickle")


def _record(sample_id, entry, color: Path, path: Path, min_visible: int, occluded_labelled: bool) -> Record:
    where = f"sample {sample_id}"
    if not isinstance(entry, dict) or "uv_vis" not in entry:
        raise AnnotationError(path, "uv_vis", "missing", "each sample is {'uv_vis', 'xyz', 'K'}", where)
    uv_vis = point_array(entry["uv_vis"], 3, path, "uv_vis", where, count=42)
    width, height = RHD_SIZE
    hands = []
    for handedness, offset in _HANDS:
        raw = uv_vis[offset:offset + 21][list(TIP_FIRST_TO_CANONICAL)]
        inside = (raw[:, 0] >= 0) & (raw[:, 0] <= width) & (raw[:, 1] >= 0) & (raw[:, 1] <= height)
        labelled = inside & ((raw[:, 2] > 0) | occluded_labelled)
        if (inside & (raw[:, 2] > 0)).sum() >= min_visible:
            hands.append(make_hand(raw[:, :2], labelled, handedness))
    meta = {"dataset": "rhd", "sample_id": sample_id, "annotations": str(path)}
    return Record(str(color / f"{int(sample_id):05d}.png"), hands, width, height, meta)
