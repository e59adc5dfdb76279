#!/usr/bin/env python
"""Write an INT8 calibration manifest (handjoints_trt.export.calibset): which real inputs calibrate a model,
with their sha256 and how each model input is made (preprocess.crop_hands / preprocess.letterbox).

    python calibration/make_calibration_set.py --model weights/hand.onnx --data ../shared/data/hagrid_mp \
        --count 512 --out calibration/hand.manifest.json
    python calibration/make_calibration_set.py --model weights/localizer.onnx --data ../shared/data/hagrid_mp \
        --count 128 --out calibration/localizer.manifest.json

The stage and input size come from the model's metadata (or --stage / --input-size without a model).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of `make_calibration_set` (mountable as a subcommand of the package CLI)."""
    parser.add_argument("--model", type=Path, help="FP32 ONNX model: stage and input size from its metadata")
    parser.add_argument("--stage", choices=("hand", "localizer"), help="without --model")
    parser.add_argument("--input-size", help="without --model: crop side (hand, e.g. 128) or WxH (localizer)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "hagrid_mp",
                        help="hagrid_mp folder (annotations.json, val.txt, images/)")
    parser.add_argument("--split", default="train", choices=("train", "val", "all"))
    parser.add_argument("--count", type=int, help="crops (hand, default 512) or composed frames (localizer, 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="manifest JSON to write")
    return parser


def _stage_and_size(args) -> tuple[str, object]:
    if args.model is not None:
        from handjoints_trt.export.onnx_export import read_metadata

        meta = read_metadata(args.model)
        if meta.get("kind") not in ("hand", "localizer") or not meta.get("input_size"):
            raise SystemExit(f"{args.model}: no handjoints kind/input_size metadata; pass --stage and --input-size")
        stage, size = meta["kind"], meta["input_size"]
    elif args.stage and args.input_size:
        stage, size = args.stage, args.input_size
    else:
        raise SystemExit("give --model, or both --stage and --input-size")
    if stage == "hand":
        return stage, int(size)
    w, h = (int(v) for v in size.lower().split("x"))
    return stage, (w, h)


def run(args: argparse.Namespace) -> int:
    from handjoints_trt.export.calibset import hagrid_manifest, manifest_hash, write_manifest

    if args.count is not None and args.count < 1:
        raise SystemExit(f"--count must be >= 1, got {args.count}")
    stage, size = _stage_and_size(args)
    manifest = hagrid_manifest(stage, args.data, size, args.count, args.seed, args.split)
    write_manifest(manifest, args.out)
    print(f"wrote {args.out}: {len(manifest['entries'])} {stage} inputs, hash {manifest_hash(manifest)}")
    return 0


def main(argv=None) -> int:
    return run(add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0])).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
