"""Throughput of the synthetic generator on ONE core: frames/s (SynthConfig frames) and crops/s.

    python benchmarks/synthetic_throughput.py [--frames 300] [--crops 1000] [--crop-size 128]
    python benchmarks/synthetic_throughput.py --examples docs/images/synthetic_examples.png   # the docs figure

Pins OpenCV and OpenMP to one thread (a DataLoader worker gets one core), warms up, then times
SyntheticHands.frame and SyntheticHands.crop over consecutive indices.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands  # noqa: E402
from handjoints_trt.skeleton import BONES, bone_color, joint_color  # noqa: E402


def overlay(image: np.ndarray, points: list[np.ndarray], visible: list[np.ndarray]) -> np.ndarray:
    """Skeletons over a copy of ``image``: filled dots for visible joints, rings for hidden ones."""
    out = image.copy()
    for pts, vis in zip(points, visible):
        fixed = np.round((pts - 0.5) * 16).astype(np.int32).tolist()  # continuous -> OpenCV, 1/16 px
        for bone in BONES:
            cv2.line(out, fixed[bone[0]], fixed[bone[1]], bone_color(bone), 1, cv2.LINE_AA, 4)
        for j, (p, v) in enumerate(zip(fixed, vis)):
            cv2.circle(out, p, 2 * 16, joint_color(j), -1 if v else 1, cv2.LINE_AA, 4)
    return out


def save_examples(path: str, seed: int = 0) -> None:
    """Four frames and eight crops with their labels drawn, as one PNG (under 300 KB for the docs)."""
    gen = SyntheticHands(SynthConfig(width=256, height=256, max_hands=4,
                                     hand_count_weights=(0, 0.3, 0.3, 0.2, 0.2),
                                     noise_prob=0.0, jpeg=False), seed=seed)  # noise: no PNG stays small
    frames = []
    for i in range(4):
        sample, pts = gen.frame_with_points(i)
        frames.append(overlay(sample.image, pts, [h.visible for h in sample.hands]))
    crops = []
    for i in range(8):
        sample, pts = gen.crop_with_points(i, 128)
        crops.append(overlay(sample.image, pts, [sample.hands[0].visible]))
    grid = np.concatenate([np.concatenate(frames, 1), np.concatenate(crops, 1)], 0)
    grid = grid // 8 * 8 + 4  # 32 levels per channel: invisible here, and the PNG compresses 2x better
    cv2.imwrite(path, grid, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {path} ({grid.shape[1]}x{grid.shape[0]})")


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
    parser.add_argument("--examples", help="write an overlay PNG of frames and crops here, then stop")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.examples:
        save_examples(args.examples)
        return
    gen = SyntheticHands(SynthConfig(width=args.width, height=args.height), seed=0)
    frames = rate(gen.frame, args.frames)
    crops = rate(lambda i: gen.crop(i, args.crop_size), args.crops)
    print(f"frames {args.width}x{args.height}: {frames:.1f} frames/s ({1000 / frames:.2f} ms each), one core")
    print(f"crops {args.crop_size}x{args.crop_size}: {crops:.1f} crops/s ({1000 / crops:.2f} ms each), one core")


if __name__ == "__main__":
    main()
