"""DetectorOptions.any_angle against the shipped default and the upright pass, in one run on the same data.

For each mode (plain: the shipped hand network on upright crops; upright_pass=True; any_angle=True: the
orientation network stands each hand upright, the aligned hand network reads it):
1. the hand network's PCK@0.2 on the labelled boxes of the first --photos hagrid_mp val photos, upright and turned
   90 / 180 / 270 degrees (compose.turned_sample), and on --synthetic synthetic val crops (hands at any angle,
   exact labels);
2. detect() on the same photos whole (upright and turned): stage-I recall / precision at IoU 0.5 and the pipeline's
   PCK@0.2 (model_eval.detect_and_score);
3. any_angle only: the orientation network's angle error against the labelled wrist -> middle knuckle;
4. time per 640x480 frame with one hand (stage I + stage II on the hand's box, model_eval.frame_time's work),
   the hand upright and turned 90 degrees, the modes timed in turns (--rounds) so that load on this shared machine
   falls on all of them alike; reported as medians and ratios to plain;
5. any_angle.png: detect() on turned val photos, one row per mode.

    python benchmarks/any_angle.py --photos 300 --synthetic 300 --threads 1
    python benchmarks/any_angle.py --hand-aligned X.onnx --orientation Y.onnx   # models not yet shipped
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import _common as C  # noqa: E402
from model_eval import (VAL_SEED, detect_and_score, hand_pck_on_samples, hand_pck_on_synthetic,  # noqa: E402
                        shared_data, turned_records)

TURNS = (0, 90, 180, 270)


def mode_options(args) -> dict[str, dict]:
    common = dict(threads=args.threads)
    plain = {**common, "any_angle": False}
    return {"plain": plain, "upright_pass": {**plain, "upright_pass": True},
            "any_angle": {**common, "any_angle": True, "aligned_model": args.hand_aligned,
                          "orientation_model": args.orientation}}


def angle_errors(detector, samples) -> np.ndarray:
    """Degrees between the orientation network's direction and the labelled one, per hand with both joints."""
    from handjoints_trt.detector import hand_angles

    errors = []
    for s in samples:
        labelled = [h for h in s.hands if h.visible[[0, 9]].all()]
        if not labelled:
            continue
        boxes = np.stack([h.box for h in labelled])
        got = detector.hand_directions(s.image, boxes)
        want = hand_angles(np.stack([h.keypoints for h in labelled]))
        errors.extend(np.abs((got - want + 180.0) % 360.0 - 180.0))
    return np.asarray(errors)


def pck02(result) -> float:
    """PCK@0.2 of a PCKResult."""
    return float(result.pck[list(np.round(result.thresholds, 3)).index(0.2)])


def accuracy(detector, records, args, any_angle: bool) -> dict:
    out = {"pck": {}, "whole": {}}
    errors = []
    for degrees in TURNS:
        samples = list(turned_records(records, args.photos, degrees // 90))
        out["pck"][f"val photos turned {degrees}"] = pck02(hand_pck_on_samples(detector, samples))
        scored = detect_and_score(detector, samples)
        out["whole"][degrees] = {"recall": scored["recall"], "precision": scored["precision"],
                                 "pck": pck02(scored["pipeline"])}
        if any_angle:
            errors.append(angle_errors(detector, samples))
    out["pck"]["synthetic val"] = pck02(hand_pck_on_synthetic(detector, args.synthetic))
    if any_angle:
        e = np.concatenate(errors)
        out["angle_error"] = {"hands": len(e), "median_deg": float(np.median(e)), "within15": float(np.mean(e < 15)),
                              "within30": float(np.mean(e < 30)), "over90": float(np.mean(e > 90))}
    return out


def timing_frames() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A 640x480 synthetic frame with one hand, and the same hand turned 90 degrees (frame and box)."""
    from handjoints_trt.data.compose import turned_sample
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

    gen = SyntheticHands(SynthConfig(width=640, height=480, max_hands=1, hand_count_weights=[0, 1]), seed=VAL_SEED)
    sample = next(s for s in (gen.frame(i) for i in range(50)) if len(s.hands) == 1)
    turned = turned_sample(sample, 1)
    return {"upright hand": (sample.image, sample.hands[0].box[None]),
            "turned hand": (turned.image, turned.hands[0].box[None])}


def timings(detectors: dict, rounds: int, runs: int) -> dict:
    frames = timing_frames()
    samples = {(m, f): [] for m in detectors for f in frames}
    for _ in range(rounds):
        for (mode, name), times in samples.items():
            detector, (image, box) = detectors[mode], frames[name]
            for k in range(runs + 2):
                t0 = time.perf_counter()
                detector.localize(image)
                detector.estimate(image, box)
                if k >= 2:   # two warm-up calls per turn
                    times.append((time.perf_counter() - t0) * 1e3)
    out = {}
    for name in frames:
        base = float(np.median(samples[("plain", name)]))
        out[name] = {m: {"median_ms": float(np.median(samples[(m, name)])),
                         "ratio": float(np.median(samples[(m, name)])) / base} for m in detectors}
    return out


def picture(detectors: dict, records, path: Path, count: int = 4) -> None:
    import cv2

    from handjoints_trt.draw import draw_hands

    samples = [next(turned_records(records[i:], 1, 1 + i % 3)) for i in range(count)]
    rows = []
    for mode, detector in detectors.items():
        tiles = []
        for s in samples:
            tile = draw_hands(s.image.copy(), detector.detect(s.image))
            tiles.append(cv2.resize(tile, (200, int(200 * tile.shape[0] / tile.shape[1]))))
        height = max(t.shape[0] for t in tiles)
        row = np.hstack([cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 2, cv2.BORDER_CONSTANT) for t in tiles])
        label = np.zeros((height, 110, 3), np.uint8)
        cv2.putText(label, mode, (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        rows.append(np.hstack([label, row]))
    width = max(r.shape[1] for r in rows)
    image = np.vstack([cv2.copyMakeBorder(r, 0, 2, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows])
    from handjoints_trt.fileio import atomic_write

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path.name} as PNG")
    atomic_write(path, data.tobytes())


def markdown(results: dict) -> str:
    modes = list(results["accuracy"])
    lines = [f"# any_angle against plain and the upright pass ({results['date']})", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             "## Hand network on labelled boxes, PCK@0.2", "",
             "| set | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for name in results["accuracy"][modes[0]]["pck"]:
        lines.append(f"| {name} | " + " | ".join(f"{results['accuracy'][m]['pck'][name]:.3f}" for m in modes) + " |")
    lines += ["", "## detect() on the whole photos: recall / precision / pipeline PCK@0.2", "",
              "| turn | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for degrees in TURNS:
        cells = [results["accuracy"][m]["whole"][degrees] for m in modes]
        lines.append(f"| {degrees} | " + " | ".join(f"{c['recall']:.3f} / {c['precision']:.3f} / {c['pck']:.3f}"
                                                     for c in cells) + " |")
    e = results["accuracy"].get("any_angle", {}).get("angle_error")
    if e:
        lines += ["", f"Orientation network on {e['hands']} labelled val hands (all turns): median error "
                      f"{e['median_deg']:.1f} degrees, within 15 {e['within15']:.3f}, within 30 {e['within30']:.3f}, "
                      f"over 90 {e['over90']:.3f}."]
    lines += ["", "## Time per 640x480 frame, one hand (median ms; ratio to plain, same run)", "",
              "| frame | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for name, row in results["timing"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[m]['median_ms']:.2f} ({row[m]['ratio']:.2f}x)"
                                                 for m in modes) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=300, help="hagrid_mp val photos (the first N with hands)")
    p.add_argument("--synthetic", type=int, default=300, help="synthetic val crops")
    p.add_argument("--rounds", type=int, default=5, help="timing turns per mode")
    p.add_argument("--runs", type=int, default=20, help="timed frames per mode and turn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hand-aligned", default=None, help="any_angle's hand network (default: the shipped one)")
    p.add_argument("--orientation", default=None, help="any_angle's orientation network (default: the shipped one)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = p.parse_args(argv)
    from contextlib import ExitStack

    from handjoints_trt import HandJointDetector
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(shared_data(), split="val") if r.hands]
    with ExitStack() as stack:
        detectors = {m: stack.enter_context(HandJointDetector(**o)) for m, o in mode_options(args).items()}
        results = {"accuracy": {}}
        for mode, detector in detectors.items():
            print(f"[any_angle] {mode}: accuracy ...", file=sys.stderr, flush=True)
            results["accuracy"][mode] = accuracy(detector, records, args, mode == "any_angle")
        print("[any_angle] timing ...", file=sys.stderr, flush=True)
        results["timing"] = timings(detectors, args.rounds, args.runs)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        picture(detectors, records, out / "any_angle.png")
    machine = C.machine_info()
    results.update(date=machine["date"], machine=f"{machine.get('cpu', '')}, {machine.get('cores', '')} cores",
                   command="python benchmarks/any_angle.py " + " ".join(sys.argv[1:] if argv is None else argv))
    C.write_json(out / "any_angle.json", json.loads(json.dumps(results, default=float)))
    C.write_text(out / "any_angle.md", markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
