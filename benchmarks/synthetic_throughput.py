"""Throughput of the synthetic generator on ONE core: frames/s (SynthConfig frames) and crops/s.

    python benchmarks/synthetic_throughput.py [--frames 300] [--crops 1000] [--crop-size 128]

Pins OpenCV and OpenMP to one thread (a DataLoader worker gets one core), warms up, then times
SyntheticHands.frame and SyntheticHands.crop over consecutive indices.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402

from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands  # noqa: E402


def rate(call, count: int) -> float:
    """Items per second of ``call(index)`` over ``count`` indices after 10 warm-up calls."""
    for i in range(10):
        call(10_000_000 + i)
    start = time.perf_counter()
    for i in range(count):
        call(i)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--crops", type=int, default=1000)
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--height", type=int, default=384)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    gen = SyntheticHands(SynthConfig(width=args.width, height=args.height), seed=0)
    frames = rate(gen.frame, args.frames)
    crops = rate(lambda i: gen.crop(i, args.crop_size), args.crops)
    print(f"frames {args.width}x{args.height}: {frames:.1f} frames/s ({1000 / frames:.2f} ms each), one core")
    print(f"crops {args.crop_size}x{args.crop_size}: {crops:.1f} crops/s ({1000 / crops:.2f} ms each), one core")


if __name__ == "__main__":
    main()
