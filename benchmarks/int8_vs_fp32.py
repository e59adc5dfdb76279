#!/usr/bin/env python
"""FP32 vs INT8 (Q/DQ, ONNX Runtime CPU) for both stages: accuracy, median latency, speed ratio.

    python benchmarks/int8_vs_fp32.py [--hand weights/hand.onnx] [--localizer weights/localizer.onnx]
        [--data ../shared/data/hagrid_mp] [--calib 256] [--val 128] [--runs 50] [--method entropy]

Defaults: handjoints_trt/weights/{hand,localizer}.onnx when present; otherwise untrained lite models are
exported, and the accuracy columns are then meaningless (their heatmaps are nearly flat): the table also
shows the agreement of INT8 with FP32's own outputs (reference=fp32), which is meaningful for any net.
Latency: one crop (hand) / one frame at the model's input size (localizer), same session options, the two
models timed interleaved in one process, median over --runs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WEIGHTS = REPO / "handjoints_trt" / "weights"


def _model(path: Path | None, stage: str, tmp: Path) -> tuple[Path, bool]:
    """(model path, trained?): the given file, the shipped weight, or a freshly exported untrained lite net."""
    if path is not None:
        return path, True
    shipped = WEIGHTS / f"{stage}.onnx"
    if shipped.is_file():
        return shipped, True
    import torch

    from handjoints_trt.export.onnx_export import export_hand, export_localizer
    from handjoints_trt.models import build_model, hand_config, localizer_config

    torch.manual_seed(0)
    cfg = (hand_config if stage == "hand" else localizer_config)("lite").to_dict()
    out = tmp / f"{stage}.onnx"
    (export_hand if stage == "hand" else export_localizer)(build_model(stage, cfg), cfg, out, check=False)
    return out, False


def _stage(stage: str, fp32: Path, args, tmp: Path) -> list:
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.export import quantize as q
    from handjoints_trt.export.calibset import hagrid_manifest
    from handjoints_trt.export.onnx_export import read_metadata

    meta = read_metadata(fp32)
    size = int(meta["input_size"]) if stage == "hand" else tuple(int(v) for v in meta["input_size"].split("x"))
    count = args.calib if stage == "hand" else max(args.calib // 4, 8)
    manifest = hagrid_manifest(stage, args.data, size, count=count)
    int8 = q.quantize_int8(fp32, tmp / f"{stage}.int8.onnx", manifest, args.method).path
    val = load_hagrid_mp(args.data, "val")
    rows = []
    for reference in ("labels", "fp32"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", q.Int8AccuracyWarning)
            if stage == "hand":
                r = q.gate_hand(fp32, int8, val, args.val, on_fail="warn", runs=args.runs, reference=reference)
            else:
                from handjoints_trt.data.compose import ComposedFrames

                frames = ComposedFrames(val, seed=1)
                r = q.gate_localizer(fp32, int8, frames, max(args.val // 4, 8), on_fail="warn", runs=args.runs,
                                     reference=reference)
        rows.append(r)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hand", type=Path)
    p.add_argument("--localizer", type=Path)
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "hagrid_mp")
    p.add_argument("--calib", type=int, default=256, help="calibration crops (frames: a quarter)")
    p.add_argument("--val", type=int, default=128, help="validation crops (frames: a quarter)")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--method", choices=("entropy", "percentile"), default="percentile")
    p.add_argument("--stages", default="hand,localizer")
    args = p.parse_args(argv)
    if args.runs < 50:
        print(f"note: --runs {args.runs} < 50; medians are noisier", file=sys.stderr)
    lines = ["| stage | trained | metric | reference | FP32 | INT8 | drop (points) | FP32 ms | INT8 ms | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    untrained = False
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for stage in args.stages.split(","):
            fp32, trained = _model(getattr(args, stage), stage, tmp)
            untrained |= not trained
            for r in _stage(stage, fp32, args, tmp):
                lines.append(f"| {stage} | {'yes' if trained else 'NO'} | {r.metric} | {r.extra['reference']} | "
                             f"{r.fp32:.4f} | {r.int8:.4f} | {r.drop_points:+.2f} | {r.fp32_ms:.2f} | "
                             f"{r.int8_ms:.2f} | {r.speedup:.2f}x |")
    print("\n".join(lines))
    if untrained:
        print("\nUNTRAINED models (no weights in handjoints_trt/weights): the 'labels' accuracy columns are "
              "meaningless; 'fp32' rows show how closely INT8 reproduces FP32.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
