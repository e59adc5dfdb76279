#!/usr/bin/env python
"""Calibrate and quantize an FP32 ONNX model to Q/DQ INT8, then gate it on accuracy (FP32 vs INT8).

    python calibration/calibrate.py --model weights/hand.onnx --manifest calibration/hand.manifest.json \
        --method entropy --out weights/hand.int8.onnx --val 256 --on-fail raise [--trt-cache hand.cache]
        [--keep-float msff.0.head msff.1.fusion | --search]

--val N: validation hands (hagrid_mp val split, crops from ground-truth boxes; PCK@0.2) or composed val
frames (recall at IoU 0.5); 0 skips the gate. The gate refuses (exit 3, the INT8 file is removed) or warns
when INT8 loses more than --max-drop points. --trt-cache writes a TensorRT 8.5 implicit-quantization cache.
--percentile: the activation range of --method percentile (99.999 by default; the hand network needs ~99.5).
--keep-float: module groups (as export.quantize.module_groups names them) kept float, besides the image convs
and the output head. --search finds both, on a search set disjoint from the gate's (hagrid_mp val hands after
the first --val / other composed frames): it sweeps the percentile, and if no percentile passes, measures how
much each group costs when quantized and keeps the costliest float until the drop is within --max-drop.
--hand-free N (hand stage): both the gate and the search also run N hand-free crops (drawn faces, backgrounds;
other seeds in each) and refuse an INT8 model surer of hands there than FP32 by more than --max-hand-free-rise
(a range too wide for near-empty heatmaps lifts every peak, and detect() takes faces for hands).
--max-precision-drop (localizer): both also refuse an INT8 localizer that loses more than this many points of
precision at IoU 0.5 (more false boxes), besides the recall limit of --max-drop.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of `calibrate` (mountable as `handjoints calibrate`)."""
    from handjoints_trt.export.gate_limits import HAND_FREE_COUNT, MAX_DROP_POINTS, MAX_HAND_FREE_RISE

    parser.add_argument("--model", type=Path, required=True, help="FP32 ONNX model (handjoints export)")
    parser.add_argument("--manifest", type=Path, required=True, help="from make_calibration_set.py")
    parser.add_argument("--method", choices=("entropy", "percentile"), default="percentile")
    parser.add_argument("--out", type=Path, required=True, help="INT8 ONNX to write")
    parser.add_argument("--val", type=int, default=256, help="validation hands/frames for the gate (0: no gate)")
    parser.add_argument("--on-fail", choices=("raise", "warn"), default="raise")
    parser.add_argument("--max-drop", type=float, default=MAX_DROP_POINTS,
                        help="points of PCK@0.2 / recall INT8 may lose")
    parser.add_argument("--reference", choices=("labels", "fp32"), default="labels",
                        help="score against ground truth, or against the FP32 model's own outputs")
    parser.add_argument("--trt-cache", type=Path, help="also write a TensorRT 8.5 calibration cache")
    parser.add_argument("--data", type=Path, help="hagrid_mp folder for validation (default: the manifest's)")
    parser.add_argument("--batch-size", type=int, default=16, help="crops per calibration batch (hand)")
    parser.add_argument("--limit", type=int, help="calibrate on the first N manifest entries only")
    parser.add_argument("--report", type=Path, help="write the gate report JSON here")
    parser.add_argument("--keep-float", nargs="+", default=[], metavar="MODULE",
                        help="module groups kept float (mixed precision), e.g. msff.0.head msff.1.fusion")
    parser.add_argument("--search", action="store_true",
                        help="find the module groups to keep float (sensitivity + greedy) before quantizing")
    parser.add_argument("--search-size", type=int, default=400, help="hands/frames of the search set")
    parser.add_argument("--search-report", type=Path, help="write what --search measured (JSON) here")
    parser.add_argument("--percentile", type=float, default=99.999,
                        help="calibration percentile of --method percentile (--search sweeps 99..99.999)")
    parser.add_argument("--hand-free", type=int, default=HAND_FREE_COUNT,
                        help="hand stage: hand-free crops the gate and the search check (0: not checked)")
    parser.add_argument("--max-hand-free-rise", type=float, default=MAX_HAND_FREE_RISE,
                        help="how much surer (mean joint confidence, 0..1) INT8 may be of hands on hand-free crops")
    parser.add_argument("--max-precision-drop", type=float, default=MAX_DROP_POINTS,
                        help="localizer: points of precision at IoU 0.5 INT8 may lose")
    return parser


def _search(args, manifest: dict) -> list[str]:
    """--search: the module groups to keep float, found on a set disjoint from the gate's."""
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.export import quantize as q
    from handjoints_trt.export.onnx_export import read_metadata
    from handjoints_trt.fileio import atomic_write

    root = args.data or Path(manifest["source"]["root"])
    meta = read_metadata(args.model)
    val = load_hagrid_mp(root, "val")
    admissible = None
    if manifest["stage"] == "hand":
        skip = max(args.val, 0)
        evaluate = q.hand_evaluator([r for r in val if r.hands][skip:], int(meta["input_size"]), args.search_size)
        if args.hand_free > 0:
            admissible = q.hand_free_check(args.model, int(meta["input_size"]), args.hand_free,
                                           q.HAND_FREE_SEEDS["search"], args.max_hand_free_rise)
    else:
        from handjoints_trt.data.compose import ComposedFrames

        size = tuple(int(v) for v in meta["input_size"].split("x"))
        frames = ComposedFrames(val, seed=int(manifest["source"]["seed"]) + 1)
        evaluate = q.localizer_evaluator(frames, size, args.search_size, start=max(args.val, 0))
        admissible = q.localizer_precision_check(args.model, evaluate.val_set, args.max_precision_drop,
                                                 pr=evaluate.pr)
    result = q.search_mixed_precision(args.model, manifest, evaluate, args.max_drop, args.method,
                                      admissible=admissible)
    print(f"search on {result.count}: FP32 {result.fp32:.4f}; everything quantized, drop (points) by percentile: "
          + ", ".join(f"{p:g} {d:+.2f}" for p, d in result.percentile_drops.items() if p is not None))
    print(f"chose percentile {result.percentile}; keeping float: {' '.join(result.float_modules) or '(nothing more)'}"
          f" -> drop {result.steps[-1].drop_points:+.2f} points" + ("" if result.passed else " (over the limit)")
          + (f"; refused ({admissible.reason}): {' '.join(f'{p:g}' for p in result.refused)}"
             if result.refused else ""))
    if args.search_report:
        atomic_write(args.search_report, json.dumps(result.to_dict(), indent=1, default=str))
    return result.percentile, result.float_modules


def _gate(args, manifest: dict):
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.export import quantize as q

    root = args.data or Path(manifest["source"]["root"])
    if manifest["stage"] == "hand":
        return q.gate_hand(args.model, args.out, load_hagrid_mp(root, "val"), args.val, args.max_drop,
                           args.on_fail, reference=args.reference, hand_free=args.hand_free,
                           max_hand_free_rise=args.max_hand_free_rise)
    from handjoints_trt.data.compose import ComposedFrames

    # Validation frames: other hands (val split) and another seed than the calibration frames.
    frames = ComposedFrames(load_hagrid_mp(root, "val"), seed=int(manifest["source"]["seed"]) + 1)
    return q.gate_localizer(args.model, args.out, frames, args.val, 0, args.max_drop, args.on_fail,
                            reference=args.reference, max_precision_drop_points=args.max_precision_drop)


def run(args: argparse.Namespace) -> int:
    from handjoints_trt.export import quantize as q
    from handjoints_trt.export.calibset import load_manifest

    manifest = load_manifest(args.manifest)  # verifies every file's sha256
    percentile, keep = args.percentile, list(args.keep_float)
    if args.search:
        percentile, found = _search(args, manifest)
        percentile, keep = percentile or args.percentile, keep + found
    result = q.quantize_int8(args.model, args.out, manifest, args.method, args.batch_size, args.limit,
                             trt_cache=args.trt_cache, nodes_to_exclude=q.nodes_of_modules(args.model, keep),
                             percentile=percentile)
    print(f"wrote {result.path} ({len(result.ranges)} calibrated tensors, "
          f"{len(result.excluded)} nodes kept float, manifest {result.manifest_hash})")
    if keep:
        print(f"module groups kept float: {' '.join(keep)}")
    if result.trt_cache:
        print(f"wrote {result.trt_cache} (TensorRT 8.5 implicit-quantization cache)")
    if args.val <= 0:
        return 0
    try:
        report = _gate(args, manifest)
    except q.Int8AccuracyError as e:
        args.out.unlink(missing_ok=True)  # a refused model must not be picked up by mistake
        print(f"refused: {e}", file=sys.stderr)
        return 3
    print(report.summary())
    if args.report:
        q.write_report(report, args.report)
    return 0


def main(argv=None) -> int:
    return run(add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0])).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
