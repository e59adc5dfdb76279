"""Fit the detector's operating point to the shipped models for the best F1 (recall and precision at IoU 0.5):
the stage-I score above which a peak is proposed (DetectorOptions.box_threshold), and how stage II confirms a
proposed hand: by a vote, (box score + w x mean joint confidence) / (1 + w) >= hand_threshold (the default since
session 15: DetectorOptions.confidence_weight = w, hand_threshold), or, as before, by a floor on the mean joint
confidence alone (min_hand_confidence; the "pairs" table, kept to compare); and how far a found hand's box moves
towards the box of its joints (DetectorOptions.box_refine, ramped over BOX_REFINE_RAMP; session 16), swept at the
best vote. Since session 36 the shipped networks vote with the learnt vote (benchmarks/fit_vote.py); this script
fits the linear one (DetectorOptions.vote "linear": other networks, any_angle off, the Triton pipeline).

    python benchmarks/fit_box_threshold.py [--localizer L.onnx --hand H.onnx [--any-angle on --aligned A.onnx]]
        [--frames 40 --photos 300 --turned 0]

Two kinds of frames, both from hagrid_mp *val* and neither the ones model_eval.py reports on: composed
multi-hand frames at the five frame sizes of the timing table plus 640x480, the webcam size (FIT_SIZES;
another seed than model_eval.py's), and real photos run whole (the *last* ``--photos`` val photos;
model_eval.py takes the first), and with ``--turned N`` the last N val photos turned 90, 180 and 270 degrees
(compose.turned_sample; model_eval.py's --turned takes the first): hands held at any angle, which the default
any_angle reads and stage I scores lower. Every stage-I candidate above 0.05 is scored by stage II once, then
every operating point is replayed exactly as detect() runs it (threshold, the max_hands best, the vote or the
floor; stage I is run once with the runtime's max_hands, which makes the replay exact). One approximation: with
any_angle, detect() reads an unsure box again only where the vote could still pass it (detector.REREAD_REACH),
while every candidate here gets every reading (session 23's fit set: F1 0.9387 replayed, 0.9381 as detect() runs).
The F1 that is maximised pools all the sets' hands.

To check a choice between two models on fresh frames, ``--seed-offset 1`` (2, ...) composes other frames than the
fit's, and ``--photos 2601`` takes every labelled val photo (then including model_eval.py's 500):
``python benchmarks/fit_box_threshold.py --frames 150 --photos 2601 --seed-offset 1 --out DIR [--localizer L.onnx]``.

The thresholds are swept with the boxes refined as detect() refines them (the default box_refine), the refinement
then at the best vote. Prints the box-threshold-only table (no vote, no floor), the best pairs (threshold, floor),
the best votes (threshold, w, hand_threshold), the best refinements (weight, ramp), the chosen values to put in
types.py (BOX_THRESHOLD, CONFIDENCE_WEIGHT, HAND_THRESHOLD, MIN_HAND_CONFIDENCE, BOX_REFINE, BOX_REFINE_RAMP) and
writes box_threshold.json + box_threshold.png (precision-recall curves per floor and per vote weight, the chosen
point marked) into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import FRAME_SIZES, VAL_SEED, composed_frames, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import detection_pr  # noqa: E402
from handjoints_trt.postprocess import joint_nms as one_per_hand, refine_boxes, verify_hands  # noqa: E402
from handjoints_trt.types import BOX_REFINE_RAMP, DetectorOptions  # noqa: E402

THRESHOLDS = np.round(np.arange(0.05, 0.81, 0.05), 2)
FLOORS = np.round(np.arange(0.0, 0.71, 0.05), 2)
# The timing table's five sizes leave out 640x480, the most common camera frame; session 7 found a pair that was
# best on the five and 5 recall points worse there, so the fit includes it.
FIT_SIZES = FRAME_SIZES + ((640, 480),)
FIT_SEED = VAL_SEED + 7   # not model_eval's frames
RUNTIME_MAX_HANDS = DetectorOptions().max_hands
# The vote's grid. Proposal thresholds under 0.30 sent more boxes to stage II (0.20: +10 % crops per frame on
# the check set) for no F1 the upright sets could tell (session 15); stage I gives turned hands lower scores
# (session 23: of whole val photos turned 90 degrees, 0.80 have a matching box at >= 0.3, 0.94 at >= 0.1), and
# any_angle's stage II is sure of them, so with --turned the grid goes down to 0.15.
VOTE_THRESHOLDS = (0.15, 0.20, 0.25, 0.30, 0.35)
VOTE_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
HAND_THRESHOLDS = np.round(np.arange(0.30, 0.501, 0.01), 2)
# The box refinement's grid (postprocess.refine_boxes), swept at the chosen vote: how far a found hand's box moves
# towards its joints' box, and where on the mean joint confidence the move ramps up (over RAMP_WIDTH).
REFINE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
RAMP_LOWS = (0.3, 0.4, 0.5, 0.6)
RAMP_WIDTH = 0.3


class Candidates:
    """Every stage-I candidate of a set of frames: per frame boxes (M, 4), stage-I scores (M,) best first,
    stage-II mean joint confidences (M,), and the ground-truth boxes (G, 4); for replaying the box refinement
    also the joints (M, 21, 2) frame pixels, their confidences (M, 21) and the frame's (width, height)."""

    def __init__(self):
        self.boxes, self.scores, self.confidences, self.gts = [], [], [], []
        self.keypoints, self.joint_confidences, self.frame_sizes = [], [], []

    def add(self, boxes, scores, confidences, gt, keypoints=None, joint_confidences=None, frame_size=None) -> None:
        self.boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
        self.scores.append(np.asarray(scores, np.float32).reshape(-1))
        self.confidences.append(np.asarray(confidences, np.float32).reshape(-1))
        self.gts.append(np.asarray(gt, np.float32).reshape(-1, 4))
        self.keypoints.append(None if keypoints is None else np.asarray(keypoints, np.float32).reshape(-1, 21, 2))
        self.joint_confidences.append(None if joint_confidences is None
                                      else np.asarray(joint_confidences, np.float32).reshape(-1, 21))
        self.frame_sizes.append(frame_size)

    def __len__(self) -> int:
        return len(self.gts)


def collect(detector, samples) -> Candidates:
    """Stage I at the detector's (low) threshold on each sample, stage II on every candidate."""
    found = Candidates()
    for sample in samples:
        boxes, scores = detector.localize(sample.image)
        hands = detector.estimate(sample.image, boxes) if len(boxes) else []
        found.add(boxes, scores, [h.mean_confidence for h in hands], [h.box for h in sample.hands],
                  [h.keypoints for h in hands], [h.confidence for h in hands],
                  (sample.image.shape[1], sample.image.shape[0]))
    return found


def operate(c: Candidates, threshold: float, floor: float = 0.0, max_hands: int = RUNTIME_MAX_HANDS,
            hand_threshold: float = 0.0, weight: float = 0.0, refine: float = 0.0, ramp=BOX_REFINE_RAMP,
            joint_nms: float = 0.0, vote=None):
    """What detect() reports per frame at an operating point: boxes scoring >= threshold, the max_hands best
    of them, those stage II confirms (postprocess.verify_hands: the vote at hand_threshold with weight, and
    the floor on the mean joint confidence), less a hand found twice (postprocess.joint_nms at ``joint_nms``, 0 =
    off), each moved towards its joints' box by ``refine`` over ``ramp`` (postprocess.refine_boxes; both need the
    candidates' joints). The sweeps leave joint_nms off: it acts after the vote, on a few second skeletons of a hand
    already found (benchmarks/RESULTS.md section 19). Nor does it replay DetectorOptions.retry_scale's second look
    (section 20), taken only on frames where this gives no hand. ``vote``: a vote.LearnedVote confirms the hands
    instead (at its threshold; the candidates' joints needed). Returns (boxes, scores) lists."""
    boxes, scores = [], []
    for i, (b, s, conf) in enumerate(zip(c.boxes, c.scores, c.confidences)):
        if (refine or joint_nms or vote is not None) and c.keypoints[i] is None:
            raise ValueError("refine, joint_nms > 0 or a learnt vote needs candidates collected with their joints "
                             "(collect())")
        keep = np.flatnonzero(s >= threshold)[:max_hands]     # scores are best first (decode_boxes)
        if vote is None:
            keep = keep[verify_hands(s[keep], conf[keep], hand_threshold, weight, floor)]
        elif len(keep):
            keep = keep[vote.passes(s[keep], b[keep], c.keypoints[i][keep], c.joint_confidences[i][keep],
                                    c.frame_sizes[i])]
        if joint_nms:
            keep = keep[one_per_hand(c.keypoints[i][keep], c.joint_confidences[i][keep], joint_nms)]
        kept = b[keep]
        if c.keypoints[i] is not None:   # as detect(): refined, or at refine 0 only clipped to the frame
            kept = refine_boxes(kept, c.keypoints[i][keep], c.joint_confidences[i][keep], c.frame_sizes[i],
                                refine, tuple(ramp))
        boxes.append(kept)
        scores.append(s[keep])
    return boxes, scores


def _row(pr: dict, **point) -> dict:
    r, p = pr["recall"], pr["precision"] if np.isfinite(pr["precision"]) else 0.0
    return {**point, "recall": r, "precision": p, "f1": 2 * r * p / (r + p) if r + p else 0.0,
            "fp": pr["fp"], "fn": pr["fn"]}


def sweep(boxes: list, scores: list, gts: list, thresholds=THRESHOLDS) -> list[dict]:
    """Recall, precision and F1 at IoU 0.5 for each box threshold alone. Filtering after NMS equals
    thresholding before it: a lower-scored box never suppresses a higher one."""
    rows = []
    for t in thresholds:
        keep = [s >= t for s in scores]
        pr = detection_pr([b[k] for b, k in zip(boxes, keep)], [s[k] for s, k in zip(scores, keep)], gts)
        rows.append(_row(pr, threshold=float(t)))
    return rows


def score_point(sets: dict[str, Candidates], max_hands: int = RUNTIME_MAX_HANDS, **point) -> dict:
    """One operating point (operate()'s keywords) on every set: recall/precision/F1 pooled and per set."""
    pooled_boxes, pooled_scores, pooled_gts, per_set = [], [], [], {}
    for name, c in sets.items():
        b, s = operate(c, max_hands=max_hands, **point)
        per_set[name] = _row(detection_pr(b, s, c.gts))
        pooled_boxes += b
        pooled_scores += s
        pooled_gts += c.gts
    return {**_row(detection_pr(pooled_boxes, pooled_scores, pooled_gts), **point), "sets": per_set}


def sweep_joint(sets: dict[str, Candidates], thresholds=THRESHOLDS, floors=FLOORS,
                max_hands: int = RUNTIME_MAX_HANDS, refine: float = 0.0, joint_nms: float = 0.0) -> list[dict]:
    """One row per (threshold, floor), no vote: recall/precision/F1 pooled over all sets, and per set (boxes
    refined by ``refine`` over BOX_REFINE_RAMP; a hand found twice dropped at ``joint_nms``, 0 = off)."""
    return [score_point(sets, max_hands, threshold=float(t), floor=float(f), refine=refine, joint_nms=joint_nms)
            for t in thresholds for f in floors]


def sweep_vote(sets: dict[str, Candidates], thresholds=VOTE_THRESHOLDS, weights=VOTE_WEIGHTS,
               hand_thresholds=HAND_THRESHOLDS, max_hands: int = RUNTIME_MAX_HANDS, refine: float = 0.0,
               joint_nms: float = 0.0) -> list[dict]:
    """One row per (threshold, weight, hand_threshold), floor 0: stage II's vote with stage I."""
    return [score_point(sets, max_hands, threshold=float(t), floor=0.0, weight=float(w), hand_threshold=float(h),
                        refine=refine, joint_nms=joint_nms)
            for t in thresholds for w in weights for h in hand_thresholds]


def sweep_refine(sets: dict[str, Candidates], point: dict, weights=REFINE_WEIGHTS, lows=RAMP_LOWS,
                 width: float = RAMP_WIDTH, max_hands: int = RUNTIME_MAX_HANDS, joint_nms: float = 0.0) -> list[dict]:
    """One row per (refine weight, ramp) at the operating ``point`` (threshold, floor, weight, hand_threshold):
    how well the reported boxes fit when moved towards the joints' boxes (weight 0 = stage I's boxes)."""
    base = {k: point[k] for k in ("threshold", "floor", "weight", "hand_threshold")}
    return [score_point(sets, max_hands, **base, refine=float(r), ramp=(float(lo), round(float(lo) + width, 2)),
                        joint_nms=joint_nms) for r in weights for lo in (lows if r else lows[:1])]


def best_refine(rows: list[dict]) -> dict:
    """Best pooled F1; ties go to the smaller move (stage I's box is the plainer claim), then the higher ramp."""
    return max(rows, key=lambda r: (round(r["f1"], 6), -r["refine"], r["ramp"][0]))


def best_point(rows: list[dict]) -> dict:
    """Best pooled F1; ties go to the higher threshold (less work for stage II), then the lower floor, then
    the lower weight and hand threshold."""
    return max(rows, key=lambda r: (round(r["f1"], 6), r["threshold"], -r["floor"], -r.get("weight", 0.0),
                                    -r.get("hand_threshold", 0.0)))


def plot(rows: list[dict], best: dict, path: Path, floors=(0.0, 0.15, 0.3), vote_rows=(),
         weights=(0.5, 1.0)) -> None:
    """Precision-recall curves: the box threshold swept at a few floors (dashed), and the vote's hand threshold
    swept at a few weights with the chosen proposal threshold (solid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.8))
    for f in floors:
        curve = [r for r in rows if abs(r["floor"] - f) < 1e-9]
        ax.plot([r["recall"] for r in curve], [r["precision"] for r in curve], "o--", ms=3,
                label=f"box threshold swept, floor {f:g}" + (" (off)" if f == 0 else ""))
    for w in sorted(set(weights) | ({best["weight"]} if "weight" in best else set())):
        curve = [r for r in vote_rows if abs(r["weight"] - w) < 1e-9 and r["threshold"] == best["threshold"]]
        ax.plot([r["recall"] for r in curve], [r["precision"] for r in curve], "s-", ms=3,
                label=f"vote, w {w:g}: hand threshold swept")
    chosen = (f"threshold {best['threshold']:g}, w {best['weight']:g}, hand {best['hand_threshold']:g}"
              if "weight" in best else f"threshold {best['threshold']:g}, floor {best['floor']:g}")
    ax.plot(best["recall"], best["precision"], "r*", ms=14, label=f"chosen: {chosen}")
    ax.set(xlabel="recall (IoU 0.5)", ylabel="precision", xlim=(0.75, 0.96), ylim=(0.85, 1.0),
           title=f"Operating point: box threshold with a floor, or stage II's vote\n(composed val frames, {len(FIT_SIZES)} sizes + real val photos)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fit_sets(detector, records, frames_per_size: int, photos: int, seed: int = FIT_SEED,
             turned: int = 0) -> dict[str, Candidates]:
    """The candidates of the composed fit frames (every FIT_SIZES size, composed with ``seed``), of the last
    ``photos`` val photos and of the last ``turned`` val photos turned 90, 180 and 270 degrees (one set of
    3 x ``turned`` photos)."""
    from handjoints_trt.data.compose import turned_sample

    composed = (composed_frames(size, records, seed=seed).frame(i)
                for size in FIT_SIZES for i in range(frames_per_size))
    labelled = [r for r in records if r.hands]
    sets = {"composed": collect(detector, composed)}
    if photos:
        sets["photos"] = collect(detector, (r.load() for r in labelled[-photos:]))
    if turned:
        sets["turned"] = collect(detector, (turned_sample(r.load(), q) for q in (1, 2, 3) for r in labelled[-turned:]))
    return sets


def _best_table(title: str, rows: list[dict], keys: tuple[str, ...], names: list[str], top: int = 8) -> list[str]:
    """Markdown lines: the ``top`` rows by pooled F1, the operating point's ``keys`` first, then per set."""
    lines = ["", title, "", "| " + " | ".join(k.replace("_", " ") for k in keys) + " | recall | precision | F1 | "
             + " | ".join(names) + " |", "|---" * (len(keys) + 3 + len(names)) + "|"]
    for r in sorted(rows, key=lambda r: -r["f1"])[:top]:
        point = " | ".join(f"{r[k]:.2f}" for k in keys)
        sets = " | ".join(f"{r['sets'][n]['recall']:.3f} / {r['sets'][n]['precision']:.3f}" for n in names)
        lines.append(f"| {point} | {r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} | {sets} |")
    return lines


def report(rows: list[dict], best: dict, vote_rows: list[dict] = (), refine_rows: list[dict] = ()) -> str:
    alone = [r for r in rows if r["floor"] == 0.0]
    lines = ["Box threshold alone (no confidence floor):", "",
             "| threshold | recall | precision | F1 | false boxes | missed |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['threshold']:.2f} | {r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} | {r['fp']} | "
              f"{r['fn']} |" for r in alone]
    names = list(best["sets"])
    lines += _best_table("Best pairs (pooled F1; per set recall / precision):", rows, ("threshold", "floor"), names)
    if vote_rows:
        lines += _best_table("Best votes, (box score + w x mean joint confidence) / (1 + w) >= hand threshold "
                             "(pooled F1; per set recall / precision):", vote_rows,
                             ("threshold", "weight", "hand_threshold"), names)
    if refine_rows:
        stage1 = next(r for r in refine_rows if r["refine"] == 0)
        lines += _best_table("Box refinement at the chosen vote: boxes moved towards the joints' box by refine, "
                             "ramped over mean joint confidence ramp low .. low + 0.3 (pooled F1):",
                             [{**r, "ramp_low": r["ramp"][0]} for r in refine_rows], ("refine", "ramp_low"), names)
        lines += ["", f"Stage I's boxes as found (refine 0): F1 {stage1['f1']:.3f}, recall {stage1['recall']:.3f}, "
                      f"precision {stage1['precision']:.3f}"]
    return "\n".join(lines)


def _default_point() -> dict:
    """DetectorOptions' defaults as operate() keywords."""
    o = DetectorOptions()
    return {"threshold": o.box_threshold, "floor": o.min_hand_confidence, "hand_threshold": o.hand_threshold,
            "weight": o.confidence_weight, "refine": o.box_refine, "ramp": BOX_REFINE_RAMP, "joint_nms": o.joint_nms}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--localizer", default=None, help="localizer ONNX (default: the shipped one)")
    parser.add_argument("--hand", default=None, help="hand ONNX (default: the shipped one)")
    parser.add_argument("--aligned", default=None,
                        help="with --any-angle on: the aligned hand ONNX (default: the shipped one)")
    parser.add_argument("--frames", type=int, default=40, help="composed frames per frame size")
    parser.add_argument("--photos", type=int, default=300, help="real val photos run whole (0 = none)")
    parser.add_argument("--turned", type=int, default=0,
                        help="also the last N val photos turned 90 / 180 / 270 degrees, run whole (a third set: hands "
                             "held at any angle, which any_angle reads; 0 = none)")
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="compose the frames with FIT_SEED + this (1, 2, ...: fresh frames to check a choice on; "
                             "-7 would give model_eval's seed and is refused)")
    parser.add_argument("--any-angle", choices=("on", "off"), default=None,
                        help="DetectorOptions.any_angle for stage II's scores: on (True) or off (False); default as "
                             "the detector's default")
    parser.add_argument("--joint-nms", type=float, default=0.0,
                        help="sweep with a hand found twice dropped at this distance (DetectorOptions.joint_nms; "
                             "default 0: the sweeps as fitted before session 25)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    if args.aligned and args.any_angle != "on":
        parser.error("--aligned is read only with --any-angle on (a hand network other than the shipped one turns "
                     "any_angle off by default)")
    if FIT_SEED + args.seed_offset == VAL_SEED:
        parser.error(f"--seed-offset {args.seed_offset} gives model_eval.py's seed; choose another")

    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    # Stage I at the lowest threshold with the runtime's max_hands: at any higher threshold detect() keeps exactly
    # the candidates scoring above it (same peaks, same NMS order), so operate() replays it without rerunning.
    options = DetectorOptions(box_threshold=float(THRESHOLDS[0]), max_hands=RUNTIME_MAX_HANDS,
                              min_hand_confidence=0.0, hand_threshold=0.0)
    if args.any_angle is not None:
        options = replace(options, any_angle=args.any_angle == "on")
    with HandJointDetector(backend="onnxruntime", localizer_model=args.localizer, hand_model=args.hand,
                           aligned_model=args.aligned, options=options) as detector:
        sets = fit_sets(detector, records, args.frames, args.photos, FIT_SEED + args.seed_offset, args.turned)
    # The thresholds are swept with the boxes refined as detect() refines them; then the refinement at the best vote.
    refine = DetectorOptions().box_refine
    rows = sweep_joint(sets, refine=refine, joint_nms=args.joint_nms)
    vote_rows = sweep_vote(sets, refine=refine, joint_nms=args.joint_nms)
    best, best_pair = best_point(vote_rows), best_point(rows)
    refine_rows = sweep_refine(sets, best, joint_nms=args.joint_nms)
    best_box = best_refine(refine_rows)
    alone = best_point([r for r in rows if r["floor"] == 0.0])
    default = score_point(sets, **_default_point())
    print(report(rows, best_pair, vote_rows, refine_rows))
    print(f"\nBOX_THRESHOLD = {best['threshold']:g}\nCONFIDENCE_WEIGHT = {best['weight']:g}\nHAND_THRESHOLD = "
          f"{best['hand_threshold']:g}\nMIN_HAND_CONFIDENCE = {best['floor']:g}\nBOX_REFINE = {best_box['refine']:g}\n"
          f"BOX_REFINE_RAMP = ({best_box['ramp'][0]:g}, {best_box['ramp'][1]:g})\n"
          f"# best refinement F1 {best_box['f1']:.3f} (stage I's boxes {refine_rows[0]['f1']:.3f})\n"
          f"# best pooled F1 {best['f1']:.3f}: recall "
          f"{best['recall']:.3f}, precision {best['precision']:.3f} ({args.frames} frames x {len(FIT_SIZES)} sizes + "
          f"{args.photos} photos, {3 * args.turned} turned); best pair (threshold {best_pair['threshold']:g}, "
          f"floor {best_pair['floor']:g}): F1 "
          f"{best_pair['f1']:.3f}; threshold alone {alone['threshold']:g}: F1 {alone['f1']:.3f}; the defaults now: "
          f"F1 {default['f1']:.3f} (recall {default['recall']:.3f}, precision {default['precision']:.3f})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "box_threshold.json").write_text(json.dumps(
        {"rows": rows, "vote_rows": vote_rows, "refine_rows": refine_rows, "best": best, "best_pair": best_pair,
         "best_refine": best_box, "best_threshold_alone": alone,
         "default": default, "frames": args.frames, "photos": args.photos, "turned": args.turned,
         "seed_offset": args.seed_offset,
         "max_hands": RUNTIME_MAX_HANDS, "command": "python " + " ".join(sys.argv)}, indent=1))
    plot(rows, best, out / "box_threshold.png", vote_rows=vote_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
