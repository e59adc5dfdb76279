"""How the two stages scale: stage II time against the number of hands (one batched call vs one call per
hand) and stage I time against frame pixels (the paper: "stage I time grows with frame resolution, stage
II time grows with the number of hands").

    python benchmarks/scaling.py                                   # ONNX Runtime CPU, shipped models
    python benchmarks/scaling.py --quick --allow-untrained --out /tmp/scaling
    python benchmarks/scaling.py --backend tensorrt --precision fp16 --hands 1 2 4 8 16

Stage II: the hand network alone (detector.detect_crops) on N crops of a generated 1280x720 frame with
16 synthetic hands, batched (one call, B = N) and looped (N calls, B = 1).
Stage I: detector.localize (letterbox + network + box decoding) on generated frames from 320x240 to
1920x1080, twice: at the default input (detector.auto_long_side: the model's long side 384 up to 640 px
frames, 640 above: the input grows with the frame only once) and at the
frame's own size (long side = the frame's, rounded up to 32, at most 1280: the
paper's CPM ran on the whole frame).

Writes scaling.json, scaling.md, scaling_stage2.png and scaling_stage1.png into --out.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

FRAME_SIZES = ((320, 240), (320, 320), (368, 368), (640, 480), (720, 576), (960, 540), (1280, 720),
               (1920, 1080))
HANDS = (1, 2, 3, 4, 6, 8, 12, 16)
MAX_NATIVE_SIDE = 1280     # the exported localizer's dynamic range ends here


def stage2_scaling(detector, hands_list, warmup: int, iters: int) -> list[dict]:
    """Median/p95 ms of the hand network on N crops: one batched call vs N single-crop calls."""
    from handjoints_trt.preprocess import crop_hands

    image, boxes = C.synthetic_frame(1280, 720, max(hands_list), seed=1)
    crops, _ = crop_hands(image, boxes, detector.crop_size)
    rows = []
    for n in hands_list:
        batch = crops[:n]
        batched = C.stats(C.time_calls(lambda: detector.detect_crops(batch), warmup, iters))
        looped = C.stats(C.time_calls(lambda: [detector.detect_crops(batch[i:i + 1]) for i in range(n)],
                                      warmup, iters))
        rows.append({"hands": n, "batched": batched, "per_hand_calls": looped,
                     "batched_ms_per_hand": batched["median"] / n,
                     "batch_gain": looped["median"] / batched["median"]})
        print(f"  stage II, {n:2d} hands: batched {batched['median']:7.1f} ms, per-hand calls "
              f"{looped['median']:7.1f} ms", flush=True)
    return rows


def native_long_side(w: int, h: int) -> int:
    return min(MAX_NATIVE_SIDE, int(math.ceil(max(w, h) / 32)) * 32)


def stage1_scaling(detector, sizes, warmup: int, iters: int) -> list[dict]:
    """Median/p95 ms of detector.localize per frame size, at the default input and at the native one."""
    rows = []
    default = detector.options.localizer_size
    try:
        for w, h in sizes:
            image, _ = C.synthetic_frame(w, h, 1, seed=2)
            row = {"frame": [w, h], "megapixels": w * h / 1e6}
            for series, size in (("default_input", default), ("native_input", native_long_side(w, h))):
                detector.options.localizer_size = size   # localizer_input_size reads the live option
                row[series] = C.stats(C.time_calls(lambda: detector.localize(image), warmup, iters))
                row[series + "_size"] = list(detector.localizer_input_size((w, h)))
            rows.append(row)
            print(f"  stage I, {w}x{h}: default input {row['default_input_size']} "
                  f"{row['default_input']['median']:7.1f} ms; native {row['native_input_size']} "
                  f"{row['native_input']['median']:7.1f} ms", flush=True)
    finally:
        detector.options.localizer_size = default
    return rows


# ------------------------------------------------------------------------------------------- plots
def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display needed
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def plot_stage2(rows: list[dict], path: Path, title: str) -> Path:
    fig, ax = _figure()
    n = [r["hands"] for r in rows]
    for key, label in (("batched", "one batched call"), ("per_hand_calls", "one call per hand")):
        med = [r[key]["median"] for r in rows]
        p95 = [r[key]["p95"] for r in rows]
        ax.plot(n, med, marker="o", label=f"{label} (median)")
        ax.fill_between(n, med, p95, alpha=0.15)
    return _finish(fig, ax, "hands in the frame (N)", "stage II time (ms)", title, path)


def plot_stage1(rows: list[dict], path: Path, title: str) -> Path:
    fig, ax = _figure()
    mp = [r["megapixels"] for r in rows]
    for key, label in (("default_input", "default localizer input"), ("native_input", "input = frame size")):
        ax.plot(mp, [r[key]["median"] for r in rows], marker="o", label=label)
    for r in rows:
        ax.annotate(f"{r['frame'][0]}x{r['frame'][1]}", (r["megapixels"], r["native_input"]["median"]),
                    fontsize=6, xytext=(3, 3), textcoords="offset points")
    return _finish(fig, ax, "frame size (megapixels)", "stage I time (ms, median)", title, path)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """Labels, grid and legend shared by both plots; writes the PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def report_markdown(report: dict) -> str:
    s = report["settings"]
    st2 = C.markdown_table(
        ["hands", "batched (ms) median / p95", "per-hand calls (ms) median / p95", "batched ms per hand",
         "per-hand / batched"],
        [[r["hands"], f"{r['batched']['median']:.1f} / {r['batched']['p95']:.1f}",
          f"{r['per_hand_calls']['median']:.1f} / {r['per_hand_calls']['p95']:.1f}", r["batched_ms_per_hand"],
          f"{r['batch_gain']:.2f}x"] for r in report["stage2"]])
    st1 = C.markdown_table(
        ["frame", "MP", "default input", "ms median / p95", "native input", "ms median / p95"],
        [[f"{r['frame'][0]}x{r['frame'][1]}", f"{r['megapixels']:.2f}",
          "x".join(map(str, r["default_input_size"])),
          f"{r['default_input']['median']:.1f} / {r['default_input']['p95']:.1f}",
          "x".join(map(str, r["native_input_size"])),
          f"{r['native_input']['median']:.1f} / {r['native_input']['p95']:.1f}"] for r in report["stage1"]])
    notes = "".join(f"- note: {n}\n" for n in report["notes"])
    return (f"# Stage scaling (benchmarks/scaling.py)\n\n`{s['command']}`\n\n{C.machine_markdown(report['machine'])}"
            f"- backend {s['backend']} {s['precision']}; {s['iters']} timed iterations after {s['warmup']} "
            f"warm-up\n{notes}\n## Stage II against hands (scaling_stage2.png)\n\n{st2}\n"
            f"## Stage I against frame pixels (scaling_stage1.png)\n\n{st1}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke test: 3 hand counts, 3 frame sizes, few iterations")
    p.add_argument("--backend", default="onnxruntime", choices=("onnxruntime", "torch", "tensorrt"))
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "int8"))
    p.add_argument("--hands", type=int, nargs="+", default=list(HANDS))
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    C.add_model_args(p)
    args = p.parse_args(argv)
    args.sizes = list(FRAME_SIZES)
    if args.quick:
        args.hands, args.sizes = [1, 2, 4], [(320, 240), (640, 480), (1280, 720)]
        args.iters, args.warmup = min(args.iters, 3), min(args.warmup, 1)
    if any(n < 1 or n > 16 for n in args.hands):
        p.error("--hands must be in 1..16")
    return args


def main(argv=None) -> dict:
    from handjoints_trt import HandJointDetector

    args = parse_args(argv)
    out = Path(args.out)
    models = C.resolve_models("int8" if args.precision == "int8" else "fp32", args.allow_untrained,
                              args.localizer_model, args.hand_model)
    report = {"machine": C.machine_info(), "notes": [], "settings": {
        "command": "python benchmarks/scaling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "backend": args.backend, "precision": args.precision, "iters": args.iters, "warmup": args.warmup,
        "models": {k: str(models[k]) for k in ("localizer", "hand")}, "models_source": models["source"]}}
    if models["untrained"]:
        report["notes"].append("untrained lite models: timing does not depend on the weights")
    with HandJointDetector(backend=args.backend, precision=args.precision, localizer_model=models["localizer"],
                           hand_model=models["hand"], threads=args.threads, max_hands=16) as detector:
        report["stage2"] = stage2_scaling(detector, sorted(args.hands), args.warmup, args.iters)
        report["stage1"] = stage1_scaling(detector, args.sizes, args.warmup, args.iters)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{args.backend} {args.precision}, {report['machine']['cpu']}"
    plot_stage2(report["stage2"], out / "scaling_stage2.png", "Stage II vs hands: " + title)
    plot_stage1(report["stage1"], out / "scaling_stage1.png", "Stage I vs frame size: " + title)
    C.write_json(out / "scaling.json", report)
    C.write_text(out / "scaling.md", report_markdown(report))
    print("\n" + report_markdown(report))
    print(f"wrote {out}/scaling.json, scaling.md, scaling_stage2.png, scaling_stage1.png")
    return report


if __name__ == "__main__":
    C.run_script(main)
