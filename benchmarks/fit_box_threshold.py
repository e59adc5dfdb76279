"""Fit the localizer's operating point (DetectorOptions.box_threshold) to a trained localizer: the stage-I
score above which a peak is reported as a hand, chosen for the best F1 (recall and precision at IoU 0.5) on
composed multi-hand frames at the five frame sizes of the timing table.

    python benchmarks/fit_box_threshold.py [--localizer handjoints_trt/weights/localizer.onnx] [--frames 40]

The frames are composed from hagrid_mp *val* hands with another seed than model_eval.py's, so the figures
that model_eval.py reports are not measured on the frames the threshold was chosen on. Prints the recall /
precision / F1 table per threshold, the chosen value to put in types.py (BOX_THRESHOLD), and writes
box_threshold.json + box_threshold.png (the precision-recall curve with the chosen point) into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import FRAME_SIZES, VAL_SEED, composed_frames, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import detection_pr  # noqa: E402
from handjoints_trt.types import DetectorOptions  # noqa: E402

THRESHOLDS = np.round(np.arange(0.05, 0.81, 0.05), 2)
FIT_SEED = VAL_SEED + 7   # not model_eval's frames


def collect(detector, records, frames_per_size: int) -> tuple[list, list, list]:
    """Every stage-I candidate (threshold 0.05) with its score, and the ground-truth boxes, per frame."""
    boxes, scores, gts = [], [], []
    for size in FRAME_SIZES:
        source = composed_frames(size, records, seed=FIT_SEED)
        for i in range(frames_per_size):
            sample = source.frame(i)
            b, s = detector.localize(sample.image)
            boxes.append(b)
            scores.append(s)
            gts.append(np.array([h.box for h in sample.hands], np.float32).reshape(-1, 4))
    return boxes, scores, gts


def sweep(boxes: list, scores: list, gts: list, thresholds=THRESHOLDS) -> list[dict]:
    """Recall, precision and F1 at IoU 0.5 for each threshold. Filtering after NMS equals thresholding
    before it: a lower-scored box never suppresses a higher one."""
    rows = []
    for t in thresholds:
        keep = [s >= t for s in scores]
        pr = detection_pr([b[k] for b, k in zip(boxes, keep)], [s[k] for s, k in zip(scores, keep)], gts)
        r, p = pr["recall"], pr["precision"] if np.isfinite(pr["precision"]) else 0.0
        rows.append({"threshold": float(t), "recall": r, "precision": p,
                     "f1": 2 * r * p / (r + p) if r + p else 0.0, "fp": pr["fp"], "fn": pr["fn"]})
    return rows


def plot(rows: list[dict], best: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([r["recall"] for r in rows], [r["precision"] for r in rows], "o-", ms=3)
    ax.plot(best["recall"], best["precision"], "r*", ms=12, label=f"threshold {best['threshold']:g}")
    ax.set(xlabel="recall (IoU 0.5)", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="Localizer on composed val frames, 5 sizes")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--localizer", default=None, help="localizer ONNX (default: the shipped one)")
    parser.add_argument("--frames", type=int, default=40, help="composed frames per frame size")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)

    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    options = DetectorOptions(box_threshold=float(THRESHOLDS[0]), max_hands=64)
    with HandJointDetector(backend="onnxruntime", localizer_model=args.localizer, options=options) as detector:
        rows = sweep(*collect(detector, records, args.frames))
    best = max(rows, key=lambda r: (r["f1"], r["threshold"]))
    print("| threshold | recall | precision | F1 | false boxes | missed |\n|---|---|---|---|---|---|")
    for r in rows:
        mark = " **best**" if r is best else ""
        print(f"| {r['threshold']:.2f}{mark} | {r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} | "
              f"{r['fp']} | {r['fn']} |")
    print(f"\nBOX_THRESHOLD = {best['threshold']:g}   # best F1 {best['f1']:.3f}: recall {best['recall']:.3f}, "
          f"precision {best['precision']:.3f} ({args.frames} frames x {len(FRAME_SIZES)} sizes)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "box_threshold.json").write_text(json.dumps({"rows": rows, "best": best, "frames": args.frames,
                                                        "command": "python " + " ".join(sys.argv)}, indent=1))
    plot(rows, best, out / "box_threshold.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
