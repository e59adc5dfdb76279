"""Fit the spread -> confidence mapping of postprocess.py (METHOD.md eq. 12, the paper's Fig. 9) to a trained
hand model, so that a joint's confidence reads as the chance that it lies within PCK@0.2 of the truth.

    python benchmarks/fit_confidence.py --hand handjoints_trt/weights/hand.onnx --limit 1000

Runs the hand stage through the runtime on hagrid_mp val crops (ground-truth boxes), fits
P(correct) = peak_term / (1 + exp((spread - m) / w)) by maximum likelihood over a grid of (m, w), and prints
the constants to put in postprocess.py with a reliability table (mean confidence vs observed rate per bin).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handjoints_trt import HandJointDetector, postprocess  # noqa: E402
from handjoints_trt.evaluation import hand_size  # noqa: E402
from handjoints_trt.preprocess import crop_hands  # noqa: E402


def collect(detector, records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """spread (J,), peak (J,), correct@0.2 (J,) over every labelled joint of the records."""
    spreads, peaks, correct = [], [], []
    for record in records:
        sample = record.load()
        boxes = np.stack([h.box for h in sample.hands])
        crops, affines = crop_hands(sample.image, boxes, detector.crop_size)
        heatmaps = detector.detect_crops(crops)
        coords, peak = postprocess.decode_heatmaps(heatmaps)
        spread = postprocess.heatmap_spread(heatmaps, coords)
        points = postprocess.crop_to_frame(postprocess.heatmap_to_crop(coords, detector.heatmap_stride), affines)
        gt = np.stack([h.keypoints for h in sample.hands])
        vis = np.stack([h.visible for h in sample.hands])
        err = np.linalg.norm(points - gt, axis=2) / hand_size(gt, vis)[:, None]
        spreads.append(spread[vis])
        peaks.append(peak[vis])
        correct.append(err[vis] <= 0.2)
    return np.concatenate(spreads), np.concatenate(peaks), np.concatenate(correct)


def fit(spread, peak, correct) -> tuple[float, float, float, float]:
    """(peak reference, midpoint, width, log-likelihood per joint) maximising the likelihood of the observed
    outcomes under P(correct) = clip(peak / r, 0, 1) / (1 + exp((spread - m) / w))."""
    best = (1.0, 0.0, 1.0, -np.inf)
    s = np.nan_to_num(spread, nan=1e3)
    for r in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
        peak_term = np.clip(peak / r, 0, 1)
        for m in np.arange(0.5, 12.0, 0.1):
            for w in np.arange(0.1, 4.0, 0.1):
                p = np.clip(peak_term / (1 + np.exp(np.clip((s - m) / w, -50, 50))), 1e-6, 1 - 1e-6)
                ll = float(np.mean(np.where(correct, np.log(p), np.log(1 - p))))
                if ll > best[3]:
                    best = (r, float(m), float(w), ll)
    return best


def reliability(confidence, correct, bins=10) -> list[tuple[float, float, float, int]]:
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (confidence >= lo) & (confidence < hi if hi < 1 else confidence <= hi)
        if sel.any():
            rows.append((lo, float(confidence[sel].mean()), float(correct[sel].mean()), int(sel.sum())))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hand", default=None, help="hand ONNX (default: the shipped one)")
    parser.add_argument("--localizer", default=None)
    parser.add_argument("--limit", type=int, default=1000, help="hagrid_mp val images")
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.training.recipes import shared_root

    records = load_hagrid_mp(shared_root() / "data" / "hagrid_mp", "val")[: args.limit]
    with HandJointDetector(backend="onnxruntime", hand_model=args.hand, localizer_model=args.localizer) as det:
        spread, peak, correct = collect(det, records)
    r, m, w, ll = fit(spread, peak, correct)
    print(f"{len(correct)} joints, {correct.mean():.3f} within PCK@0.2")
    print(f"fitted: PEAK_REFERENCE = {r:.2f}, SPREAD_MIDPOINT = {m:.2f}, SPREAD_WIDTH = {w:.2f} "
          f"(log-likelihood {ll:.4f} per joint)")
    postprocess.PEAK_REFERENCE, postprocess.SPREAD_MIDPOINT, postprocess.SPREAD_WIDTH = r, m, w
    conf = postprocess.spread_to_confidence(spread[None], peak[None])[0]
    print("| confidence bin | mean confidence | observed within PCK@0.2 | joints |\n|---|---|---|---|")
    for lo, mean_conf, rate, n in reliability(conf, correct):
        print(f"| {lo:.1f}-{lo + 0.1:.1f} | {mean_conf:.3f} | {rate:.3f} | {n} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
