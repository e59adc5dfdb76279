"""Stage I accuracy and time against the localizer's input size, per frame size: the evidence behind the
automatic size (detector.auto_long_side) and what `localizer_size` buys.

    python benchmarks/localizer_size.py                       # shipped models, 60 composed val frames per size
    python benchmarks/localizer_size.py --frames 20 --long-sides 384 640 --out /tmp/lsize

For each frame size (the five of the model card plus 640x480) and each long side (plus 'auto', the default),
detect() runs on the same composed val frames (benchmarks/model_eval.py's): recall and precision at IoU 0.5,
pipeline PCK@0.2, recall by hand size, and the median ms of detector.localize on them. --photos N adds rows
for the first N real hagrid_mp val photos run whole (small frames, median ~110 px long side): 'auto' there
enlarges them at most detector.AUTO_MAX_UPSCALE, a fixed 384 is the rule before that cap. Needs ../shared.
Writes localizer_size.json and localizer_size.md into --out.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from model_eval import FRAME_SIZES, composed_frames, detect_and_score, shared_data  # noqa: E402

SIZES = ((640, 480), *FRAME_SIZES)


def localize_ms(detector, frames, runs: int) -> float:
    """Median ms of detector.localize over the first `runs` frames (after one warm-up call)."""
    detector.localize(frames[0].image)
    times = []
    for sample in frames[:runs]:
        start = time.perf_counter()
        detector.localize(sample.image)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def _row(detector, frame, long_side, input_size, samples, runs: int) -> dict:
    """One table row: detect() scored on ``samples`` and the median stage-I ms; frame and input as labels."""
    scored = detect_and_score(detector, samples)
    row = {"frame": frame, "long_side": long_side, "input": input_size, "recall": scored["recall"],
           "precision": scored["precision"], "pipeline_pck@0.2": float(scored["pipeline"].pck[1]),
           "hands": scored["hands"], "by_size": scored["by_size"], "stage1_ms": localize_ms(detector, samples, runs)}
    print(f"  {_frame_label(row)} long side {long_side} (input {_input_label(row)}): recall {row['recall']:.3f} "
          f"precision {row['precision']:.3f} PCK@0.2 {row['pipeline_pck@0.2']:.3f} "
          f"stage I {row['stage1_ms']:.1f} ms", flush=True)
    return row


def _detector(options: dict, long_side):
    from handjoints_trt import HandJointDetector

    return HandJointDetector(**options, localizer_size=None if long_side == "auto" else int(long_side))


def measure(frame_size, long_side, frames, options: dict, runs: int) -> dict:
    with _detector(options, long_side) as d:
        return _row(d, list(frame_size), long_side, list(d.localizer_input_size(tuple(frame_size))), frames, runs)


def measure_photos(long_side, photos, options: dict, runs: int) -> dict:
    """The row of real photos (whole frames of many sizes) at one long side ('auto' or an int)."""
    with _detector(options, long_side) as d:
        inputs = [max(d.localizer_input_size((p.image.shape[1], p.image.shape[0]))) for p in photos]
        return _row(d, "photos", long_side, f"long side {int(np.median(inputs))} (median)", photos, runs)


def _frame_label(row: dict) -> str:
    return row["frame"] if isinstance(row["frame"], str) else f"{row['frame'][0]}x{row['frame'][1]}"


def _input_label(row: dict) -> str:
    return row["input"] if isinstance(row["input"], str) else f"{row['input'][0]}x{row['input'][1]}"


def markdown(report: dict) -> str:
    lines = [f"# Localizer input size ({report['date']}, {report['machine']})", "",
             f"Command: `{report['command']}`", "",
             "| frame | long side | input | hands | recall | precision | pipeline PCK@0.2 | recall < 32 px | stage I ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        small = r["by_size"][0]
        lines.append(f"| {_frame_label(r)} | {r['long_side']} | {_input_label(r)} | "
                     f"{r['hands']} | {r['recall']:.3f} | {r['precision']:.3f} | {r['pipeline_pck@0.2']:.3f} | "
                     f"{small['recall']:.2f} ({small['hands']}) | {r['stage1_ms']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="composed val frames per frame size")
    parser.add_argument("--long-sides", nargs="+", default=["384", "512", "640", "auto"])
    parser.add_argument("--runs", type=int, default=20, help="frames timed per case")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--photos", type=int, default=0, help="also this many real val photos run whole (0: none)")
    parser.add_argument("--sizes", nargs="*", default=None, metavar="WxH",
                        help="composed frame sizes (default: 640x480 and the model card's five; none: photos only)")
    parser.add_argument("--localizer", default=None, help="localizer ONNX (default: the shipped one)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    options = dict(backend="onnxruntime", localizer_model=args.localizer, threads=args.threads)
    rows = []
    sizes = SIZES if args.sizes is None else [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    for size in sizes:
        frames = [composed_frames(size, records).frame(i) for i in range(args.frames)]
        done = {}
        for long_side in args.long_sides:
            if long_side == "auto":   # the automatic size is often one of the fixed ones: reuse that row
                from handjoints_trt.detector import auto_long_side

                same = done.get(str(auto_long_side(size)))
                if same is not None:
                    rows.append({**same, "long_side": "auto"})
                    continue
            done[long_side] = measure(size, long_side, frames, options, args.runs)
            rows.append(done[long_side])
    if args.photos:
        photos = [r.load() for r in [r for r in records if r.hands][:args.photos]]
        rows += [measure_photos(long_side, photos, options, args.runs) for long_side in ("auto", "384")]
    report = {"date": str(date.today()), "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
              "command": "python " + " ".join(sys.argv), "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "localizer_size.json").write_text(json.dumps(report, indent=1, default=float))
    (out / "localizer_size.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
