"""The paper's Table VI on this machine: stage I, stage II and whole-frame time and FPS per frame size, for
every backend and precision present, beside the paper's RTX 2080 figures; plus throughput modes.

    python benchmarks/fps.py                          # embedded default: ONNX Runtime CPU, shipped models
    python benchmarks/fps.py --quick --allow-untrained --out /tmp/fps     # smoke test, under a minute
    python benchmarks/fps.py --hands 1 2 4 8 16 --iters 200 --backends onnxruntime:fp32 tensorrt:fp16

Frames are generated (SyntheticHands) at 320x320, 368x368, 1280x720, 720x576 and 960x540 (the paper's
RHD, HS, MPII, NZSL and DCD8-6000 sizes), holding N synthetic hands. One timed iteration is the whole
per-frame work, each stage timed on its own:
  stage I  = localizer (letterbox + network + box decoding) + crop of the N hands (one affine warp each);
  stage II = the hand network (SSHFR + MSFF 1-3) on the N crops in ONE batched call, through
             detector.estimate: with DetectorOptions.any_angle (the default since session 22) also the
             direction network and the second readings of unsure hands (their crops and decoding included);
  decode   = heatmaps -> joints in frame pixels and confidences;
  total    = the whole call; FPS = 1000 / median total;
  stage-II crops = the crops the hand networks read per frame: N, more where any_angle reads an unsure hand again
             (up to five readings a hand; generated cartoon hands often are, real ones seldom: RESULTS.md section 3).
Stage II runs on the N ground-truth boxes of the generated frame, not on what the localizer found, so the
hand count is exact whatever the weights (untrained models find nothing, or rubbish). GPU backends
synchronise before infer returns (TensorRT synchronises its stream; PyTorch's outputs are copied to NumPy,
which waits for the device), so wall-clock times include the GPU work.

Throughput modes (a short panning "video" of one generated frame: the first seed from --seed, up to
STREAM_SEED_TRIES, whose hands detect() finds and track() follows): plain detect() per frame; streaming with
tracking (detector.track: stage I only when tracking needs it); pipelined, where stage I of frame t+1 runs
in a second thread while stage II of frame t runs (each stage has its own backend session; ONNX Runtime,
PyTorch and TensorRT release the GIL while they run).

Writes fps.json and fps.md into --out (default benchmarks/results/). Median and p95 are reported: the
machine may be shared, so compare figures of one run (ratios), not across runs.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

# The paper's Table VI (RTX 2080 + i7-9700, PyTorch, one hand): dataset, frame (w, h), stage I, MSFF1-3, FPS.
PAPER_TABLE_VI = [
    ("RHD", (320, 320), 17, 10, 37),
    ("HS", (368, 368), 19, 10, 34),
    ("MPII", (1280, 720), 31, 11, 24),
    ("NZSL", (720, 576), 25, 11, 28),
    ("DCD8-6000", (960, 540), 28, 10, 26),
]
PAPER_AVERAGE = (24, 10.4, 29.8)
ALL_BACKENDS = ("onnxruntime:fp32", "onnxruntime:int8", "torch:fp32", "tensorrt:fp16", "tensorrt:int8")
UNTRAINED_NOTE = ("models are UNTRAINED lite exports: timing does not depend on the weights, but the "
                  "localizer finds no hands at the default threshold, so box_threshold and lost_confidence "
                  "are set to 0 for the throughput modes (every frame then has max_hands = N candidate boxes)")


# ------------------------------------------------------------------------------------------- backends
def backend_plan(requested: list[str] | None, args) -> list[dict]:
    """Each backend:precision to run, with its models, or with 'skip' saying why it cannot run here."""
    from handjoints_trt.backends.base import tensorrt_available

    plan = []
    for spec in requested or ALL_BACKENDS:
        kind, _, precision = spec.partition(":")
        entry = {"name": spec, "backend": kind, "precision": precision or "fp32"}
        try:
            entry["models"] = _models_for(entry, args)
        except SystemExit as exc:  # C.ModelsMissing: keep the message as the reason
            entry["skip"] = str(exc).splitlines()[0]
            plan.append(entry)
            continue
        if kind == "tensorrt" and not tensorrt_available():
            entry["skip"] = "TensorRT needs an NVIDIA GPU and the tensorrt module (tensorrt_available() is False)"
        elif kind == "torch" and importlib.util.find_spec("torch") is None:
            entry["skip"] = "torch is not installed (pip install 'handjoints_trt[train]')"
        elif kind == "torch" and not C.sibling_checkpoints(entry["models"]):
            entry["skip"] = ("the PyTorch backend needs trainer checkpoints beside the ONNX files "
                             "(localizer.pt, hand.pt); none are there")
        plan.append(entry)
    return plan


def _models_for(entry: dict, args) -> dict:
    # fp16 is a TensorRT build flag on the fp32 files; int8 needs the Q/DQ files.
    precision = "int8" if entry["precision"] == "int8" else "fp32"
    given = (args.localizer_model, args.hand_model) if precision == "fp32" else (None, None)
    return C.resolve_models(precision, args.allow_untrained, *given)


def make_detector(entry: dict, args, max_hands: int):
    from handjoints_trt import HandJointDetector

    models = entry["models"]
    lenient = models["untrained"]   # see UNTRAINED_NOTE
    return HandJointDetector(backend=entry["backend"], precision=entry["precision"],
                             localizer_model=models["localizer"], hand_model=models["hand"],
                             threads=args.threads, max_hands=max_hands, device="auto",
                             box_threshold=0.0 if lenient else 0.4, lost_confidence=0.0 if lenient else 0.3,
                             **({"hand_threshold": 0.0} if lenient else {}),
                             **({} if args.any_angle is None else {"any_angle": args.any_angle}))


# ------------------------------------------------------------------------------------------- table VI
def time_frame(detector, image: np.ndarray, boxes: np.ndarray, warmup: int, iters: int) -> dict:
    """Per-stage times (ms samples -> stats) of ``iters`` whole-frame iterations on one frame: stage I
    (detector.localize), then stage II on the frame's ``boxes`` through detector.estimate, the runtime's own path
    (with any_angle, the default: the direction network, the aligned network and its second readings, all counted
    as stage II; the crops and the decoding from its last_timings)."""
    names = ("localizer", "crop", "stage1", "stage2", "decode", "total")
    samples = {n: [] for n in names}
    found, crops = [], []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        found_boxes, _ = detector.localize(image)
        t1 = time.perf_counter()
        before = detector.crops_read
        detector.estimate(image, boxes)
        t2 = time.perf_counter()
        if i < warmup:
            continue
        crops.append(detector.crops_read - before)
        timing = detector.last_timings
        stage2 = timing["orientation"] + timing["hands"]
        for name, value in zip(names, ((t1 - t0) * 1e3, timing["crop"], (t1 - t0) * 1e3 + timing["crop"], stage2,
                                       timing["decode"], (t2 - t0) * 1e3)):
            samples[name].append(value)
        found.append(len(found_boxes))
    out = {n: C.stats(s) for n, s in samples.items()}
    out["fps"] = C.fps(out["total"]["median"])
    out["localizer_found_mean"] = float(np.mean(found)) if found else 0.0
    out["crops_mean"] = float(np.mean(crops)) if crops else 0.0
    return out


def run_table(detector, resolutions, hands_list, args, frames: dict) -> list[dict]:
    rows = []
    for name, (w, h), *_ in resolutions:
        for n in hands_list:
            image, boxes = frames[(w, h, n)]
            result = time_frame(detector, image, boxes, args.warmup, args.iters)
            rows.append({"dataset": name, "frame": [w, h], "hands": n,
                         "localizer_input": list(detector.localizer_input_size((w, h))), **result})
            print(f"  {name:10s} {w}x{h} hands={n:2d}: stage I {result['stage1']['median']:6.1f} ms, "
                  f"stage II {result['stage2']['median']:6.1f} ms ({result['crops_mean']:.1f} crops), "
                  f"total {result['total']['median']:6.1f} ms "
                  f"-> {result['fps']:6.1f} FPS", flush=True)
    return rows


# ------------------------------------------------------------------------------------------- throughput
def plain_mode(detector, frames) -> list[int]:
    return [len(detector.detect(f)) for f in frames]


def tracking_mode(detector, frames) -> tuple[list[int], int]:
    detector.reset_tracking()
    counts, localizer_runs = [], 0
    for f in frames:
        counts.append(len(detector.track(f)))
        localizer_runs += int(detector._tracker.last_ran_localizer)
    return counts, localizer_runs


def pipelined_mode(detector, frames) -> list[int]:
    """Stage I of frame t+1 in a worker thread while this thread runs stage II of frame t."""
    counts = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(detector.localize, frames[0])
        for i, frame in enumerate(frames):
            boxes, scores = pending.result()
            if i + 1 < len(frames):
                pending = pool.submit(detector.localize, frames[i + 1])
            counts.append(len(detector.estimate(frame, boxes, scores)))
    return counts


# The throughput modes time the work of the hands a frame holds, but a generated hand that stage I misses leaves
# detect() with stage I alone and track() with no hand to follow (640x480's seed-0 hand with the shipped models), and
# one that track() keeps losing sends it back to stage I on every frame (960x540's seed 0). So the stream takes the
# first of STREAM_SEED_TRIES seeds whose hands detect() finds and track() follows over the pan's first frames.
STREAM_SEED_TRIES = 20
PAN_FARTHEST = 10     # C.shifted_sequence's frame of largest shift


def _holds_hands(detector, image: np.ndarray, hands: int) -> int:
    """How many of the frame's hands detect() finds, or 0 when track() does not follow that many over the pan's
    first PAN_FARTHEST + 1 frames with stage I on the first frame only (options.max_hands = hands, as run_backend
    sets it: with room for more hands track() would look for them)."""
    found = len(detector.detect(image))
    counts, runs = tracking_mode(detector, C.shifted_sequence(image, PAN_FARTHEST + 1))   # starts from a reset
    return found if min(counts) >= hands and runs == 1 else 0


def stream_frame(detector, width: int, height: int, hands: int, seed: int,
                 tries: int = STREAM_SEED_TRIES) -> tuple[np.ndarray, int, int]:
    """A generated (height, width) frame of ``hands`` hands for the throughput modes, its seed and the hands found
    and followed on it (_holds_hands): the first of seeds seed..seed+tries-1 where all are, else seed's frame."""
    first = None
    for s in range(seed, seed + max(1, tries)):
        image = C.synthetic_frame(width, height, hands, s)[0]
        found = _holds_hands(detector, image, hands)
        if found >= hands:
            return image, s, found
        if first is None:
            first = (image, s, found)
    return first


def run_throughput(detector, image: np.ndarray, count: int, warmup: int) -> dict:
    """FPS of the three modes over the same ``count`` frames (wall time over the whole sequence)."""
    frames = C.shifted_sequence(image, count)
    result = {}
    for mode in ("detect", "track", "pipelined"):
        fn = {"detect": plain_mode, "track": lambda d, f: tracking_mode(d, f)[0], "pipelined": pipelined_mode}[mode]
        fn(detector, frames[:warmup] or frames[:1])
        t0 = time.perf_counter()
        if mode == "track":
            counts, runs = tracking_mode(detector, frames)
        else:
            counts, runs = fn(detector, frames), count
        wall = time.perf_counter() - t0
        result[mode] = {"fps": count / wall, "ms_per_frame": wall * 1e3 / count, "frames": count,
                        "hands_mean": float(np.mean(counts)), "stage1_frames": runs}
    base = result["detect"]["fps"]
    for mode in result:
        result[mode]["speedup_vs_detect"] = result[mode]["fps"] / base
    return result


# ------------------------------------------------------------------------------------------- output
def paper_row(w: int, h: int):
    for name, size, s1, s2, f in PAPER_TABLE_VI:
        if size == (w, h):
            return s1, s2, f
    return None, None, None


def table_markdown(rows: list[dict]) -> str:
    """Table VI layout, ours (median ms) beside the paper's RTX 2080 (PyTorch) figures."""
    header = ["dataset", "frame", "hands", "stage I (ms)", "(localizer + crop)", "MSFF 1-3 (ms)", "stage-II crops",
              "decode (ms)", "total (ms) median / p95", "FPS", "paper stage I", "paper MSFF 1-3", "paper FPS"]
    body = []
    for r in rows:
        w, h = r["frame"]
        p1, p2, pf = paper_row(w, h) if r["hands"] == 1 else (None, None, None)
        body.append([r["dataset"], f"{w}x{h}", r["hands"], r["stage1"]["median"],
                     f"{r['localizer']['median']:.1f} + {r['crop']['median']:.1f}", r["stage2"]["median"],
                     f"{r.get('crops_mean', float('nan')):.1f}",
                     r["decode"]["median"], f"{r['total']['median']:.1f} / {r['total']['p95']:.1f}", r["fps"],
                     p1, p2, pf])
    one = [r for r in rows if r["hands"] == 1]
    if one:
        body.append(["average", "", 1, float(np.mean([r["stage1"]["median"] for r in one])), "",
                     float(np.mean([r["stage2"]["median"] for r in one])), "",
                     float(np.mean([r["decode"]["median"] for r in one])), "",
                     float(np.mean([r["fps"] for r in one])), *PAPER_AVERAGE])
    return C.markdown_table(header, body)


def throughput_markdown(rows: list[dict]) -> str:
    header = ["frame", "hands", "detect FPS", "track FPS (x)", "stage I frames (track)", "pipelined FPS (x)",
              "hands/frame (detect)", "frame seed"]
    body = []
    for r in rows:
        t = r["modes"]
        body.append([f"{r['frame'][0]}x{r['frame'][1]}", r["hands"], t["detect"]["fps"],
                     f"{t['track']['fps']:.1f} ({t['track']['speedup_vs_detect']:.2f}x)",
                     f"{t['track']['stage1_frames']}/{t['track']['frames']}",
                     f"{t['pipelined']['fps']:.1f} ({t['pipelined']['speedup_vs_detect']:.2f}x)",
                     f"{t['detect']['hands_mean']:.1f}", str(r.get("seed", "-"))])
    return C.markdown_table(header, body)


def summary_markdown(results: list[dict]) -> str:
    """Average one-hand FPS per backend and its ratio to the first backend measured in this run."""
    ran = [r for r in results if "table" in r]
    if not ran:
        return ""
    def avg(r):
        one = [row["fps"] for row in r["table"] if row["hands"] == 1] or [row["fps"] for row in r["table"]]
        return float(np.mean(one))
    base = avg(ran[0])
    return C.markdown_table(["backend", "mean FPS (5 frame sizes)", f"vs {ran[0]['name']}"],
                            [[r["name"], avg(r), f"{avg(r) / base:.2f}x"] for r in ran])


def report_markdown(report: dict) -> str:
    s = report["settings"]
    parts = [f"# Table VI on this machine (benchmarks/fps.py)\n\n`{s['command']}`\n\n",
             C.machine_markdown(report["machine"]),
             f"- iterations {s['iters']} timed after {s['warmup']} warm-up; median (and p95) in ms\n"]
    parts += [f"- note: {n}\n" for n in report["notes"]]
    summary = summary_markdown(report["backends"])
    if summary:
        parts.append("\n## Backends\n\n" + summary)
    for r in report["backends"]:
        parts.append(f"\n## {r['name']}\n\n")
        if "skip" in r:
            parts.append(f"skipped: {r['skip']}\n")
            continue
        parts.append(f"models: {r['models_source']} ({r['localizer']}, {r['hand']})\n\n")
        parts.append(r["table_markdown"])
        if r.get("throughput"):
            parts.append("\nThroughput over a panning sequence (x = FPS ratio to plain detect in this run):\n\n")
            parts.append(throughput_markdown(r["throughput"]))
    return "".join(parts)


# ------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test: few iterations, one backend, one "
                   "throughput size (under a minute)")
    p.add_argument("--iters", type=int, default=100, help="timed iterations per frame size (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="untimed warm-up iterations (default 10)")
    p.add_argument("--hands", type=int, nargs="+", default=[1], help="hands per frame, e.g. 1 2 4 8 16")
    p.add_argument("--backends", nargs="+", choices=ALL_BACKENDS, help="backend:precision list (default: "
                   "all; those that cannot run here are listed as skipped)")
    p.add_argument("--stream-frames", type=int, default=100, help="frames per throughput mode (0 = skip)")
    p.add_argument("--any-angle", action=argparse.BooleanOptionalAction, default=None,
                   help="DetectorOptions.any_angle on or off (default: the options' default, on with the shipped "
                        "hand network)")
    p.add_argument("--stream-sizes", nargs="+", default=None,
                   help="frame sizes WxH for the throughput modes (default: all five)")
    p.add_argument("--seed", type=int, default=0)
    C.add_model_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.iters, args.warmup = min(args.iters, 5), min(args.warmup, 2)
        args.backends = args.backends[:1] if args.backends else ["onnxruntime:fp32"]
        args.stream_frames = min(args.stream_frames, 10)
        args.stream_sizes = args.stream_sizes or ["320x320"]
    if any(n < 1 or n > 16 for n in args.hands):
        p.error("--hands must be in 1..16")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    report = {"machine": C.machine_info(), "notes": [], "backends": [], "paper_table_vi": [
        {"dataset": n, "frame": list(s), "stage1_ms": a, "msff_ms": b, "fps": f} for n, s, a, b, f in PAPER_TABLE_VI],
        "settings": {"command": "python benchmarks/fps.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                     "iters": args.iters, "warmup": args.warmup, "hands": args.hands, "quick": args.quick,
                     "stream_frames": args.stream_frames, "threads": args.threads}}
    plan = backend_plan(args.backends, args)
    if all("skip" in e for e in plan):
        raise C.ModelsMissing(plan[0]["skip"] + "\n" + str(_explain_missing(args)))
    stream_sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (args.stream_sizes or
                    [f"{w}x{h}" for _, (w, h), *_ in PAPER_TABLE_VI])]
    # Frames are generated once and shared by every backend, so all see the same pixels.
    frames = {(w, h, n): C.synthetic_frame(w, h, n, args.seed) for _, (w, h), *_ in PAPER_TABLE_VI
              for n in args.hands}
    for entry in plan:
        report["backends"].append(run_backend(entry, args, frames, stream_sizes))
    if any(e.get("models", {}).get("untrained") for e in plan):
        report["notes"].append(UNTRAINED_NOTE)
    C.write_json(out / "fps.json", report)
    C.write_text(out / "fps.md", report_markdown(report))
    print("\n" + report_markdown(report))
    print(f"wrote {out / 'fps.json'} and {out / 'fps.md'}")
    return report


def _explain_missing(args):
    try:
        C.resolve_models("fp32", args.allow_untrained, args.localizer_model, args.hand_model)
    except SystemExit as exc:
        return exc
    return ""


def run_backend(entry: dict, args, frames: dict, stream_sizes) -> dict:
    result = {k: entry[k] for k in ("name", "backend", "precision")}
    if "skip" in entry:
        print(f"{entry['name']}: skipped ({entry['skip']})")
        return {**result, "skip": entry["skip"]}
    models = entry["models"]
    result.update(models_source=models["source"], localizer=str(models["localizer"]), hand=str(models["hand"]),
                  untrained=models["untrained"])
    print(f"{entry['name']}: {models['source']}", flush=True)
    try:
        detector = make_detector(entry, args, max(args.hands))
    except Exception as exc:   # a backend that fails to start must not lose the others' figures
        print(f"  skipped: {exc}")
        return {**result, "skip": f"failed to start: {exc}"}
    with detector:
        result["table"] = run_table(detector, PAPER_TABLE_VI, args.hands, args, frames)
        result["table_markdown"] = table_markdown(result["table"])
        result["throughput"] = []
        for w, h in stream_sizes if args.stream_frames > 0 else []:
            for n in args.hands:
                detector.options.max_hands = n   # the tracker and localizer read the live options
                tries = 1 if models["untrained"] else STREAM_SEED_TRIES   # an untrained stage I finds nothing
                image, seed, _found = stream_frame(detector, w, h, n, args.seed, tries)
                modes = run_throughput(detector, image, args.stream_frames, min(args.warmup, 5))
                result["throughput"].append({"frame": [w, h], "hands": n, "seed": seed, "modes": modes})
                print(f"  stream {w}x{h} hands={n}: " + ", ".join(f"{m} {v['fps']:.1f} FPS" for m, v in
                                                                   modes.items()), flush=True)
    return result


if __name__ == "__main__":
    C.run_script(main)
