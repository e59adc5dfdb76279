"""Why the shipped pair misses the hands it misses: each labelled hand that detect() does not find at the
default operating point, classified by the first stage of the pipeline that lost it.

    python benchmarks/miss_reasons.py [--frames 60 --photos 500]

On model_eval.py's frames (composed hagrid_mp val frames at its five frame sizes and seed, and the first
``--photos`` val photos run whole), stage I runs at CANDIDATE_THRESHOLD and stage II reads every box as detect()
reads it; each candidate keeps its stage-I score, whether the default vote confirms it (DetectorOptions.vote: the
learned vote with the shipped networks, else the linear one) and its box refined towards its joints' box as at the
default (DetectorOptions.box_refine). A labelled hand is then, in this order:

- found: a candidate with IoU >= 0.5 passes the box threshold and stage II's vote;
- dropped by stage II: a candidate with IoU >= 0.5 passes the box threshold, none the vote (until session 15,
  "dropped by the floor": the confidence floor alone);
- score below threshold: a candidate with IoU >= 0.5 exists, all below the box threshold;
- box misfit: no candidate reaches IoU 0.5, one reaches 0.3 (the hand was seen, its box is off);
- not proposed: nothing near it.

Each hand is judged on its own (a candidate may serve two overlapping hands), so "found" can exceed
model_eval.py's one-to-one recall by a hand or two. Counts are split by the hand's long side, whether it
touches the frame edge, whether it overlaps another labelled hand and whether half of it or more is hidden (at most
HIDDEN_JOINTS of its 21 joints visible: the composed frames mark the joints another pasted hand covers or the frame
cuts off as not visible). Writes miss_reasons.json and .md, and with ``--examples N``
miss_reasons_examples.jpg: the first N missed composed hands, each in a tile around it (green: its label, dark
green: other labels, red: the boxes detect() reports at the default box threshold), with its reason, size and
visible joints.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import tile_grid, write_outputs  # noqa: E402
from model_eval import FRAME_SIZES, composed_frames, shared_data, val_photos  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import SIZE_EDGES_PX  # noqa: E402
from handjoints_trt.postprocess import box_iou  # noqa: E402
from handjoints_trt.types import BOX_REFINE, BOX_THRESHOLD, JOINT_NMS  # noqa: E402

REASONS = ("found", "dropped by stage II", "score below threshold", "box misfit", "not proposed")
CANDIDATE_THRESHOLD = 0.05     # low enough that a hand's weak candidate is kept; what detect() sees at 0.30
MISFIT_IOU = 0.3
HIDDEN_JOINTS = 10              # a hand with at most this many of its 21 joints visible is half hidden or more
EXAMPLE_TILE = 200              # px, one missed hand's tile in miss_reasons_examples.jpg
EXAMPLE_COLUMNS = 8
# The bins of model_eval's recall-by-size table (evaluation.recall_by_size), so the two reports line up.
SIZE_BINS = tuple(zip(SIZE_EDGES_PX[:-1], SIZE_EDGES_PX[1:]))


def classify(truth: np.ndarray, boxes: np.ndarray, scores: np.ndarray, confirmed: np.ndarray,
             box_threshold: float = BOX_THRESHOLD, iou_min: float = 0.5) -> str:
    """The reason (one of REASONS) for one labelled hand ``truth`` (4,) xyxy against candidate ``boxes``
    (N, 4) xyxy frame px with their stage-I ``scores`` (N,) and whether stage II's vote ``confirmed`` each (N,)."""
    if not len(boxes):
        return "not proposed"
    iou = box_iou(np.asarray(truth, np.float32)[None], np.asarray(boxes, np.float32))[0]
    near = iou >= iou_min
    passes = near & (scores >= box_threshold)
    if (passes & np.asarray(confirmed, bool)).any():
        return "found"
    if passes.any():
        return "dropped by stage II"
    if near.any():
        return "score below threshold"
    return "box misfit" if iou.max() >= MISFIT_IOU else "not proposed"


def candidates(detector, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """detect()'s candidates before its vote: stage I's boxes (N, 4) read by stage II and refined as detect() refines
    them, their scores (N,) and (N,) bools, the ones the detector's vote (DetectorOptions.vote) confirms."""
    boxes, scores = detector.localize(image)
    if not len(boxes):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, bool)
    size = (image.shape[1], image.shape[0])
    hands = detector.estimate(image, boxes, scores, reread=detector.worth_rereading(scores))
    confirmed = np.zeros(len(hands), bool)
    confirmed[detector.vote_passes(scores, hands, size)] = True
    refined = np.array([h.box for h in detector.refine(image, hands)], np.float32).reshape(-1, 4)
    return refined, np.asarray(scores, np.float32), confirmed


TRAIT_ORDER = tuple(f"{lo}-{hi} px".replace("-inf px", "+ px") for lo, hi in SIZE_BINS) + (
    "at the frame edge", "overlaps another hand", "half hidden or more")


def hand_traits(truth: np.ndarray, others: np.ndarray, width: int, height: int,
                visible_joints: int = 21) -> list[str]:
    """The rows a labelled hand counts in: its size bin, 'at the frame edge', 'overlaps another hand', 'half hidden
    or more' (``visible_joints`` <= HIDDEN_JOINTS)."""
    side = float(max(truth[2] - truth[0], truth[3] - truth[1]))
    traits = [TRAIT_ORDER[next(i for i, (lo, hi) in enumerate(SIZE_BINS) if lo <= side < hi)]]
    if truth[0] <= 1 or truth[1] <= 1 or truth[2] >= width - 1 or truth[3] >= height - 1:
        traits.append("at the frame edge")
    if len(others) and (box_iou(truth[None].astype(np.float32), others.astype(np.float32))[0] > 0).any():
        traits.append("overlaps another hand")
    if visible_joints <= HIDDEN_JOINTS:
        traits.append("half hidden or more")
    return traits


def tally(detector, samples, examples: list | None = None, max_examples: int = 0) -> dict:
    """{'reasons': Counter, 'traits': {trait: Counter of reasons}} over ``samples`` (frames with .hands). examples: a
    list the first ``max_examples`` missed hands' tiles (example_tile) are appended to."""
    reasons, traits = Counter(), {}
    for sample in samples:
        boxes, scores, confirmed = candidates(detector, sample.image)
        truth = np.array([h.box for h in sample.hands], np.float32).reshape(-1, 4)
        height, width = sample.image.shape[:2]
        for g, label in enumerate(sample.hands):
            reason = classify(truth[g], boxes, scores, confirmed)
            reasons[reason] += 1
            visible = int(np.count_nonzero(label.visible))
            for trait in hand_traits(truth[g], np.delete(truth, g, axis=0), width, height, visible):
                traits.setdefault(trait, Counter())[reason] += 1
            if reason != "found" and examples is not None and len(examples) < max_examples:
                shown = boxes[scores >= BOX_THRESHOLD]
                examples.append(example_tile(sample.image, truth, g, shown, f"{reason}, {visible} visible"))
    return {"reasons": reasons, "traits": traits}


def example_tile(image: np.ndarray, truth: np.ndarray, index: int, boxes: np.ndarray, caption: str) -> np.ndarray:
    """(EXAMPLE_TILE, EXAMPLE_TILE, 3) uint8: the frame around labelled hand ``index`` of ``truth`` (N, 4) (2.4x its
    long side, grey outside the frame), its label green, the other labels dark green, ``boxes`` (M, 4) red, and the
    caption and the hand's size in px."""
    import cv2

    frame = image.copy()
    for k, box in enumerate(truth):
        cv2.rectangle(frame, _corner(box[:2]), _corner(box[2:]), (0, 255, 0) if k == index else (0, 110, 0), 1)
    for box in boxes:
        cv2.rectangle(frame, _corner(box[:2]), _corner(box[2:]), (0, 0, 255), 1)
    box = truth[index]
    side = float(max(box[2] - box[0], box[3] - box[1]))
    half = max(1.2 * side, 8.0)
    centre = (box[:2] + box[2:]) / 2
    scale = EXAMPLE_TILE / (2 * half)
    to_tile = np.array([[scale, 0, EXAMPLE_TILE / 2 - scale * centre[0]],
                        [0, scale, EXAMPLE_TILE / 2 - scale * centre[1]]], np.float32)
    tile = cv2.warpAffine(frame, to_tile, (EXAMPLE_TILE, EXAMPLE_TILE), flags=cv2.INTER_AREA,
                          borderValue=(128, 128, 128))
    for row, text in enumerate((caption, f"{side:.0f} px")):
        cv2.putText(tile, text, (3, 13 + 14 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
        cv2.putText(tile, text, (3, 13 + 14 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    return tile


def _corner(xy) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def vote_words(options) -> str:
    """The vote of DetectorOptions ``options`` in words."""
    if options.vote == "learned":
        return "the learned vote (vote.json" + ("" if options.vote_threshold is None else
                                                 f", threshold {options.vote_threshold:g}") + ")"
    return (f"the linear vote (hand_threshold {options.hand_threshold:g}, confidence_weight "
            f"{options.confidence_weight:g}, min_hand_confidence {options.min_hand_confidence:g})")


def markdown(results: dict, command: str, options) -> str:
    """The report; ``options``: the DetectorOptions the vote came from."""
    lines = [f"# Why hands are missed ({date.today().isoformat()})", "", f"Command: `{command}`", "",
             f"Operating point: box_threshold {BOX_THRESHOLD}, {vote_words(options)}, box_refine "
             f"{BOX_REFINE}; joint_nms off (at its default {JOINT_NMS:g} it only drops a second skeleton on a hand "
             f"already found)", ""]
    for name, result in results.items():
        total = sum(result["reasons"].values())
        columns = [t for t in TRAIT_ORDER if t in result["traits"]]
        lines += [f"## {name}: {total} labelled hands", "", "| reason | " + " | ".join(["all"] + columns) + " |",
                  "|---" * (2 + len(columns)) + "|"]
        for reason in REASONS:
            cells = [str(result["reasons"][reason])] + [str(result["traits"][t][reason]) for t in columns]
            lines.append(f"| {reason} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="composed val frames per frame size")
    parser.add_argument("--photos", type=int, default=500, help="val photos run whole (0 = none)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = its default)")
    parser.add_argument("--examples", type=int, default=0,
                        help="picture the first N missed composed hands (miss_reasons_examples.jpg; 0 = none)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    results = {}
    # The default vote (DetectorOptions.vote) confirms the candidates; joint_nms is not run (see markdown())
    with HandJointDetector(backend="onnxruntime", box_threshold=CANDIDATE_THRESHOLD,
                           threads=args.threads) as detector:
        composed = (composed_frames(size, records).frame(i) for size in FRAME_SIZES for i in range(args.frames))
        examples: list[np.ndarray] = []
        results[f"composed, {args.frames} x {len(FRAME_SIZES)} sizes"] = tally(detector, composed, examples,
                                                                           args.examples)
        if args.photos:
            results[f"{args.photos} photos"] = tally(detector, val_photos(records, args.photos))
    command = " ".join(["python benchmarks/miss_reasons.py", *(argv if argv is not None else sys.argv[1:])])
    plain = {name: {"reasons": dict(r["reasons"]), "traits": {t: dict(c) for t, c in r["traits"].items()}}
             for name, r in results.items()}
    write_outputs(args.out, "miss_reasons", {"command": command, "results": plain},
                  markdown(results, command, detector.options))
    if examples:   # a grid of photos: as JPEG a tenth of the PNG's size
        import cv2

        cv2.imwrite(str(Path(args.out) / "miss_reasons_examples.jpg"), tile_grid(examples, EXAMPLE_COLUMNS),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
