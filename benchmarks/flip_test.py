"""What DetectorOptions.flip_test buys and costs: stage-II accuracy and whole-pipeline time, off against on.

    python benchmarks/flip_test.py [--hands 1000 --synthetic 500 --runs 60]

Accuracy: PCK@0.2 and AUC with ground-truth boxes on the first ``--hands`` hagrid_mp val photos (agreement with
MediaPipe) and ``--synthetic`` synthetic val crops (exact labels), model_eval.py's sets. Time: model_eval's
640x480 frame with 1 and 4 hands, off and on interleaved in one run, two passes (this machine is shared:
read the ratio). Writes flip_test.json and flip_test.md into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import frame_time, hand_pck_on_records, hand_pck_on_synthetic, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hands", type=int, default=1000, help="hagrid_mp val photos (0 = none)")
    parser.add_argument("--synthetic", type=int, default=500, help="synthetic val crops")
    parser.add_argument("--runs", type=int, default=60, help="timed frames per case and pass")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")[:args.hands] if args.hands else []
    detectors = {flip: HandJointDetector(threads=args.threads, flip_test=flip) for flip in (False, True)}
    try:
        accuracy = {}
        for flip, detector in detectors.items():
            sets = {"hagrid_mp val": hand_pck_on_records(detector, records) if records else None,
                    "synthetic val": hand_pck_on_synthetic(detector, args.synthetic)}
            accuracy[flip] = {name: {"pck@0.2": float(r.pck[1]), "auc": float(r.auc)}
                              for name, r in sets.items() if r is not None}
        timing = [{"pass": p, "hands": n, **{("on" if flip else "off"): frame_time(d, n, args.runs)["median_ms"]
                                             for flip, d in detectors.items()}}
                  for p in (1, 2) for n in (1, 4)]
    finally:
        for detector in detectors.values():
            detector.close()
    command = "python benchmarks/flip_test.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [f"# flip_test off / on ({date.today()})", "", f"Command: `{command.strip()}`", "",
             "| data | PCK@0.2 off | on | AUC off | on |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {accuracy[False][name]['pck@0.2']:.3f} | {accuracy[True][name]['pck@0.2']:.3f} | "
              f"{accuracy[False][name]['auc']:.3f} | {accuracy[True][name]['auc']:.3f} |" for name in accuracy[False]]
    lines += ["", "| pass | hands | off ms | on ms | on / off |", "|---|---|---|---|---|"]
    lines += [f"| {t['pass']} | {t['hands']} | {t['off']:.1f} | {t['on']:.1f} | {t['on'] / t['off']:.2f}x |"
              for t in timing]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "flip_test.json").write_text(json.dumps({"accuracy": {str(k): v for k, v in accuracy.items()},
                                                    "timing": timing}, indent=1))
    (out / "flip_test.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
