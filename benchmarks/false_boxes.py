"""What the shipped pair's false hands on real photos are: every hand detect() reports on hagrid_mp val photos
(run whole, at the default operating point) that matches no labelled hand at IoU 0.5, sorted into kinds, and a
picture of the first ones.

    python benchmarks/false_boxes.py [--photos 1200]

Kinds, in this order:
- misfit: IoU 0.1-0.5 with a labelled hand: the hand was found, its box is off (usually too large, taking in
  the wrist or arm), so it counts as a false box *and* a missed hand;
- at the edge: no labelled hand near it, and the box touches the photo's border (fingers or a second hand cut by
  the border, which MediaPipe's labels may lack);
- elsewhere: no labelled hand near it, inside the photo.

The photos are the *last* ``--photos`` labelled val photos (fit_box_threshold.py's), so model_eval.py's first
500 stay unseen. Writes false_boxes.json and false_boxes_photos.png (green: labels, red: false boxes, the rest
as draw_hands draws them) into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import tile_grid  # noqa: E402
from model_eval import shared_data  # noqa: E402

from handjoints_trt import HandJointDetector, draw_hands  # noqa: E402
from handjoints_trt.postprocess import box_iou  # noqa: E402

KINDS = ("misfit", "at the edge", "elsewhere")
MISFIT_IOU = 0.1
TILE = 220


def kind_of(box: np.ndarray, labels: np.ndarray, width: int, height: int) -> str:
    """The kind (one of KINDS) of a false box (4,) xyxy against the photo's labelled boxes (G, 4)."""
    near = len(labels) and float(box_iou(np.asarray(box, np.float32)[None], labels.astype(np.float32)).max()) >= MISFIT_IOU
    if near:
        return "misfit"
    x0, y0, x1, y1 = box
    return "at the edge" if x0 <= 1 or y0 <= 1 or x1 >= width - 1 or y1 >= height - 1 else "elsewhere"


def false_hands(hands, labels: np.ndarray, iou_min: float = 0.5) -> list:
    """The reported hands that match no labelled box at ``iou_min``."""
    if not hands:
        return []
    if not len(labels):
        return list(hands)
    best = box_iou(np.array([h.box for h in hands], np.float32), labels.astype(np.float32)).max(axis=1)
    return [h for h, v in zip(hands, best) if v < iou_min]


def tile(image: np.ndarray, hands, labels: np.ndarray, false) -> np.ndarray:
    import cv2

    drawn = draw_hands(image, hands)
    for color, boxes, width in (((0, 255, 0), labels, 1), ((0, 0, 255), [h.box for h in false], 2)):
        for box in boxes:
            cv2.rectangle(drawn, tuple(int(v) for v in box[:2]), tuple(int(v) for v in box[2:]), color, width)
    return cv2.resize(drawn, (TILE, TILE))


def survey(detector, samples, picture_tiles: int = 24) -> dict:
    """{'photos', 'reported', 'false', 'kinds': Counter, 'tiles': [images]} over ``samples``."""
    kinds, tiles, photos, reported, false_count = Counter(), [], 0, 0, 0
    for sample in samples:
        photos += 1
        hands = detector.detect(sample.image)
        labels = np.array([h.box for h in sample.hands], np.float32).reshape(-1, 4)
        false = false_hands(hands, labels)
        reported, false_count = reported + len(hands), false_count + len(false)
        height, width = sample.image.shape[:2]
        kinds.update(kind_of(np.asarray(h.box), labels, width, height) for h in false)
        if false and len(tiles) < picture_tiles:
            tiles.append(tile(sample.image, hands, labels, false))
    return {"photos": photos, "reported": reported, "false": false_count, "kinds": kinds, "tiles": tiles}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1200, help="the last N labelled val photos")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = its default)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    import cv2

    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(shared_data(), split="val") if r.hands][-args.photos:]
    with HandJointDetector(backend="onnxruntime", threads=args.threads) as detector:
        found = survey(detector, (r.load() for r in records))
    tiles = found.pop("tiles")
    summary = {**found, "kinds": {k: found["kinds"][k] for k in KINDS},
               "command": " ".join(["python benchmarks/false_boxes.py", *(argv if argv is not None else sys.argv[1:])])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "false_boxes.json").write_text(json.dumps(summary, indent=1))
    if tiles:
        cv2.imwrite(str(args.out / "false_boxes_photos.png"), tile_grid(tiles, 6))
    print(f"{summary['false']} false of {summary['reported']} reported hands on {summary['photos']} photos: " +
          ", ".join(f"{k} {v}" for k, v in summary["kinds"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
