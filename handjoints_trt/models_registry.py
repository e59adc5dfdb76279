"""Where the shipped models are: handjoints_trt/weights/ (localizer.onnx, hand.onnx and the INT8 Q/DQ
variants localizer.int8.onnx, hand.int8.onnx; for DetectorOptions.any_angle also orientation.onnx, the
hand-direction network, and hand_aligned.onnx / hand_aligned.int8.onnx, the hand network of crops stood upright).
Nothing is ever downloaded."""
from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
STAGES = ("localizer", "hand")
ANY_ANGLE_STAGES = ("orientation", "hand_aligned")   # DetectorOptions.any_angle's models
# fp16 is a TensorRT build flag applied to the fp32 ONNX model, so it reads the same files.
_SUFFIX = {"fp32": ".onnx", "fp16": ".onnx", "int8": ".int8.onnx"}


def model_filename(stage: str, precision: str = "fp32") -> str:
    """'hand', 'int8' -> 'hand.int8.onnx'."""
    if stage not in STAGES + ANY_ANGLE_STAGES:
        raise ValueError(f"stage must be one of {STAGES + ANY_ANGLE_STAGES}, got {stage!r}")
    if precision not in _SUFFIX:
        raise ValueError(f"precision must be one of {tuple(_SUFFIX)}, got {precision!r}")
    return stage + _SUFFIX[precision]


def _how_to_make(stage: str, precision: str) -> str:
    if stage in ANY_ANGLE_STAGES:
        return ("train it (weights/reproduce.sh, session 21) and export it there, or use any_angle=False"
                + (" or precision='fp32'" if precision == "int8" else ""))
    if precision == "int8":
        return (f"quantize the fp32 model with the calibration recipe (calibration/) into "
                f"{WEIGHTS_DIR / model_filename(stage, precision)}, or use precision='fp32'")
    return (f"train the stage (`handjoints train {stage} --out runs/{stage}`) and export it "
            f"(`handjoints export runs/{stage}/best.pt --out {WEIGHTS_DIR / model_filename(stage)}`), or pass "
            f"{stage}_model=<path to an exported .onnx>")


def orientation_precision(precision: str) -> str:
    """The precision of the direction network's file for a detector of ``precision``: the shipped one has no INT8
    (Q/DQ) file (a tenth of stage II's work, and an angle is what it gives), so under 'int8' it runs from the float
    one (ONNX Runtime in FP32; TensorRT as its flag allows)."""
    return "fp32" if precision == "int8" else precision


def default_model_path(stage: str, precision: str = "fp32") -> Path:
    """The shipped model of one stage; FileNotFoundError naming the file and how to produce it."""
    path = WEIGHTS_DIR / model_filename(stage, precision)
    if not path.is_file():
        raise FileNotFoundError(f"the shipped {stage} model {path} is missing: {_how_to_make(stage, precision)}")
    return path


def default_model_paths(precision: str = "fp32") -> tuple[Path, Path]:
    """(localizer, hand) shipped ONNX files for ``precision`` ('fp32', 'fp16', 'int8')."""
    return default_model_path("localizer", precision), default_model_path("hand", precision)


def shipped_models_present(precision: str = "fp32") -> bool:
    """True when both shipped files of ``precision`` exist."""
    return all((WEIGHTS_DIR / model_filename(s, precision)).is_file() for s in STAGES)
