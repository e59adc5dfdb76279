"""The `handjoints` command line. Each subcommand imports what it needs when it runs, so `--help` is fast and
inference commands never import torch.

    handjoints detect hand.jpg --out out/             # annotated PNG + joints JSON per image
    handjoints video clip.mp4 --out out/              # annotated video + per-frame joints (JSON lines / CSV)
    handjoints train | train-handedness | train-orientation | export | calibrate | build | eval | bench | export-triton
                                                      (see `handjoints CMD --help`)

JSON schema of one hand (detect, video, the examples), written by :func:`hand_record`::

    {"box": [x0, y0, x1, y1], "score": 0.93, "track_id": -1, "handedness": "right", "handedness_score": 0.97,
     "joints": [{"name": "wrist", "x": 312.4, "y": 401.0, "confidence": 0.88}, ... 21 entries, HandJoint order]}

handedness is "left" / "right" (the person's hand; --mirrored for selfie-mirrored frames) or null when the hand
model has no handedness output; handedness_score is the probability of that label.

Coordinates are frame pixels, continuous ((0, 0) = top-left corner of the top-left pixel).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .types import (BOX_REFINE, BOX_THRESHOLD, CONFIDENCE_WEIGHT, HAND_THRESHOLD, JOINT_NMS, MIN_BOX_SIZE,
                    MIN_HAND_CONFIDENCE, RETRY_SCALE, DetectorOptions)

REPO = Path(__file__).resolve().parents[1]     # the source checkout (calibration/, benchmarks/ live there)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
SCHEMA = "handjoints-joints-v1"
CSV_HEADER = "frame,time,track_id,hand_score,joint,x,y,confidence,handedness"


# --------------------------------------------------------------------------------------- output schema
def joint_names() -> list[str]:
    """The 21 joint names in canonical order (skeleton.HandJoint), lower case: 'wrist', 'thumb_cmc', ..."""
    from .skeleton import HandJoint

    return [j.name.lower() for j in HandJoint]


def hand_record(hand) -> dict:
    """One Hand -> the JSON form of the module docstring (21 named joints)."""
    names = joint_names()
    joints = [{"name": n, "x": round(float(x), 2), "y": round(float(y), 2), "confidence": round(float(c), 4)}
              for n, (x, y), c in zip(names, hand.keypoints, hand.confidence)]
    return {"box": [round(float(v), 2) for v in hand.box], "score": round(float(hand.score), 4),
            "track_id": int(hand.track_id), "handedness": hand.handedness,
            "handedness_score": round(float(hand.handedness_score), 4), "joints": joints}


def image_record(path, frame, hands, backend: str = "") -> dict:
    """The JSON document of one image: source, size, joint names and one hand_record per hand."""
    return {"schema": SCHEMA, "image": str(path), "width": int(frame.shape[1]), "height": int(frame.shape[0]),
            "backend": backend, "joint_names": joint_names(), "hands": [hand_record(h) for h in hands]}


def csv_rows(frame_index: int, timestamp: float, hands) -> list[str]:
    """CSV lines (CSV_HEADER) of one video frame: one row per joint of each hand (handedness empty when unknown)."""
    names = joint_names()
    return [f"{frame_index},{timestamp:.4f},{h.track_id},{h.score:.4f},{n},{x:.2f},{y:.2f},{c:.4f},{h.handedness or ''}"
            for h in hands for n, (x, y), c in zip(names, h.keypoints, h.confidence)]


# --------------------------------------------------------------------------------------- shared options
def parse_box(text: str) -> tuple[float, float, float, float]:
    """'x0,y0,x1,y1' (frame pixels) -> a tuple; argparse error naming the expected form otherwise."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[2] <= values[0] or values[3] <= values[1]:
        raise argparse.ArgumentTypeError(f"--box {text!r}: expected x0,y0,x1,y1 in frame pixels with x1 > x0 and "
                                         f"y1 > y0, e.g. --box 100,80,260,240")
    return values  # type: ignore[return-value]


def add_runtime_options(p: argparse.ArgumentParser) -> None:
    """--backend, --precision, --localizer, --hand and friends: the same on every inference command."""
    from .types import BACKEND_CHOICES, PRECISION_CHOICES  # numpy only

    g = p.add_argument_group("runtime")
    g.add_argument("--backend", default="auto", choices=BACKEND_CHOICES,
                   help="auto = TensorRT when it and a GPU are present, else ONNX Runtime (default: auto)")
    g.add_argument("--precision", default="fp32", choices=PRECISION_CHOICES,
                   help="fp16 is a TensorRT build flag; int8 uses the Q/DQ models *.int8.onnx (default: fp32)")
    g.add_argument("--localizer", type=Path, default=None, help="stage I ONNX model (default: the shipped one)")
    g.add_argument("--hand", type=Path, default=None, help="stage II ONNX model (default: the shipped one)")
    g.add_argument("--threads", type=int, default=0, help="CPU threads for ONNX Runtime / PyTorch (0 = default)")
    g.add_argument("--max-hands", type=int, default=4, help="at most this many hands per frame (default 4)")
    g.add_argument("--box-threshold", type=float, default=BOX_THRESHOLD,
                   help=f"minimum stage-I score of a proposed hand 0..1 (default {BOX_THRESHOLD:g}; fitted with "
                        f"--hand-threshold and --confidence-weight for the shipped models' best F1)")
    g.add_argument("--vote", choices=("auto", "learned", "linear"), default="auto",
                   help="how stage II confirms stage I's boxes: learned (a regression fitted for the shipped "
                        "networks, --vote-threshold) or linear (--hand-threshold, --confidence-weight); auto = "
                        "learned with the shipped networks, else linear (default: auto)")
    g.add_argument("--vote-threshold", type=float, default=None, metavar="P",
                   help="the learned vote's P(hand) threshold, 0..1 (default: the fitted one; raise for fewer "
                        "false hands)")
    g.add_argument("--hand-threshold", type=float, default=HAND_THRESHOLD,
                   help=f"the linear vote: report a proposed hand when (box score + w x mean joint confidence) / "
                        f"(1 + w) reaches this, 0..1 (default {HAND_THRESHOLD:g}; raise for fewer false hands)")
    g.add_argument("--confidence-weight", type=float, default=CONFIDENCE_WEIGHT, metavar="W",
                   help=f"w, the weight of stage II's joints in that vote, 0..1 (default {CONFIDENCE_WEIGHT:g})")
    g.add_argument("--min-hand-confidence", type=float, default=MIN_HAND_CONFIDENCE,
                   help=f"also drop a found hand whose mean joint confidence is below this, 0..1 (default "
                        f"{MIN_HAND_CONFIDENCE:g}; 0 = off)")
    g.add_argument("--box-refine", type=float, default=BOX_REFINE, metavar="FRACTION",
                   help=f"move a found hand's box this far towards the box of its joints when they are sure, 0..1 "
                        f"(default {BOX_REFINE:g}; 0 = stage I's box as found)")
    g.add_argument("--nms-nested", type=float, default=None, metavar="FRACTION",
                   help="also drop a box lying more than this fraction inside a better one, e.g. 0.9 "
                        "(default: off, IoU NMS only)")
    g.add_argument("--min-box-size", type=float, default=MIN_BOX_SIZE, metavar="PIXELS",
                   help=f"drop a stage-I box whose long side is under this many frame pixels (default "
                        f"{MIN_BOX_SIZE:g}; 0 = off)")
    g.add_argument("--joint-nms", type=float, default=JOINT_NMS, metavar="FRACTION",
                   help=f"report once a hand found twice: drop a found hand whose joints lie within this fraction "
                        f"of a surer hand's size of its joints (default {JOINT_NMS:g}; 0 = off)")
    g.add_argument("--retry-scale", type=float, default=RETRY_SCALE, metavar="FRACTION",
                   help=f"when stage I's boxes give no hand, look once more with stage I's input shrunk to this "
                        f"fraction, for hands close to the camera (default {RETRY_SCALE:g}; 0 = off)")
    g.add_argument("--flip-test", action="store_true",
                   help="stage II also runs on each crop mirrored and averages the two (more accurate joints "
                        "for twice the stage-II time)")
    g.add_argument("--upright-pass", nargs="?", const="always", default="off", choices=UPRIGHT_PASS_WORDS,
                   help="a hand held sideways or pointing down gets stage II again on a crop turned upright, kept "
                        "when its joints are surer (DetectorOptions.upright_pass): 'always' (the flag alone), "
                        "'track' (in video tracking only) or 'off' (the default)")
    g.add_argument("--any-angle", nargs="?", const="always", default="auto", choices=ANY_ANGLE_WORDS,
                   help="stand every hand upright before stage II: a small network reads which way each hand points "
                        "and a hand network trained on upright crops reads it (DetectorOptions.any_angle; for hands "
                        "held sideways or upside down): 'auto' (the default: on with the shipped hand network, off "
                        "with --hand), 'always' (the flag alone), 'track' (in video tracking only) or 'off'")
    g.add_argument("--orientation", type=Path, default=None,
                   help="with --any-angle: the hand-direction ONNX model (default: the shipped one)")
    g.add_argument("--aligned", type=Path, default=None,
                   help="with --any-angle: the aligned hand ONNX model (default: the shipped one)")
    g.add_argument("--mirrored", action="store_true",
                   help="the frames are mirror images (a selfie preview): report the person's hand as handedness")
    g.add_argument("--localizer-size", type=_localizer_size, default=None, metavar="LONG|WxH",
                   help="stage I input: a long side (e.g. 512) or WIDTHxHEIGHT, multiples of 32 (default: "
                        "automatic, 384 for frames up to 640 px, 640 above)")
    g.add_argument("--engine-cache", type=Path, default=None, help="TensorRT engine folder (default: "
                   "~/.cache/handjoints_trt/engines)")


# --upright-pass / --any-angle words -> DetectorOptions.upright_pass / any_angle
UPRIGHT_PASS_WORDS = {"always": True, "track": "track", "off": False}
ANY_ANGLE_WORDS = {"auto": None, **UPRIGHT_PASS_WORDS}


def _localizer_size(text: str):
    """'512' -> 512, '640x384' -> (640, 384); DetectorOptions checks the values."""
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a long side (512) nor WIDTHxHEIGHT (640x384)")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is neither a long side (512) nor WIDTHxHEIGHT (640x384)")
    return parts[0] if len(parts) == 1 else tuple(parts)


VOTE_WORDS = {"auto": None, "learned": "learned", "linear": "linear"}


def make_detector(args, **options):
    """A HandJointDetector from the runtime options (plus any DetectorOptions keywords)."""
    from .detector import HandJointDetector

    for flag in ("localizer", "hand", "orientation", "aligned"):
        path = getattr(args, flag, None)
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"--{flag} {path} does not exist; pass an exported .onnx model "
                                    f"(`handjoints export CHECKPOINT --out {flag}.onnx`)")
    return HandJointDetector(backend=args.backend, precision=args.precision, localizer_model=args.localizer,
                             hand_model=args.hand, threads=args.threads, max_hands=args.max_hands,
                             box_threshold=args.box_threshold, min_hand_confidence=args.min_hand_confidence,
                             hand_threshold=args.hand_threshold, confidence_weight=args.confidence_weight,
                             box_refine=args.box_refine,
                             localizer_size=getattr(args, "localizer_size", None), engine_cache=args.engine_cache,
                             nms_nested=getattr(args, "nms_nested", None),
                             min_box_size=getattr(args, "min_box_size", MIN_BOX_SIZE),
                             joint_nms=getattr(args, "joint_nms", JOINT_NMS),
                             retry_scale=getattr(args, "retry_scale", RETRY_SCALE),
                             flip_test=getattr(args, "flip_test", False), mirrored=getattr(args, "mirrored", False),
                             upright_pass=UPRIGHT_PASS_WORDS[getattr(args, "upright_pass", "off")],
                             any_angle=ANY_ANGLE_WORDS[getattr(args, "any_angle", "auto")],
                             orientation_model=getattr(args, "orientation", None),
                             aligned_model=getattr(args, "aligned", None),
                             vote=VOTE_WORDS[getattr(args, "vote", "auto")],
                             vote_threshold=getattr(args, "vote_threshold", None), **options)


class Progress:
    """tqdm when installed, else a counter on stderr every `every` items. Use as a context manager."""

    def __init__(self, total: int | None, desc: str, enabled: bool = True, every: int = 25):
        self.count, self.total, self.desc, self.every, self.enabled = 0, total, desc, every, enabled
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=desc, unit="frame")
            except ImportError:
                pass

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and self.count % self.every == 0:
            of = f"/{self.total}" if self.total else ""
            print(f"{self.desc}: {self.count}{of} frames", file=sys.stderr, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(f"{self.desc}: {self.count} frames done", file=sys.stderr, flush=True)


def _subparser(sub, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose --help shows what it does and how to call it."""
    return sub.add_parser(name, help=summary, description=description, epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


# ------------------------------------------------------------------------------------------------- train
def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train one stage (hand network or localizer)",
        description="Train stage II (hand) or stage I (localizer). Resumes from OUT/last.pt when it exists.\n"
                    "Example: handjoints train hand --out runs/hand_lite --model lite --epochs 30",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["hand", "localizer"])
    p.add_argument("--out", required=True, help="run folder: checkpoints (last.pt, best.pt), steps.csv, epochs.csv")
    p.add_argument("--model", default="lite", help="preset name (lite, paper) or a JSON file of the model config")
    p.add_argument("--recipe", default=None,
                   help="data recipe: a name (training/recipes.py: hand, hand-negatives, hand-camera, localizer, "
                        "localizer-overlap, localizer-camera, hand-synthetic, ...) or a JSON file; default: the "
                        "stage's shipped recipe")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--epoch-size", type=int, default=20000, help="training items per epoch")
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=1, help="data-loader worker processes")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = no limit)")
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--init-from", type=Path, default=None,
                   help="start a new run from this checkpoint's weights (a narrower localizer is widened, a hand network "
                        "with fewer MSFF modules deepened to --model)")
    p.add_argument("--runtime-scale", action="store_true",
                   help="localizer: train on 384x384 windows of frames at the scale detect() gives stage I "
                        "(HD frames at long side 640) instead of whole frames letterboxed to 384")
    p.add_argument("--ema-decay", type=float, default=0.0,
                   help="keep an exponential moving average of the weights (e.g. 0.998: about the last 500 steps), "
                        "validated beside the raw weights and written as best.pt's weights; 0 = off")
    p.add_argument("--no-loss-wise", action="store_true", help="ablation: supervise only the last MSFF")
    p.add_argument("--no-error-weighting", action="store_true", help="ablation: hand heatmaps on unweighted")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load_json_or_name(value: str):
    path = Path(value)
    return json.loads(path.read_text()) if path.suffix == ".json" or path.is_file() else value


def cmd_train(args) -> int:
    from .training.loop import TrainConfig, Trainer
    from .training.recipes import get_recipe, resolve

    recipe_arg = args.recipe or args.stage
    recipe = resolve(_load_json_or_name(recipe_arg)) if Path(recipe_arg).is_file() else get_recipe(recipe_arg)
    cfg = TrainConfig(
        stage=args.stage, out_dir=args.out, model=_load_json_or_name(args.model), recipe=recipe,
        epochs=args.epochs, epoch_size=args.epoch_size, val_size=args.val_size, batch_size=args.batch_size,
        lr=args.lr, num_workers=args.workers, threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        checkpoint_every=args.checkpoint_every, loss_wise=not args.no_loss_wise,
        error_weighting=not args.no_error_weighting, amp=not args.no_amp, progress=not args.quiet,
        init_from=str(args.init_from or ""), runtime_scale=args.runtime_scale, ema_decay=args.ema_decay)
    trainer = Trainer(cfg)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return 0


def _handedness_parser(sub, full: bool) -> None:
    p = _subparser(sub, "train-handedness", "train the handedness head of a trained hand network",
                   "Give a trained hand network a handedness output (P(right hand) per crop): a small head on its\n"
                   "last MSFF's features and heatmaps, trained on real photos (--recipe) with the network frozen,\n"
                   "so its heatmaps stay exactly as they were (training/handedness.py). Writes OUT/best.pt\n"
                   "(the whole network: `handjoints export` it), OUT/last.pt (resumes) and OUT/epochs.csv with\n"
                   "the accuracy on hagrid_mp val (vs MediaPipe's label) and on synthetic val (exact labels).",
                   "  handjoints train-handedness checkpoints/hand_cam_ns60.pt --out checkpoints/hand_hd "
                   "--threads 1\n"
                   "  handjoints export checkpoints/hand_hd/best.pt --out hand.onnx")
    if not full:
        return
    p.add_argument("checkpoint", type=Path, help="a trained hand checkpoint (best.pt or an averaged one)")
    p.add_argument("--out", type=Path, required=True, help="run folder: best.pt, last.pt, epochs.csv")
    p.add_argument("--recipe", default="hand-real",
                   help="data recipe: a name (training/recipes.py) or a JSON file; default hand-real (hagrid_mp "
                        "photos only: with synthetic crops mixed in, agreement on real photos fell and the synthetic "
                        "labels were not learnt; the model card)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--epoch-size", type=int, default=8000, help="training crops per epoch")
    p.add_argument("--val-size", type=int, default=1000, help="hagrid_mp val crops scored per epoch")
    p.add_argument("--synthetic-val", type=int, default=1000, help="synthetic val crops scored per epoch")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--upright", action="store_true",
                   help="the new head also reads the joints' layout turned upright (wrist to middle knuckle "
                        "pointing up): for hands held at any angle, with --recipe hand-real-rotated")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=1, help="data-loader worker processes")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between last.pt checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_handedness(args) -> int:
    from .training.handedness import HandednessConfig, train_handedness
    from .training.recipes import get_recipe, resolve

    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {args.checkpoint} does not exist (train writes OUT/best.pt)")
    recipe = resolve(_load_json_or_name(args.recipe)) if Path(args.recipe).is_file() else get_recipe(args.recipe)
    train_handedness(HandednessConfig(
        init_from=str(args.checkpoint), out_dir=str(args.out), recipe=recipe, epochs=args.epochs,
        epoch_size=args.epoch_size,
        val_size=args.val_size, synthetic_val=args.synthetic_val, batch_size=args.batch_size, lr=args.lr,
        num_workers=args.workers, threads=args.threads, seed=args.seed, checkpoint_every=args.checkpoint_every,
        progress=not args.quiet, upright=args.upright))
    return 0


def _orientation_parser(sub, full: bool) -> None:
    p = _subparser(sub, "train-orientation", "train the hand-direction network (any-angle hands)",
                   "Train the small network that says which way a hand points in its upright crop (wrist to middle\n"
                   "knuckle), so that detect() with any_angle=True stands every hand upright before stage II\n"
                   "(training/orientation.py). Writes OUT/best.pt (`handjoints export` it), OUT/last.pt (resumes)\n"
                   "and OUT/epochs.csv with the median angle error on hagrid_mp val crops turned at random.",
                   "  handjoints train-orientation --out checkpoints/orient --threads 1\n"
                   "  handjoints export checkpoints/orient/best.pt --out orient.onnx")
    if not full:
        return
    p.add_argument("--out", type=Path, required=True, help="run folder: best.pt, last.pt, epochs.csv")
    p.add_argument("--recipe", default="orientation-camera",
                   help="data recipe: a name (training/recipes.py) or a JSON file; default orientation-camera")
    p.add_argument("--model", default=None, help="OrientNetConfig fields as a JSON file or JSON text, e.g. "
                   "'{\"channels\": [16, 32, 64]}' (default: the defaults)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--epoch-size", type=int, default=16000, help="training crops per epoch")
    p.add_argument("--val-size", type=int, default=2000, help="hagrid_mp val crops scored per epoch")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from this direction checkpoint's weights (same --model), e.g. a longer run's best.pt")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--workers", type=int, default=1, help="data-loader worker processes")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between last.pt checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_orientation(args) -> int:
    from .training.orientation import OrientationConfig, train_orientation
    from .training.recipes import get_recipe, resolve

    recipe = resolve(_load_json_or_name(args.recipe)) if Path(args.recipe).is_file() else get_recipe(args.recipe)
    model = None
    if args.model:   # a JSON file, or the JSON itself
        model = json.loads(Path(args.model).read_text() if Path(args.model).is_file() else args.model)
    train_orientation(OrientationConfig(
        out_dir=str(args.out), recipe=recipe, model=model, epochs=args.epochs, epoch_size=args.epoch_size,
        val_size=args.val_size, batch_size=args.batch_size, lr=args.lr, num_workers=args.workers,
        threads=args.threads, seed=args.seed, checkpoint_every=args.checkpoint_every, progress=not args.quiet,
        init_from=str(args.init_from or "")))
    return 0


# ------------------------------------------------------------------------------------------------ detect
def _detect_parser(sub, full: bool) -> None:
    p = _subparser(sub, "detect", "image(s) -> annotated PNG + joints JSON",
                   "Detect hands and their 21 joints in images. Writes OUT/<name>.png (hands drawn) and "
                   "OUT/<name>.json\n(schema: `python -c \"import handjoints_trt.cli as c; help(c)\"`). "
                   "Folders are searched for images.",
                   "  handjoints detect photo.jpg --out out/\n"
                   "  handjoints detect frames/ --out out/ --backend onnxruntime --max-hands 2\n"
                   "  handjoints detect photo.jpg --box 100,80,260,240 --out out/   # skip stage I: given box")
    if not full:
        return
    p.add_argument("images", nargs="+", type=Path, help="image files or folders of images")
    p.add_argument("--out", type=Path, default=Path("handjoints_out"), help="output folder (handjoints_out)")
    p.add_argument("--box", type=parse_box, action="append", default=None,
                   help="x0,y0,x1,y1: a hand box in pixels (repeatable); skips stage I for every image")
    p.add_argument("--no-image", action="store_true", help="write only the JSON, no annotated PNG")
    add_runtime_options(p)


def image_paths(inputs: list[Path]) -> list[Path]:
    """Files as given, folders expanded to their images (sorted); FileNotFoundError for a missing path."""
    paths: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(q for q in item.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise FileNotFoundError(f"folder {item} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            paths += found
        elif item.is_file():
            paths.append(item)
        else:
            raise FileNotFoundError(f"{item} does not exist; pass image files or folders")
    return paths


def read_image(path: Path):
    """cv2.imread with an error naming the file instead of None."""
    import cv2

    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError(f"cannot read {path} as an image (unsupported format or damaged file); "
                         f"supported: {', '.join(IMAGE_SUFFIXES)}")
    return frame


def cmd_detect(args) -> int:
    import cv2

    from .draw import draw_hands

    paths = image_paths(args.images)
    clash = [p for p in paths if (args.out / f"{p.stem}.png").resolve() == p.resolve()]
    if clash and not args.no_image:
        raise ValueError(f"--out {args.out} would overwrite the input {clash[0]} with its annotated copy; "
                         f"choose another --out folder")
    args.out.mkdir(parents=True, exist_ok=True)
    with make_detector(args) as detector:
        for path in paths:
            frame = read_image(path)
            hands = detector.detect(frame, boxes=args.box)
            doc = image_record(path, frame, hands, detector.backend_kind)
            (args.out / f"{path.stem}.json").write_text(json.dumps(doc, indent=1))
            if not args.no_image:
                cv2.imwrite(str(args.out / f"{path.stem}.png"), draw_hands(frame, hands))
            print(f"{path}: {len(hands)} hand(s), {detector.last_timings.get('total', 0):.1f} ms -> "
                  f"{args.out / path.stem}.json")
    return 0


# ------------------------------------------------------------------------------------------------- video
def _video_parser(sub, full: bool) -> None:
    p = _subparser(sub, "video", "video file -> annotated video + per-frame joints",
                   "Track hands through a video (stage I runs only when needed: DetectorOptions."
                   "redetect_interval).\nWrites OUT/<name>.annotated.avi (MJPG) and OUT/<name>.jsonl, one "
                   "line per frame:\n{\"frame\": i, \"time\": seconds, \"hands\": [hand, ...]}, or "
                   "OUT/<name>.csv with --format csv\n(" + CSV_HEADER + ").",
                   "  handjoints video clip.mp4 --out out/\n"
                   "  handjoints video clip.mp4 --out out/ --format csv --no-video --no-smoothing")
    if not full:
        return
    p.add_argument("video", type=Path, help="a video file OpenCV can read (.mp4, .avi, ...)")
    p.add_argument("--out", type=Path, default=Path("handjoints_out"), help="output folder (handjoints_out)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="per-frame joints (jsonl)")
    p.add_argument("--no-video", action="store_true", help="write only the joints, no annotated video")
    p.add_argument("--codec", default="MJPG", help="FourCC of the annotated video (MJPG -> .avi, mp4v -> .mp4)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0 = all)")
    p.add_argument("--smoothing", action=argparse.BooleanOptionalAction, default=DetectorOptions.smoothing,
                   help="One-Euro smoothing of the tracked joints (DetectorOptions.smoothing: on by default since "
                        "session 27; --no-smoothing gives each frame's joints as read)")
    p.add_argument("--redetect-interval", type=int, default=DetectorOptions.redetect_interval, metavar="N",
                   help=f"run stage I at least every N frames (default {DetectorOptions.redetect_interval}; 1 = every "
                        f"frame: detect()'s hands with stable ids, benchmarks/track_eval.py)")
    p.add_argument("--new-hand-interval", type=int, default=DetectorOptions.new_hand_interval, metavar="N",
                   help=f"while fewer than --max-hands are tracked, look for new hands every N frames (default "
                        f"{DetectorOptions.new_hand_interval})")
    p.add_argument("--no-refind-lost", dest="refind_lost", action="store_false",
                   help="look for a hand lost between stage-I frames on the next frame, not on the frame it was lost "
                        "(DetectorOptions.refind_lost)")
    p.add_argument("--track-window", type=int, default=DetectorOptions.track_window, metavar="PX",
                   help="between stage-I frames, crop each followed hand from stage I run on a PX-pixel window around "
                        "it (steadier joints, more hands kept, up to 1.36x the time; default 192; 0 = off)")
    p.add_argument("--no-track-hold", dest="track_hold", action="store_false",
                   help="let each followed hand's crop follow its joints on every frame, not hold still while the hand "
                        "moves little (DetectorOptions.track_hold; steadier joints with it)")
    p.add_argument("--track-recrop", type=float, default=DetectorOptions.track_recrop, metavar="F",
                   help=f"read a followed hand again around its joints when they lie off its crop's centre by more "
                        f"than F of the crop's side (default {DetectorOptions.track_recrop}; 0 = off)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    add_runtime_options(p)


def open_video(path: Path):
    """cv2.VideoCapture that is known to be open, and its (fps, frame count); errors name the file."""
    import cv2

    if not Path(path).is_file():
        raise FileNotFoundError(f"video {path} does not exist")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"OpenCV cannot open {path} as a video (codec or container not supported by this "
                         f"OpenCV build); convert it, e.g. ffmpeg -i {path} -c:v mjpeg out.avi")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return capture, (fps if 0 < fps < 1000 else 30.0), count


def video_writer(path: Path, codec: str, fps: float, size: tuple[int, int]):
    """An open cv2.VideoWriter; ValueError naming the codec when this OpenCV cannot write it."""
    import cv2

    if len(codec) != 4:
        raise ValueError(f"--codec must be a 4-letter FourCC such as MJPG or mp4v, got {codec!r}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    if not writer.isOpened():
        raise ValueError(f"OpenCV cannot write {path} with codec {codec}; use --codec MJPG (.avi) or mp4v (.mp4)")
    return writer


def cmd_video(args) -> int:
    from .draw import draw_hands

    capture, fps, count = open_video(args.video)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = ".mp4" if args.codec.lower() in ("mp4v", "avc1", "h264") else ".avi"
    video_path = args.out / f"{args.video.stem}.annotated{suffix}"
    joints_path = args.out / f"{args.video.stem}.{args.format}"
    total = min(count, args.max_frames) if args.max_frames and count else (args.max_frames or count or None)
    writer, index = None, 0
    try:
        with make_detector(args, smoothing=args.smoothing, fps=fps, redetect_interval=args.redetect_interval,
                           new_hand_interval=args.new_hand_interval, refind_lost=args.refind_lost,
                           track_recrop=args.track_recrop, track_window=args.track_window,
                           track_hold=args.track_hold) as detector, \
                open(joints_path, "w") as joints, Progress(total, args.video.name, not args.quiet) as progress:
            if args.format == "csv":
                joints.write(CSV_HEADER + "\n")
            while not args.max_frames or index < args.max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                t = index / fps
                hands = detector.track(frame, timestamp=t)
                if args.format == "csv":
                    joints.writelines(row + "\n" for row in csv_rows(index, t, hands))
                else:
                    joints.write(json.dumps({"frame": index, "time": round(t, 4),
                                             "hands": [hand_record(h) for h in hands]}) + "\n")
                if not args.no_video:
                    writer = writer or video_writer(video_path, args.codec, fps, (frame.shape[1], frame.shape[0]))
                    writer.write(draw_hands(frame, hands))
                index += 1
                progress.update()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if index == 0:
        raise ValueError(f"{args.video}: no frame could be read (empty or damaged video)")
    print(f"{args.video}: {index} frames -> {joints_path}" + ("" if args.no_video else f", {video_path}"))
    return 0


# ------------------------------------------------------------------------------------------------ export
def _export_parser(sub, full: bool) -> None:
    p = _subparser(sub, "export", "trainer checkpoint -> ONNX (with a PyTorch parity check)",
                   "Export a checkpoint of either stage (best.pt / last.pt of `handjoints train`) to ONNX with "
                   "dynamic axes and\nthe metadata the runtime reads, then compare ONNX Runtime with PyTorch "
                   "and print the parity report\n(fails past --tolerance). Needs torch (pip install -e '.[train]').",
                   "  handjoints export runs/hand_lite/best.pt --out handjoints_trt/weights/hand.onnx\n"
                   "  handjoints export runs/loc_lite/best.pt --out localizer.onnx --tolerance 1e-4")
    if not full:
        return
    p.add_argument("checkpoint", type=Path, help="trainer checkpoint (.pt)")
    p.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    p.add_argument("--tolerance", type=float, default=1e-3, help="parity tolerance x output peak (1e-3)")
    p.add_argument("--no-check", action="store_true", help="skip the parity check")
    p.add_argument("--average", action="store_true",
                   help="export the run's weight average at the checkpoint's step (a last.pt of a run trained with "
                        "--ema-decay) instead of its raw weights")


def _interpolate_parser(sub, full: bool) -> None:
    p = _subparser(sub, "interpolate", "average the weights of two checkpoints of one network (model soup)",
                   "Write a checkpoint whose weights are (1 - alpha) x BASE + alpha x TUNED, for a fine-tune\n"
                   "TUNED of BASE: it trades the fine-tune's target against the base's (WiSE-FT). Needs torch.",
                   "  handjoints interpolate checkpoints/hand_lite/best.pt checkpoints/hand_synth/best.pt "
                   "--alpha 0.7 --out soup.pt")
    if not full:
        return
    p.add_argument("base", type=Path, help="the base checkpoint (alpha 0)")
    p.add_argument("tuned", type=Path, help="the fine-tuned checkpoint (alpha 1)")
    p.add_argument("--alpha", type=float, default=0.5, help="weight of TUNED, 0..1 (0.5)")
    p.add_argument("--average", action="store_true",
                   help="take TUNED's weight average (a last.pt of a run trained with --ema-decay), not its raw weights")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write (atomically)")


def _graft_head_parser(sub, full: bool) -> None:
    p = _subparser(sub, "graft-head", "put a checkpoint's handedness head on a fine-tune of its network",
                   "Write a checkpoint holding NETWORK's hand network (its heatmaps exactly) with HEAD's\n"
                   "handedness head: a fine-tune of a network drops the head, and the head trained on the network\n"
                   "it came from may name left and right better than one trained again (measure it:\n"
                   "benchmarks/handedness.py). Needs torch.",
                   "  handjoints graft-head checkpoints/hand_align_faces_hd/best.pt checkpoints/hand_align_hd3/best.pt "
                   "--out grafted.pt")
    if not full:
        return
    p.add_argument("network", type=Path, help="the hand checkpoint whose network is kept")
    p.add_argument("head", type=Path, help="a hand checkpoint of the same architecture with a handedness head")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write (atomically)")


def cmd_graft_head(args) -> int:
    from .training.handedness import graft_head

    graft_head(args.network, args.head, args.out)
    print(f"wrote {args.out}: {args.network}'s network with {args.head}'s handedness head")
    return 0


def cmd_interpolate(args) -> int:
    from .training.interpolate import interpolate_checkpoints

    interpolate_checkpoints(args.base, args.tuned, args.alpha, args.out, average=args.average)
    tuned = f"{args.tuned} (its weight average)" if args.average else str(args.tuned)
    print(f"wrote {args.out}: alpha {args.alpha:g} x {tuned} + {1 - args.alpha:g} x {args.base}")
    return 0


def cmd_export(args) -> int:
    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {args.checkpoint} does not exist (train writes OUT/best.pt)")
    from .export.onnx_export import ExportParityError, export_checkpoint

    try:
        report = export_checkpoint(args.checkpoint, args.out, check=not args.no_check, tolerance=args.tolerance,
                                   average=args.average)
    except ExportParityError as exc:
        print(f"handjoints export: parity check failed: {exc}", file=sys.stderr)
        return 3
    print(f"wrote {args.out}")
    if report is not None:
        # joints are decoded for a hand network only: a localizer's or direction network's line does not claim it
        joints = f", decoded joints moved {report.joint_max_cells:.3g} heatmap cells" if report.kind == "hand" else ""
        print(f"{report.kind} parity (ONNX Runtime vs PyTorch): max |diff| {report.max_abs:.3g} (output peak "
              f"{report.peak:.3g}, tolerance {args.tolerance:g} x peak){joints}: OK")
    return 0


# ---------------------------------------------------------------------------------- calibrate (scripts)
def load_script(relative: str):
    """A recipe script of the source checkout (calibration/*.py) as a module; FileNotFoundError when this
    install has no checkout beside it (a wheel install: run the script from a clone instead)."""
    import importlib.util

    path = REPO / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not here: the calibration recipe lives in the source checkout, not "
                                f"in the installed package; clone the repository and run "
                                f"`python {relative}` there (or `pip install -e .` from the clone)")
    name = "_handjoints_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _script_parser(sub, full: bool, name: str, script: str, summary: str, description: str,
                   examples: str) -> None:
    p = _subparser(sub, name, summary, description, examples)
    p.set_defaults(script=script)
    if not full:
        return
    try:
        load_script(script).add_arguments(p)
    except FileNotFoundError as exc:
        p.set_defaults(script_missing=str(exc))
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _calibrate_parser(sub, full: bool) -> None:
    _script_parser(sub, full, "calibrate", "calibration/calibrate.py",
                   "FP32 ONNX -> INT8 Q/DQ ONNX, gated on accuracy",
                   "Calibrate and quantize an FP32 model to Q/DQ INT8 from a calibration manifest "
                   "(`handjoints calibration-set`),\nthen compare FP32 and INT8 accuracy; exit 3 (file removed) "
                   "when INT8 loses more than --max-drop points.\nRuns calibration/calibrate.py of the source "
                   "checkout. Needs onnx (pip install -e '.[train]').",
                   "  handjoints calibrate --model weights/hand.onnx --manifest calibration/hand.manifest.json "
                   "--out weights/hand.int8.onnx")


def _calibset_parser(sub, full: bool) -> None:
    _script_parser(sub, full, "calibration-set", "calibration/make_calibration_set.py",
                   "write an INT8 calibration manifest (real crops/frames)",
                   "Choose the real inputs that calibrate a model (hagrid_mp crops or composed frames) and write "
                   "a manifest\nwith their sha256. Runs calibration/make_calibration_set.py of the source checkout.",
                   "  handjoints calibration-set --model weights/hand.onnx --data ../shared/data/hagrid_mp "
                   "--count 512 --out calibration/hand.manifest.json")


def cmd_script(args) -> int:
    if getattr(args, "script_missing", None):
        raise FileNotFoundError(args.script_missing)
    return int(load_script(args.script).run(args) or 0)


# ------------------------------------------------------------------------------------------------- build
def _build_parser(sub, full: bool) -> None:
    p = _subparser(sub, "build", "ONNX -> TensorRT engine (cached), or the trtexec command",
                   "Build the TensorRT engine of one model on this machine (engines are tied to one GPU and one "
                   "TensorRT version)\nand keep it in the engine cache; --print-trtexec prints the equivalent "
                   "trtexec command without TensorRT.\nExit 0 done, 2 bad arguments, 1 no GPU / TensorRT / "
                   "build failed. Details: docs/tensorrt.md.",
                   "  handjoints build --model handjoints_trt/weights/hand.onnx --precision fp16 --max-batch 16\n"
                   "  handjoints build --model hand.onnx --precision fp16 --print-trtexec --trt-version 8.5\n"
                   "  handjoints build --model hand.onnx --dla-core 0 --output hand.dla0.engine   # Jetson")
    if full:
        from .engines.build import add_build_arguments  # no TensorRT import until a build runs

        add_build_arguments(p)


def cmd_build(args) -> int:
    from .engines.build import run_build

    return run_build(args)


# -------------------------------------------------------------------------------------------------- eval
def _eval_parser(sub, full: bool) -> None:
    p = _subparser(sub, "eval", "PCK / AUC / EPE of the hand stage on a labelled data set",
                   "Score stage II on a data set the loaders read (handjoints_trt.data.loaders), with the "
                   "ground-truth hand boxes\n(tight boxes around the labelled joints) so the score is the hand "
                   "network's, not the localizer's.\nPrints a Markdown table; --out writes the full result "
                   "(per-joint PCK included) as JSON.",
                   "  handjoints eval --format paper --data test.json --hand hand.onnx --localizer localizer.onnx\n"
                   "  handjoints eval --format hagrid_mp --data ../shared/data/hagrid_mp --limit 500 "
                   "--out pck.json")
    if not full:
        return
    p.add_argument("--data", type=Path, required=True, help="the data set's file or folder (see --format)")
    p.add_argument("--format", default="paper", help="loader key: paper, hagrid_mp, rhd, freihand, "
                   "coco_hands, ... (handjoints_trt.data.loaders.LOADERS; default paper)")
    p.add_argument("--limit", type=int, default=0, help="score the first N images only (0 = all)")
    p.add_argument("--out", type=Path, default=None, help="write the result JSON here")
    add_runtime_options(p)


def _scorable(hand) -> bool:
    """A hand PCK can score and the detector can crop: two or more labelled joints, a non-empty box."""
    x0, y0, x1, y1 = (float(v) for v in hand.box)
    return int(hand.visible.sum()) >= 2 and x1 > x0 and y1 > y0


def evaluate_records(detector, records, progress: Progress | None = None):
    """PCKResult of detector.estimate on each record's ground-truth boxes."""
    import numpy as np

    from .evaluation import PCKAccumulator

    acc = PCKAccumulator()
    for record in records:
        labels = [h for h in record.hands if _scorable(h)]
        if labels:
            sample = record.load()
            hands = detector.estimate(sample.image, np.stack([h.box for h in labels]))
            acc.add(np.stack([h.keypoints for h in hands]), np.stack([h.keypoints for h in labels]),
                    np.stack([h.visible for h in labels]))
        if progress:
            progress.update()
    return acc.result()


def cmd_eval(args) -> int:
    from .data.loaders import load_dataset
    from .evaluation import format_table

    if not args.data.exists():
        raise FileNotFoundError(f"--data {args.data} does not exist")
    records = load_dataset(args.format, args.data)
    records = records[:args.limit] if args.limit else records
    if not records:
        raise ValueError(f"--data {args.data} ({args.format}) holds no images")
    with make_detector(args) as detector, Progress(len(records), "eval", every=100) as progress:
        result = evaluate_records(detector, records, progress)
    name = (args.hand or Path("shipped hand model")).name
    print(format_table({name: result}))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": str(args.hand or "shipped"), "data": str(args.data),
                                        "format": args.format, "images": len(records), **result.to_dict()},
                                       indent=1))
    return 0


# ------------------------------------------------------------------------------------------------- bench
def _bench_parser(sub, full: bool) -> None:
    p = _subparser(sub, "bench", "frames per second (runs benchmarks/fps.py)",
                   "Run the FPS benchmark of the source checkout (benchmarks/fps.py); every argument after "
                   "`bench` goes to it.\n`handjoints bench -- --help` shows its options.",
                   "  handjoints bench --quick\n  handjoints bench -- --help")
    p.set_defaults(rest=[])  # filled by main(): argparse cannot pass unknown options through a subcommand


def cmd_bench(args) -> int:
    import subprocess

    script = REPO / "benchmarks" / "fps.py"
    if not script.is_file():
        others = sorted(p.name for p in (REPO / "benchmarks").glob("*.py")) if (REPO / "benchmarks").is_dir() else []
        raise FileNotFoundError(f"{script} is not here: the FPS benchmark lives in the source checkout "
                                f"(benchmarks/fps.py)" + (f"; this checkout has {others}" if others else
                                "; clone the repository and run `python benchmarks/fps.py --quick`"))
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return subprocess.call([sys.executable, str(script), *rest])


# ----------------------------------------------------------------------------------------- export-triton
def _triton_parser(sub, full: bool) -> None:
    p = _subparser(sub, "export-triton", "write an NVIDIA Triton model repository (many streams)",
                   "Write a Triton Inference Server model repository: the localizer, the hand stage with "
                   "dynamic batching, and\na Python-backend pipeline model (letterbox, crop, decode around both "
                   "models through BLS; an ensemble cannot\ndo it because the crop depends on the localizer's "
                   "boxes). Configs are read from the ONNX models. See docs/triton.md.",
                   "  handjoints export-triton --out model_repository\n"
                   "  handjoints export-triton --out repo --platform tensorrt_plan --max-batch 32 "
                   "--preferred-batch 8 16")
    if not full:
        return
    p.add_argument("--out", type=Path, required=True, help="the model repository folder to write")
    p.add_argument("--localizer", type=Path, default=None, help="stage I ONNX (default: the shipped one)")
    p.add_argument("--hand", type=Path, default=None, help="stage II ONNX (default: the shipped one)")
    p.add_argument("--platform", choices=("onnxruntime_onnx", "tensorrt_plan"), default="onnxruntime_onnx",
                   help="how Triton runs both models (tensorrt_plan: engines built on the serving GPU)")
    p.add_argument("--localizer-plan", type=Path, default=None, help="tensorrt_plan: a built localizer engine")
    p.add_argument("--hand-plan", type=Path, default=None, help="tensorrt_plan: a built hand engine")
    p.add_argument("--max-batch", type=int, default=16, help="hand stage max_batch_size (16)")
    p.add_argument("--preferred-batch", type=int, nargs="+", default=[4, 8], help="preferred batch sizes (4 8)")
    p.add_argument("--queue-delay-us", type=int, default=500, help="dynamic batcher max queue delay, µs (500)")
    p.add_argument("--instances", type=int, default=2, help="pipeline (Python) model instances (2)")
    p.add_argument("--device", choices=("gpu", "cpu"), default="gpu", help="instance kind of the two models")
    p.add_argument("--prefix", default="handjoints", help="model name prefix (handjoints)")
    p.add_argument("--max-hands", type=int, default=4)
    p.add_argument("--box-threshold", type=float, default=BOX_THRESHOLD)
    p.add_argument("--min-hand-confidence", type=float, default=MIN_HAND_CONFIDENCE)
    p.add_argument("--hand-threshold", type=float, default=HAND_THRESHOLD)
    p.add_argument("--confidence-weight", type=float, default=CONFIDENCE_WEIGHT)
    p.add_argument("--box-refine", type=float, default=BOX_REFINE,
                   help=f"how far a found hand's box moves towards its joints' box, as detect() "
                        f"(default {BOX_REFINE:g})")
    p.add_argument("--nms-nested", type=float, default=None, metavar="FRACTION",
                   help="the pipeline's nested-box NMS (default: off)")
    p.add_argument("--min-box-size", type=float, default=MIN_BOX_SIZE, metavar="PIXELS",
                   help=f"the pipeline drops stage-I boxes with a long side under this (default {MIN_BOX_SIZE:g})")
    p.add_argument("--joint-nms", type=float, default=JOINT_NMS, metavar="FRACTION",
                   help=f"the pipeline reports once a hand found twice, as detect() (default {JOINT_NMS:g}; 0 = off)")
    p.add_argument("--retry-scale", type=float, default=RETRY_SCALE, metavar="FRACTION",
                   help=f"the pipeline's second, coarser look of stage I when the first gives no hand, as detect() "
                        f"(default {RETRY_SCALE:g}; 0 = off)")
    p.add_argument("--force", action="store_true", help="overwrite an existing repository's models")


def cmd_export_triton(args) -> int:
    from .triton import TritonOptions, export_triton

    options = TritonOptions(platform=args.platform, max_batch=args.max_batch,
                            preferred_batch=tuple(args.preferred_batch), queue_delay_us=args.queue_delay_us,
                            pipeline_instances=args.instances, device=args.device, prefix=args.prefix,
                            max_hands=args.max_hands, box_threshold=args.box_threshold,
                            min_hand_confidence=args.min_hand_confidence, nms_nested=args.nms_nested,
                            hand_threshold=args.hand_threshold, confidence_weight=args.confidence_weight,
                            min_box_size=args.min_box_size, box_refine=args.box_refine, joint_nms=args.joint_nms,
                            retry_scale=args.retry_scale)
    written = export_triton(args.out, args.localizer, args.hand, options, localizer_plan=args.localizer_plan,
                            hand_plan=args.hand_plan, overwrite=args.force)
    for path in written:
        print(path)
    print(f"start: docker run --gpus=1 --rm -p8000:8000 -v {args.out.resolve()}:/models "
          f"nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models  (docs/triton.md)")
    return 0


# -------------------------------------------------------------------------------------------------- main
COMMANDS = {
    "detect": (_detect_parser, cmd_detect),
    "video": (_video_parser, cmd_video),
    "train": (None, cmd_train),
    "train-handedness": (_handedness_parser, cmd_handedness),
    "train-orientation": (_orientation_parser, cmd_orientation),
    "export": (_export_parser, cmd_export),
    "interpolate": (_interpolate_parser, cmd_interpolate),
    "graft-head": (_graft_head_parser, cmd_graft_head),
    "calibration-set": (_calibset_parser, cmd_script),
    "calibrate": (_calibrate_parser, cmd_script),
    "build": (_build_parser, cmd_build),
    "eval": (_eval_parser, cmd_eval),
    "bench": (_bench_parser, cmd_bench),
    "export-triton": (_triton_parser, cmd_export_triton),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s options are added (None: all), so `handjoints --help` imports nothing."""
    parser = argparse.ArgumentParser(
        prog="handjoints", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Two-stage hand-joint detection SDK: 21 joints per hand on TensorRT, ONNX Runtime or "
                    "PyTorch.\n`handjoints COMMAND --help` explains each command, with examples.",
        epilog="examples:\n  handjoints detect photo.jpg --out out/\n  handjoints video clip.mp4 --out out/\n"
               "  handjoints export runs/hand/best.pt --out hand.onnx\n"
               "  handjoints build --model hand.onnx --precision fp16")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add, _) in COMMANDS.items():
        if add is None:
            _train_parser(sub)          # train's parser imports nothing: always complete
        else:
            add(sub, command in (None, name))
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in argv (the first word that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser(command if command in COMMANDS else None)
    if command == "bench" and not {"-h", "--help"} & set(argv[:argv.index("bench") + 2]):
        args = argparse.Namespace(command="bench", rest=argv[argv.index("bench") + 1:])
    else:
        args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (FileNotFoundError, FileExistsError, ValueError, TypeError) as exc:
        print(f"handjoints {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
