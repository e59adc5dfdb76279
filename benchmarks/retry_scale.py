"""A second, coarser look of stage I when the first finds no hand: DetectorOptions.retry_scale swept on a fit set and
checked on model_eval's frames, with hands close to the camera.

    python benchmarks/retry_scale.py [--scales 0 0.5 0.67 0.75 --threads 1]

Sets (recall / precision at IoU 0.5 through detect(), and pipeline PCK@0.2):
- close-ups: whole val photos scaled and centred in a 640x480 frame (edges replicated) so that the labelled hand's
  long side is 0.15, 0.5, 0.9 and 1.1 of the frame's height (1.1: the hand cut by the frame's edges): a hand held
  near a webcam. The fit set takes val photos 600 on, the check set the first ones;
- whole val photos, upright and turned 90 / 180 / 270 degrees; composed val frames at model_eval's five sizes (fit:
  photos 600 on and seed 5; check: model_eval.py's photos and seed);
- hand-free 640x480 frames (generated backgrounds): false hands per frame, and the time per frame with the retry
  against without, interleaved in one run (the retry's cost falls on frames where the first look finds nothing).
Writes retry_scale.json and retry_scale.md into --out.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_outputs  # noqa: E402
from model_eval import VAL_SEED, detect_and_score, photo_and_frame_sets, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.data.sample import HandLabel, Sample  # noqa: E402

FIT_SEED = 5
CLOSE_UP = (0.15, 0.5, 0.9, 1.1)
FRAME = (640, 480)


def placed(sample: Sample, fraction: float, frame=FRAME) -> Sample:
    """The photo scaled so that its first hand's long side is ``fraction`` of the frame's height, that hand centred in
    a (width, height) frame, edges replicated; its label mapped along (box clipped to the frame)."""
    import cv2

    width, height = frame
    hand = sample.hands[0]
    scale = fraction * height / max(hand.box[2] - hand.box[0], hand.box[3] - hand.box[1])
    cx, cy = (hand.box[0] + hand.box[2]) / 2, (hand.box[1] + hand.box[3]) / 2
    m = np.array([[scale, 0, width / 2 - scale * cx], [0, scale, height / 2 - scale * cy]], np.float32)
    image = cv2.warpAffine(sample.image, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    points = (hand.keypoints * scale + m[:, 2]).astype(np.float32)
    box = np.concatenate([points[hand.visible].min(axis=0), points[hand.visible].max(axis=0)])
    box = np.clip(box, 0, [width, height, width, height]).astype(np.float32)
    return Sample(image, [HandLabel(points, hand.visible.copy(), box, hand.handedness)], f"{sample.source}@{fraction}")


def hand_free_frames(count: int, seed: int) -> list[np.ndarray]:
    from handjoints_trt.data.backgrounds import random_background

    rng = np.random.default_rng(seed)
    return [random_background(rng, *FRAME) for _ in range(count)]


def sets_of(records, start: int, photos: int, turned: int, close_ups: int, frames: int, seed: int) -> dict:
    """{name: () -> list of samples}: the close-ups of the labelled val photos from ``start``, then
    model_eval.photo_and_frame_sets."""
    labelled = [r for r in records if r.hands][start:start + close_ups]
    sets = {f"close-up {f:g}": (lambda f=f: [placed(r.load(), f) for r in labelled]) for f in CLOSE_UP}
    for name, make in photo_and_frame_sets(records, start, photos, turned, frames, seed).items():
        sets[name] = lambda make=make: list(make())
    return sets


def score_sets(scales, sets: dict, threads: int) -> dict:
    """{scale: {set: recall / precision / PCK@0.2}}; each set is made once and run at every scale."""
    detectors = {s: HandJointDetector(backend="onnxruntime", threads=threads, retry_scale=s) for s in scales}
    table = {s: {} for s in scales}
    try:
        for name, make in sets.items():
            samples = make()
            for s, detector in detectors.items():
                r = detect_and_score(detector, samples)
                table[s][name] = {"recall": r["recall"], "precision": r["precision"], "hands": r["hands"],
                                  "pck": float(r["pipeline"].pck[1])}
            print(f"[retry_scale] {name}: " + ", ".join(f"{s:g} {table[s][name]['recall']:.3f}" for s in scales),
                  flush=True)
    finally:
        for detector in detectors.values():
            detector.close()
    return table


def hand_free(scale: float, frames: list[np.ndarray], threads: int, passes: int = 3) -> dict:
    """False hands per hand-free frame and the median time per frame, off and at ``scale``, interleaved."""
    out = {}
    with HandJointDetector(backend="onnxruntime", threads=threads, retry_scale=0.0) as off, \
            HandJointDetector(backend="onnxruntime", threads=threads, retry_scale=scale) as on:
        times = {"off": [], "on": []}
        false = {"off": 0, "on": 0}
        for frame in frames[:5]:
            off.detect(frame), on.detect(frame)        # warm-up
        for _ in range(passes):
            for name, detector in (("off", off), ("on", on)):
                for frame in frames:
                    t0 = time.perf_counter()
                    false[name] += len(detector.detect(frame))
                    times[name].append((time.perf_counter() - t0) * 1e3)
        for name in times:
            out[name] = {"false_per_frame": false[name] / (passes * len(frames)),
                         "median_ms": float(np.median(times[name]))}
    out["ratio"] = out["on"]["median_ms"] / out["off"]["median_ms"]
    return out


def markdown(results: dict, command: str) -> str:
    lines = [f"# A second, coarser look of stage I ({date.today().isoformat()})", "", f"Command: `{command}`", "",
             "Recall / precision at IoU 0.5 (pipeline PCK@0.2) through detect() at each retry_scale (0 = off).", ""]
    for split, table in results["sets"].items():
        scales = list(table)
        names = list(table[scales[0]])
        lines += [f"## {split}", "", "| set | hands | " + " | ".join(f"{s}" for s in scales) + " |",
                  "|---|---|" + "---|" * len(scales)]
        for name in names:
            cells = [f"{t[name]['recall']:.3f} / {t[name]['precision']:.3f} ({t[name]['pck']:.3f})"
                     for t in (table[s] for s in scales)]
            lines.append(f"| {name} | {table[scales[0]][name]['hands']} | " + " | ".join(cells) + " |")
        lines.append("")
    free = results.get("hand_free")
    if not free:
        return "\n".join(lines)
    lines += ["## Hand-free 640x480 frames", "", f"retry_scale {free['scale']:g} against off, interleaved: false hands "
              f"per frame {free['off']['false_per_frame']:.3f} -> {free['on']['false_per_frame']:.3f}, median time per "
              f"frame {free['off']['median_ms']:.2f} -> {free['on']['median_ms']:.2f} ms ({free['ratio']:.2f}x).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.5, 0.67, 0.75])
    parser.add_argument("--fit-photos", type=int, default=1000)
    parser.add_argument("--fit-turned", type=int, default=500)
    parser.add_argument("--fit-frames", type=int, default=100)
    parser.add_argument("--check-photos", type=int, default=500)
    parser.add_argument("--check-turned", type=int, default=300)
    parser.add_argument("--check-frames", type=int, default=60)
    parser.add_argument("--close-ups", type=int, default=200, help="photos per close-up size, in each set")
    parser.add_argument("--hand-free", type=int, default=40, help="hand-free frames (0 = none)")
    parser.add_argument("--timed-scale", type=float, default=None, help="retry_scale timed on the hand-free frames "
                        "(default: DetectorOptions' default)")
    parser.add_argument("--skip-check", action="store_true", help="the fit set only")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = its default)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "retry_scale")
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.types import RETRY_SCALE

    records = load_hagrid_mp(shared_data(), split="val")
    results = {"sets": {}}
    fit = sets_of(records, 600, args.fit_photos, args.fit_turned, args.close_ups, args.fit_frames, FIT_SEED)
    results["sets"]["fit set"] = score_sets(args.scales, fit, args.threads)
    if not args.skip_check:
        results["sets"]["check set (model_eval.py's frames)"] = score_sets(
            args.scales, sets_of(records, 0, args.check_photos, args.check_turned, args.close_ups, args.check_frames,
                                 VAL_SEED), args.threads)
    scale = RETRY_SCALE if args.timed_scale is None else args.timed_scale
    if args.hand_free:
        results["hand_free"] = {"scale": scale, **hand_free(scale, hand_free_frames(args.hand_free, FIT_SEED),
                                                             args.threads)}
    command = " ".join(["python benchmarks/retry_scale.py", *(argv if argv is not None else sys.argv[1:])])
    write_outputs(args.out, "retry_scale", {"command": command, **results}, markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
