"""The evidence behind DetectorOptions.min_box_size: how big are the boxes the shipped localizer gets right, and
how big the ones it gets wrong?

    python benchmarks/box_sizes.py [--frames 60 --photos 600]

detect() runs at the default operating point with the size floor off, on the frames fit_box_threshold.py fits
on (composed hagrid_mp val frames at FIT_SIZES, its seed, and the *last* ``--photos`` val photos run whole), so
model_eval.py's frames stay for reporting. Each found hand is true (IoU >= 0.5 with an unmatched labelled
hand, best score first) or false; the table counts both by the box's long side in frame pixels, and gives
recall / precision with each candidate floor. Writes box_sizes.json and box_sizes.md into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_box_threshold import FIT_SEED, FIT_SIZES  # noqa: E402
from model_eval import composed_frames, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.postprocess import box_iou  # noqa: E402
from handjoints_trt.types import MIN_BOX_SIZE  # noqa: E402

EDGES = (0, 12, 16, 20, 24, 32, np.inf)      # long-side bins, frame pixels
FLOORS = (0, 12, 16, 20, 24, 32)


def long_sides_true_false(detector, samples) -> tuple[list[float], list[float], int]:
    """(long sides of true boxes, of false boxes, labelled hands) over ``samples``."""
    true, false, labelled = [], [], 0
    for sample in samples:
        hands = sorted(detector.detect(sample.image), key=lambda h: -h.score)
        truth = np.array([h.box for h in sample.hands], np.float64).reshape(-1, 4)
        labelled += len(truth)
        taken = np.zeros(len(truth), bool)
        for hand in hands:
            box = np.asarray(hand.box, np.float64)
            side = float(max(box[2] - box[0], box[3] - box[1]))
            iou = box_iou(box[None], truth)[0] if len(truth) else np.zeros(0)
            iou[taken] = 0
            if len(iou) and iou.max() >= 0.5:
                taken[int(iou.argmax())] = True
                true.append(side)
            else:
                false.append(side)
    return true, false, labelled


def table(name: str, true: list[float], false: list[float], labelled: int) -> dict:
    t, f = np.asarray(true), np.asarray(false)
    bins = [{"long_side": f"{lo:g}-{hi:g}", "true": int(((t >= lo) & (t < hi)).sum()),
             "false": int(((f >= lo) & (f < hi)).sum())} for lo, hi in zip(EDGES[:-1], EDGES[1:])]
    floors = [{"floor": fl, "recall": float((t >= fl).sum() / max(labelled, 1)),
               "precision": float((t >= fl).sum() / max((t >= fl).sum() + (f >= fl).sum(), 1))} for fl in FLOORS]
    return {"frames": name, "labelled": labelled, "true": len(t), "false": len(f), "bins": bins, "floors": floors}


def markdown(results: list[dict], command: str) -> str:
    lines = [f"# Box sizes of true and false hands ({date.today()})", "", f"Command: `{command}`", "",
             "| frames | " + " | ".join(f"{b['long_side']} px true / false" for b in results[0]["bins"]) + " |",
             "|---|" + "---|" * len(results[0]["bins"])]
    lines += [f"| {r['frames']} | " + " | ".join(f"{b['true']} / {b['false']}" for b in r["bins"]) + " |"
              for r in results]
    lines += ["", "| frames | " + " | ".join(f"floor {f['floor']:g}: recall / precision"
                                               for f in results[0]["floors"]) + " |",
              "|---|" + "---|" * len(results[0]["floors"])]
    lines += [f"| {r['frames']} | " + " | ".join(f"{f['recall']:.3f} / {f['precision']:.3f}" for f in r["floors"])
              + " |" for r in results]
    lines += ["", f"Shipped floor: MIN_BOX_SIZE = {MIN_BOX_SIZE:g} px."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="composed frames per size")
    parser.add_argument("--photos", type=int, default=600, help="the last N labelled val photos, run whole")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    photos = [r for r in records if r.hands][-args.photos:] if args.photos else []
    results = []
    with HandJointDetector(threads=args.threads, min_box_size=0.0) as detector:
        if photos:
            results.append(table(f"{len(photos)} photos", *long_sides_true_false(
                detector, (r.load() for r in photos))))
        composed = ([], [], 0)
        for size in FIT_SIZES:
            frames = (s for _, s in zip(range(args.frames), composed_frames(size, records, seed=FIT_SEED)))
            true, false, labelled = long_sides_true_false(detector, frames)
            composed = (composed[0] + true, composed[1] + false, composed[2] + labelled)
        results.append(table(f"composed, {args.frames} x {len(FIT_SIZES)} sizes", *composed))
    command = "python benchmarks/box_sizes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(results, command.strip())
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "box_sizes.json").write_text(json.dumps(results, indent=1))
    (out / "box_sizes.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
