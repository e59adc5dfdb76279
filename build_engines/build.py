#!/usr/bin/env python3
"""Build (and cache) TensorRT engines for the handjoints models: a thin script over handjoints_trt.engines.build.

    python build_engines/build.py --model handjoints_trt/weights/hand.onnx --precision fp16 --max-batch 16
    python build_engines/build.py --model hand.onnx --precision int8 --print-trtexec   # no TensorRT needed

The same options are `handjoints build ...` once the package CLI mounts add_build_arguments / run_build.
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    from handjoints_trt.engines.build import add_build_arguments, build_parser, run_build
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from handjoints_trt.engines.build import add_build_arguments, build_parser, run_build

__all__ = ["add_build_arguments", "build_parser", "run_build", "main"]


def main(argv=None) -> int:
    return run_build(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
