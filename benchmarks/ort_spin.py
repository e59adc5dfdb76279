"""How ONNX Runtime's threads should wait for work: detect()'s stage I + stage II at 640x480 with one and four
hands, for each spin_wait mode of the ONNX Runtime backend, interleaved in one run.

    python benchmarks/ort_spin.py [--modes off run] [--runs 60 --passes 4] [--busy 0]

Modes (backends/onnxruntime.py): "off" (the default: threads sleep whenever they wait), "run" (they busy-wait
between the nodes of a run and stop when it returns), "always" (ONNX Runtime's own default: they keep
spinning after each run too). ``--busy N`` starts N processes that keep one core each busy for the whole
run, as a camera app, a trainer or another engineer's job would: spinning threads then compete with them.
Each pass times every mode once (model_eval.frame_time: the median and p95 of ``--runs`` frames); read the
ratios within a pass. Writes ort_spin.json and ort_spin.md into --out.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import frame_time  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.backends.onnxruntime import SPIN_MODES  # noqa: E402


def _burn(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def measure(modes, runs: int, passes: int, threads: int) -> list[dict]:
    detectors = {m: HandJointDetector(backend="onnxruntime", threads=threads, extra={"spin_wait": m})
                 for m in modes}
    rows = []
    try:
        for p in range(passes):
            for mode, det in detectors.items():
                for hands in (1, 4):
                    t = frame_time(det, hands, runs)
                    rows.append({"pass": p, "mode": mode, **t})
                    print(f"pass {p} {mode:6s} {hands} hand(s): {t['median_ms']:.2f} ms (p95 {t['p95_ms']:.2f})",
                          flush=True)
    finally:
        for det in detectors.values():
            det.close()
    return rows


def summary(rows: list[dict], modes) -> list[dict]:
    """Per mode and hand count: the median of the per-pass medians, and per pass the first mode's time over
    this mode's (> 1: this mode is faster)."""
    def per_pass(mode, hands):   # rows are in pass order
        return [r["median_ms"] for r in rows if r["mode"] == mode and r["hands"] == hands]

    out = []
    for hands in (1, 4):
        first = per_pass(modes[0], hands)
        for mode in modes:
            mine = per_pass(mode, hands)
            out.append({"hands": hands, "mode": mode, "median_ms": float(np.median(mine)),
                        "range_ms": [min(mine), max(mine)],
                        "speedup_vs_first": [round(f / m, 2) for f, m in zip(first, mine)]})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["off", "run"], choices=sorted(set(SPIN_MODES.values())))
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads per session (0 = one per core)")
    parser.add_argument("--busy", type=int, default=0, help="busy processes competing for the cores")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)

    stop = mp.Event()
    burners = [mp.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.busy)]
    for b in burners:
        b.start()
    try:
        rows = measure(args.modes, args.runs, args.passes, args.threads)
    finally:
        stop.set()
        for b in burners:
            b.join(timeout=5)
    table = summary(rows, args.modes)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.processor() or platform.machine()}, {mp.cpu_count()} cores, {args.busy} busy process(es)"
    lines = [f"# ONNX Runtime spin modes ({stamp}, {machine})", "",
             "Command: `python benchmarks/ort_spin.py " + " ".join(argv if argv is not None else sys.argv[1:]) + "`",
             "", f"| hands | mode | median of per-pass medians, ms | range, ms | speed-up vs {args.modes[0]} per pass |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['hands']} | {r['mode']} | {r['median_ms']:.2f} | {r['range_ms'][0]:.2f}-{r['range_ms'][1]:.2f} | "
              f"{', '.join(f'{v:.2f}x' for v in r['speedup_vs_first'])} |" for r in table]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = f"_busy{args.busy}" if args.busy else ""
    (out / f"ort_spin{suffix}.md").write_text("\n".join(lines) + "\n")
    (out / f"ort_spin{suffix}.json").write_text(json.dumps({"date": stamp, "machine": machine, "rows": rows,
                                                             "summary": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
