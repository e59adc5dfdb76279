"""One hand found twice, reported once: DetectorOptions.joint_nms swept on a fit set and checked on model_eval's.

    python benchmarks/joint_nms.py [--threads 1]

detect() runs once per image with joint_nms off (every hand that passes stage II's vote), then
postprocess.joint_nms is applied at each --distances value, ranking hands by mean joint confidence (the shipped
rule) or by the vote's score (box score and joint confidence), and the hands left are scored: recall / precision
at IoU 0.5 against the labelled boxes. joint_nms only drops hands after the vote and the boxes' refinement uses
nothing it looks at, so this equals detect() at each distance.

- fit set: val photos 600 to 600 + --fit-photos (with hands) whole, the first --fit-turned of them turned 90 / 180
  / 270 degrees, and --fit-frames composed val frames per size at seed 5;
- check set: model_eval.py's frames (the first --check-photos val photos, --check-turned of them turned,
  --check-frames composed frames per size at its seed).

Also the distance between the joints of every two different labelled hands both found (median over the 21 joints,
over the larger hand's size): how close two real hands come. Writes joint_nms.json and joint_nms.md into --out.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_outputs  # noqa: E402
from model_eval import VAL_SEED, photo_and_frame_sets, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import detection_pr  # noqa: E402
from handjoints_trt.postprocess import box_iou, hand_scores, joint_nms  # noqa: E402
from handjoints_trt.types import CONFIDENCE_WEIGHT, JOINT_NMS  # noqa: E402

FIT_SEED = 5
RANKS = ("confidence", "vote")


def collect(detector, samples) -> list[dict]:
    """Per image: labelled boxes and, per reported hand, box, score, joints, joint confidences."""
    found = []
    for sample in samples:
        hands = detector.detect(sample.image)
        found.append({"truth": np.array([h.box for h in sample.hands], np.float64).reshape(-1, 4),
                      "boxes": np.array([h.box for h in hands], np.float64).reshape(-1, 4),
                      "scores": np.array([h.score for h in hands], np.float64),
                      "joints": np.array([h.keypoints for h in hands], np.float64).reshape(-1, 21, 2),
                      "confidence": np.array([h.confidence for h in hands], np.float64).reshape(-1, 21)})
    return found


def kept(image: dict, distance: float, rank: str) -> np.ndarray:
    if rank == "vote":
        order = hand_scores(image["scores"], image["confidence"].mean(axis=1), CONFIDENCE_WEIGHT)
        return joint_nms(image["joints"], image["confidence"], distance, rank=order)
    return joint_nms(image["joints"], image["confidence"], distance)


def score(images: list[dict], distance: float, rank: str) -> dict:
    keeps = [kept(im, distance, rank) for im in images]
    pr = detection_pr([im["boxes"][k] for im, k in zip(images, keeps)],
                      [im["scores"][k] for im, k in zip(images, keeps)], [im["truth"] for im in images])
    return {"recall": pr["recall"], "precision": pr["precision"], "reported": int(sum(len(k) for k in keeps))}


def distinct_pair_distances(images: list[dict]) -> list[float]:
    """Joint distance (median over 21, / the larger hand's size) of every two found hands matching different
    labelled hands at IoU >= 0.5."""
    out = []
    for im in images:
        if len(im["boxes"]) < 2 or not len(im["truth"]):
            continue
        iou = box_iou(im["boxes"], im["truth"])
        match = np.where(iou.max(axis=1) >= 0.5, iou.argmax(axis=1), -1)
        sizes = np.ptp(im["joints"], axis=1).max(axis=1)
        for a in range(len(match)):
            for b in range(a + 1, len(match)):
                if match[a] >= 0 and match[b] >= 0 and match[a] != match[b]:
                    gap = np.median(np.linalg.norm(im["joints"][a] - im["joints"][b], axis=1))
                    out.append(float(gap / max(sizes[a], sizes[b], 1.0)))
    return sorted(out)


def markdown(results: dict, command: str) -> str:
    lines = [f"# One hand found twice, reported once ({date.today().isoformat()})", "", f"Command: `{command}`", "",
             "Recall / precision at IoU 0.5 after postprocess.joint_nms at each distance (0 = off), hands ranked "
             f"by mean joint confidence (the shipped rule, default distance {JOINT_NMS:g}) or by the vote's score.", ""]
    for split, result in results.items():
        names = list(result["sets"])
        lines += [f"## {split}", "", "| rank | distance | " + " | ".join(names) + " |",
                  "|---|---|" + "---|" * len(names)]
        for row in result["rows"]:
            cells = [f"{row[n]['recall']:.3f} / {row[n]['precision']:.3f}" for n in names]
            lines.append(f"| {row['rank']} | {row['distance']:g} | " + " | ".join(cells) + " |")
        gaps = result["distinct_pairs"]
        closest = ", ".join(f"{g:.3f}" for g in gaps[:5])
        lines += ["", f"Pairs of different labelled hands both found: {len(gaps)}; closest joint distances: "
                  f"{closest}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit-photos", type=int, default=1000)
    parser.add_argument("--fit-turned", type=int, default=500)
    parser.add_argument("--fit-frames", type=int, default=200)
    parser.add_argument("--check-photos", type=int, default=500)
    parser.add_argument("--check-turned", type=int, default=300)
    parser.add_argument("--check-frames", type=int, default=60)
    parser.add_argument("--distances", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = its default)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "joint_nms")
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    splits = {"fit set": photo_and_frame_sets(records, 600, args.fit_photos, args.fit_turned, args.fit_frames,
                                              FIT_SEED),
              "check set (model_eval.py's frames)": photo_and_frame_sets(records, 0, args.check_photos,
                                                                         args.check_turned, args.check_frames,
                                                                         VAL_SEED)}
    results = {}
    with HandJointDetector(backend="onnxruntime", threads=args.threads, joint_nms=0.0) as detector:
        for split, sets in splits.items():
            images = {}
            for name, samples in sets.items():
                images[name] = collect(detector, samples())
                print(f"[joint_nms] {split}: {name}, {len(images[name])} images", flush=True)
            rows = [{"rank": rank, "distance": d, **{n: score(ims, d, rank) for n, ims in images.items()}}
                    for rank in RANKS for d in args.distances]
            pairs = distinct_pair_distances([im for ims in images.values() for im in ims])
            results[split] = {"sets": list(images), "rows": rows, "distinct_pairs": pairs}
    command = " ".join(["python benchmarks/joint_nms.py", *(argv if argv is not None else sys.argv[1:])])
    write_outputs(args.out, "joint_nms", {"command": command, "results": results}, markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
