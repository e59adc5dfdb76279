"""Shared helpers of the benchmark scripts (fps.py, scaling.py, pck.py): the machine, timing statistics,
the models to run, generated frames, and the JSON / Markdown writers.

Not a benchmark itself. The scripts import it as ``_common`` (they put their own folder on sys.path), so
they run from any working directory: ``python benchmarks/fps.py``.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results"
LIBRARIES = ("handjoints_trt", "numpy", "opencv-python", "opencv-python-headless", "onnxruntime",
             "onnxruntime-gpu", "onnx", "torch", "tensorrt", "matplotlib")

if str(REPO) not in sys.path:          # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))


# ------------------------------------------------------------------------------------------------ machine
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[dict]:
    """[{name, driver, memory}] from nvidia-smi; [] without an NVIDIA GPU (or without the tool)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    rows = [[c.strip() for c in line.split(",")] for line in out.stdout.strip().splitlines() if line.strip()]
    return [{"name": r[0], "driver": r[1] if len(r) > 1 else "", "memory": r[2] if len(r) > 2 else ""}
            for r in rows]


def _versions() -> dict[str, str]:
    """Installed versions (read from the package metadata: nothing heavy such as torch is imported)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    try:
        import cv2

        found["cv2"] = cv2.__version__
    except ImportError:
        pass
    return found


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict:
    """CPU model, cores, load, GPUs with driver, library versions, commit and date: what a figure needs
    to be read (and redone) later."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "load_avg_1_5_15": [round(v, 2) for v in load],
            "platform": platform.platform(), "python": platform.python_version(), "gpus": _gpus(),
            "libraries": _versions(), "commit": _git_commit(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def machine_markdown(info: dict) -> str:
    """The machine as a few Markdown bullet lines."""
    gpus = "; ".join(f"{g['name']} (driver {g['driver']}, {g['memory']})" for g in info["gpus"]) or "none"
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items())
    return (f"- date: {info['date']}, commit {info['commit'] or '?'}\n"
            f"- CPU: {info['cpu']}, {info['cores']} cores (load average at start "
            f"{'/'.join(str(v) for v in info['load_avg_1_5_15'])})\n"
            f"- GPU: {gpus}\n- Python {info['python']}; {libs}\n")


# ------------------------------------------------------------------------------------------------ timing
def stats(samples_ms: Sequence[float]) -> dict:
    """median, p95, mean, min (ms) and n of timing samples; the median is the figure we report because
    the machine is shared (outliers come from the neighbours, not from us)."""
    a = np.asarray(samples_ms, np.float64)
    if a.size == 0:
        return {"median": None, "p95": None, "mean": None, "min": None, "n": 0}
    return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean()),
            "min": float(a.min()), "n": int(a.size)}


def time_calls(fn: Callable[[], object], warmup: int, iters: int) -> list[float]:
    """Milliseconds of each of ``iters`` calls of fn(), after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def fps(ms: float | None) -> float | None:
    """Frames per second of a per-frame time in ms."""
    return None if not ms else 1000.0 / ms


# ------------------------------------------------------------------------------------------------ models
def untrained_dir() -> Path:
    """Where --allow-untrained exports the lite models once ($HANDJOINTS_BENCH_CACHE, else
    ~/.cache/handjoints_trt/untrained_lite); never handjoints_trt/weights: they must not pass for the
    shipped ones."""
    default = Path.home() / ".cache" / "handjoints_trt" / "untrained_lite"
    return Path(os.environ.get("HANDJOINTS_BENCH_CACHE", default))


class ModelsMissing(SystemExit):
    """The shipped models are absent and --allow-untrained was not given: the message says what to do."""


def run_script(main) -> None:
    """A benchmark script's entry point: missing models end it with the fix on stderr and exit status 2."""
    try:
        main()
    except ModelsMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def export_untrained_lite(folder: Path | None = None) -> dict[str, Path]:
    """Untrained 'lite' networks of both stages exported to ONNX once per folder, with their trainer-format
    checkpoints beside them (hand.pt + hand.onnx), so the PyTorch backend runs the same weights.
    Timing does not depend on the weights; accuracy does (it is meaningless with these)."""
    from handjoints_trt.export.onnx_export import export_untrained_lite as export

    paths = export(folder if folder is not None else untrained_dir())
    return {k: v for k, v in paths.items() if not k.endswith("_pt")}


def resolve_models(precision: str = "fp32", allow_untrained: bool = False, localizer: str | None = None,
                   hand: str | None = None) -> dict:
    """The two model files to benchmark: each given path, the shipped file for the other (one given model, e.g. a
    candidate hand network beside the shipped localizer), else (with allow_untrained) untrained exported lite
    models. Returns {'localizer', 'hand', 'untrained': bool, 'source': str}.
    Raises ModelsMissing (a SystemExit with the fix) when nothing usable is there."""
    from handjoints_trt.models_registry import WEIGHTS_DIR, model_filename, shipped_models_present

    if localizer and hand:
        return {"localizer": Path(localizer), "hand": Path(hand), "untrained": False, "source": "given"}
    given = {k: Path(v) for k, v in (("localizer", localizer), ("hand", hand)) if v}
    if shipped_models_present(precision):
        shipped = {stage: WEIGHTS_DIR / model_filename(stage, precision) for stage in ("localizer", "hand")}
        return {**shipped, **given, "untrained": False, "source": f"given {list(given)[0]}, shipped other"
                if given else "shipped"}
    if allow_untrained and precision in ("fp32", "fp16"):
        paths = export_untrained_lite()
        return {**paths, **given, "untrained": True,
                "source": f"untrained lite export ({untrained_dir()})" + (f", given {list(given)[0]}" if given else "")}
    raise ModelsMissing(
        f"the shipped {precision} models are missing from {WEIGHTS_DIR} "
        f"({model_filename('localizer', precision)}, {model_filename('hand', precision)}).\n"
        f"  Get them: train and export (`handjoints train hand --out runs/hand`, then `handjoints export "
        f"runs/hand/best.pt --out {WEIGHTS_DIR / 'hand.onnx'}`; the same for the localizer), or pass "
        f"--localizer-model / --hand-model.\n  For timing only, --allow-untrained exports untrained lite models "
        f"(timing does not depend on the weights).")


def sibling_checkpoints(models: dict) -> bool:
    """True when both ONNX files have the trainer checkpoint the PyTorch backend needs (hand.onnx + hand.pt)."""
    return all(Path(models[k]).with_suffix(".pt").is_file() or Path(models[k]).with_suffix(".pth").is_file()
               for k in ("localizer", "hand"))


# ------------------------------------------------------------------------------------------------ frames
def synthetic_frame(width: int, height: int, hands: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A generated (height, width) BGR frame holding exactly ``hands`` synthetic hands, and their boxes
    (hands, 4) float64 frame pixels (the box of all 21 projected joints, so every hand has a real box even
    when joints are hidden)."""
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

    weights = tuple(1.0 if n == hands else 0.0 for n in range(hands + 1))
    short = min(width, height)
    # Smaller hands when many must share the frame; never below the generator's minimum.
    top = max(0.25, min(0.8, 1.6 / np.sqrt(hands)))
    config = SynthConfig(width=width, height=height, max_hands=hands, hand_count_weights=weights,
                         min_hand_px=min(max(24.0, 0.15 * short), top * short), max_hand_frac=top)
    sample, points = SyntheticHands(config, seed=seed).frame_with_points(0)
    boxes = np.array([[*p.min(axis=0), *p.max(axis=0)] for p in points], np.float64).reshape(-1, 4)
    return sample.image, boxes


def shifted_sequence(frame: np.ndarray, count: int, step: float = 2.0) -> list[np.ndarray]:
    """``count`` frames of a small back-and-forth pan over ``frame``: a cheap 'video' whose hands move a
    few pixels per frame, as in a real stream, so tracking has something to follow."""
    import cv2

    h, w = frame.shape[:2]
    out = []
    for i in range(count):
        phase = i % 20
        dx = step * (phase if phase < 10 else 20 - phase)
        m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dx / 2]], np.float32)
        out.append(cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    return out


# ------------------------------------------------------------------------------------------------ writing
def tile_grid(tiles: Sequence[np.ndarray], columns: int) -> np.ndarray:
    """The (equal-sized) tiles row by row, ``columns`` to a row, the last row filled with black: one picture."""
    tiles = list(tiles) + [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    return np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; None cells print as 'n/a', floats with one decimal unless already strings."""
    def cell(v):
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_json(path: Path, data: dict) -> Path:
    """JSON with NaN written as null (strict JSON readers reject NaN)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(data), indent=2) + "\n")
    return path


def write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_outputs(out: Path, stem: str, data: dict, text: str) -> None:
    """A benchmark's results: ``out/stem.json`` (write_json) and ``out/stem.md`` (the Markdown ``text``), which is
    also printed."""
    write_json(Path(out) / f"{stem}.json", data)
    write_text(Path(out) / f"{stem}.md", text + "\n")
    print(text)


def _clean(value):
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None, Paths to str."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def add_model_args(parser) -> None:
    """--localizer-model, --hand-model, --allow-untrained, --threads, --out (all scripts share them)."""
    parser.add_argument("--localizer-model", help="localizer ONNX file (default: the shipped one)")
    parser.add_argument("--hand-model", help="hand ONNX file (default: the shipped one)")
    parser.add_argument("--allow-untrained", action="store_true",
                        help="without the shipped models, export untrained lite models (timing only)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads per backend session (0 = library "
                        "default)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
