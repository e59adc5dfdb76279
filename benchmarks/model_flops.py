"""Parameters and FLOPs of every network configuration (the table in docs/models.md), optional ORT timing.

    python benchmarks/model_flops.py            # the markdown table (a few seconds on CPU)
    python benchmarks/model_flops.py --ort      # + onnxruntime CPU latency of the lite hand net and localizer

FLOPs = 2 x multiply-adds of every Conv2d/Linear call (models.count_flops), batch 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from handjoints_trt.models import build_hand_net, build_localizer, count_flops, hand_config  # noqa: E402

ABLATIONS = {
    "full": {},
    "no SSHFR": {"use_sshfr": False},
    "no TP": {"use_tp": False},
    "no AT": {"use_at": False},
    "no AOMR": {"use_aomr": False},
    "AOMR learnable": {"aomr_learnable": True},
    **{f"N={n}": {"num_msff": n} for n in (1, 2, 4, 5)},
}
# 640x480 frame: letterboxed into the square 384x384 default (384x288 image + padding), scaled 0.8 to
# 512x384 (no padding), or run at its native size.
LOCALIZER_INPUTS = {"384x384 (640x480 letterboxed, square)": (384, 384),
                    "512x384 (640x480 scaled 0.8)": (512, 384),
                    "640x480 (native)": (640, 480)}


def hand_rows() -> list[tuple[str, str, int, int]]:
    """(preset, variant, params, FLOPs per crop) for every preset x ablation, at the preset's crop size."""
    rows = []
    for preset in ("paper", "lite"):
        for variant, overrides in ABLATIONS.items():
            config = hand_config(preset, **overrides)
            params, flops = count_flops(build_hand_net(config), (1, 3, config.crop_size, config.crop_size))
            rows.append((f"{preset} ({config.crop_size}x{config.crop_size} crop)", variant, params, flops))
    # The lite network's cost on a 256 crop, for comparison with the paper at the same input.
    config = hand_config("lite", crop_size=256)
    params, flops = count_flops(build_hand_net(config), (1, 3, 256, 256))
    rows.append(("lite (256x256 crop)", "full", params, flops))
    return rows


def localizer_rows() -> list[tuple[str, str, int, int]]:
    rows = []
    for preset in ("lite", "wide", "paper"):
        model = build_localizer(preset)
        for label, (width, height) in LOCALIZER_INPUTS.items():
            params, flops = count_flops(model, (1, 3, height, width))
            rows.append((f"localizer {preset}", label, params, flops))
    return rows


def print_table(rows: list[tuple[str, str, int, int]]) -> None:
    print("| network | variant / input | params (M) | GFLOP |")
    print("|---|---|---:|---:|")
    for network, variant, params, flops in rows:
        print(f"| {network} | {variant} | {params / 1e6:.3f} | {flops / 1e9:.3f} |")


def time_ort(model: torch.nn.Module, shape: tuple[int, ...], runs: int = 30) -> tuple[float, float]:
    """(median, min) ms of one onnxruntime CPU run of `model` exported at `shape` (legacy exporter: fast).

    The min is reported too because this 2-core machine is shared: other jobs inflate the median.
    """
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        torch.onnx.export(model.eval(), (torch.zeros(*shape),), path, dynamo=False, opset_version=18,
                          input_names=["input"])
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {"input": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    for _ in range(5):  # warm-up: ORT allocates and picks kernels on the first runs
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(np.min(times))


def print_ort_timings() -> None:
    lite = hand_config("lite")
    cases = [("hand lite, batch 1", build_hand_net(lite), (1, 3, lite.crop_size, lite.crop_size)),
             ("localizer lite, 384x384", build_localizer("lite"), (1, 3, 384, 384))]
    print(f"\n| network (onnxruntime {ort_version()} CPU, {os.cpu_count()} cores) | ms median | ms min | GFLOP "
          f"| GFLOP/s at min |")
    print("|---|---:|---:|---:|---:|")
    for label, model, shape in cases:
        _, flops = count_flops(model, shape)
        median_ms, min_ms = time_ort(model, shape)
        print(f"| {label} | {median_ms:.2f} | {min_ms:.2f} | {flops / 1e9:.3f} | {flops / 1e6 / min_ms:.0f} |")


def ort_version() -> str:
    import onnxruntime as ort

    return ort.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ort", action="store_true", help="also time the lite networks in onnxruntime (CPU)")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print_table(hand_rows() + localizer_rows())
    if args.ort:
        print_ort_timings()


if __name__ == "__main__":
    main()
