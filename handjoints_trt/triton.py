"""Serving many streams: an NVIDIA Triton Inference Server model repository for the two-stage detector.

    handjoints export-triton --out model_repository [--platform tensorrt_plan]

writes::

    model_repository/
      handjoints_localizer/config.pbtxt, 1/model.onnx | 1/model.plan     stage I, one frame per request
      handjoints_hand/config.pbtxt, 1/model.onnx | 1/model.plan          stage II, dynamic batching of crops
      handjoints/config.pbtxt, 1/model.py                                the pipeline (Python backend)

Why a Python-backend pipeline and not an ensemble: an ensemble only wires tensors from one model to the next,
but stage II's input is a crop whose position, size and count come from stage I's boxes (data-dependent
affine warps), and its heatmaps must be mapped back through the inverse of each crop. model.py does the
letterbox, the crops and the decoding with handjoints_trt's own preprocess/postprocess (one preprocessing
path, bit-identical to the SDK) and calls the two models through BLS (business logic scripting). Crops of
concurrent requests meet in the hand model's dynamic batcher, which is where many streams pay off.

Tensor names, data types and dims of every config are read from the ONNX files (onnxruntime), never typed
by hand. :class:`FramePipeline` is the pipeline's logic without Triton, so it is tested here against
HandJointDetector; model.py only adds the BLS calls.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .types import (BOX_REFINE, BOX_REFINE_RAMP, BOX_THRESHOLD, CONFIDENCE_WEIGHT, HAND_THRESHOLD, JOINT_NMS,
                    MIN_BOX_SIZE, MIN_HAND_CONFIDENCE, RETRY_SCALE)

PLATFORMS = ("onnxruntime_onnx", "tensorrt_plan")
MODEL_FILE = {"onnxruntime_onnx": "model.onnx", "tensorrt_plan": "model.plan"}
# ONNX Runtime type strings -> Triton data types (the models are float32 end to end; the rest for safety).
ORT_TO_TRITON = {"tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(int64)": "TYPE_INT64",
                 "tensor(int32)": "TYPE_INT32", "tensor(uint8)": "TYPE_UINT8", "tensor(bool)": "TYPE_BOOL"}
PIPELINE_INPUTS = (("image", "TYPE_UINT8", (-1, -1, 3), False), ("boxes", "TYPE_FP32", (-1, 4), True))
PIPELINE_OUTPUTS = (("boxes", "TYPE_FP32", (-1, 4)), ("scores", "TYPE_FP32", (-1,)),
                    ("keypoints", "TYPE_FP32", (-1, 21, 2)), ("confidence", "TYPE_FP32", (-1, 21)),
                    ("handedness", "TYPE_FP32", (-1,)))


@dataclass
class TritonOptions:
    """How the repository serves.

    platform: 'onnxruntime_onnx' or 'tensorrt_plan' (both models). max_batch: the hand model's
    max_batch_size (crops per execution); preferred_batch / queue_delay_us: its dynamic batcher.
    pipeline_instances: Python-backend instances (CPU work: letterbox, crops, decoding) serving streams in
    parallel. device: 'gpu' or 'cpu' instances of the two models. prefix: model names (prefix, prefix_hand,
    prefix_localizer). max_hands / box_threshold / nms_iou / nms_nested / min_box_size: the pipeline's
    stage-I decoding;
    hand_threshold / confidence_weight / min_hand_confidence: which found hands stage II confirms, as detect()
    (DetectorOptions' defaults, the fitted operating point; postprocess.verify_hands); box_refine: how far a found
    hand's box moves towards its joints' box, as detect() (DetectorOptions.box_refine); joint_nms: one hand found
    twice reported once, as detect() (DetectorOptions.joint_nms); retry_scale: stage I's second, coarser look when the
    first gives no hand, as detect() (DetectorOptions.retry_scale).
    """

    platform: str = "onnxruntime_onnx"
    max_batch: int = 16
    preferred_batch: tuple[int, ...] = (4, 8)
    queue_delay_us: int = 500
    pipeline_instances: int = 2
    device: str = "gpu"
    prefix: str = "handjoints"
    max_hands: int = 4
    box_threshold: float = BOX_THRESHOLD
    nms_iou: float = 0.4
    nms_nested: float | None = None
    min_box_size: float = MIN_BOX_SIZE
    min_hand_confidence: float = MIN_HAND_CONFIDENCE
    hand_threshold: float = HAND_THRESHOLD
    confidence_weight: float = CONFIDENCE_WEIGHT
    box_refine: float = BOX_REFINE
    joint_nms: float = JOINT_NMS
    retry_scale: float = RETRY_SCALE

    def validate(self) -> "TritonOptions":
        """ValueError naming the bad option and what it accepts."""
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {PLATFORMS}, got {self.platform!r}")
        if self.device not in ("gpu", "cpu"):
            raise ValueError(f"device must be 'gpu' or 'cpu', got {self.device!r}")
        for name in ("max_batch", "pipeline_instances", "max_hands"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        bad = [b for b in self.preferred_batch if not 1 <= b <= self.max_batch]
        if bad or not self.preferred_batch:
            raise ValueError(f"preferred batch sizes must lie in 1..max_batch ({self.max_batch}), got "
                             f"{list(self.preferred_batch)}; raise --max-batch or lower --preferred-batch")
        if self.queue_delay_us < 0:
            raise ValueError(f"queue_delay_us must be >= 0, got {self.queue_delay_us}")
        for name in ("box_threshold", "nms_iou", "min_hand_confidence", "hand_threshold", "confidence_weight",
                     "box_refine", "joint_nms"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be in 0..1, got {getattr(self, name)}")
        if not 0.0 <= float(self.retry_scale) < 1.0:
            raise ValueError(f"retry_scale must be in 0..1 (0 = one look), got {self.retry_scale}")
        if self.nms_nested is not None and not 0.0 <= float(self.nms_nested) <= 1.0:
            raise ValueError(f"nms_nested must be None (off) or in 0..1, got {self.nms_nested}")
        if not float(self.min_box_size) >= 0:
            raise ValueError(f"min_box_size must be frame pixels >= 0 (0 = off), got {self.min_box_size}")
        if not self.prefix.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"prefix must be letters, digits, '_' or '-', got {self.prefix!r}")
        return self

    def names(self) -> dict[str, str]:
        return {"localizer": f"{self.prefix}_localizer", "hand": f"{self.prefix}_hand", "pipeline": self.prefix}


@dataclass(frozen=True)
class TensorInfo:
    """One model input/output as ONNX declares it: dims with -1 for a dynamic axis."""

    name: str
    data_type: str
    dims: tuple[int, ...]


def read_signature(onnx_path: str | Path) -> tuple[list[TensorInfo], list[TensorInfo], dict[str, str]]:
    """(inputs, outputs, handjoints metadata) of an ONNX model, via onnxruntime (a runtime dependency)."""
    import onnxruntime as ort

    path = Path(onnx_path)
    if not path.is_file():
        raise FileNotFoundError(f"model {path} does not exist; export it first (`handjoints export`)")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def info(node) -> TensorInfo:
        if node.type not in ORT_TO_TRITON:
            raise ValueError(f"{path}: tensor {node.name} has type {node.type}, which this exporter does not map")
        dims = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in node.shape)
        return TensorInfo(node.name, ORT_TO_TRITON[node.type], dims)

    meta = session.get_modelmeta().custom_metadata_map
    metadata = {k.split(".", 1)[1]: v for k, v in meta.items() if k.startswith("handjoints.")}
    return [info(n) for n in session.get_inputs()], [info(n) for n in session.get_outputs()], metadata


# ------------------------------------------------------------------------------------------ config.pbtxt
def _dims(dims: Sequence[int]) -> str:
    return "[ " + ", ".join(str(int(d)) for d in dims) + " ]"


def _tensor_block(kind: str, tensors: Sequence[tuple], batched: bool) -> str:
    """input [...] / output [...]; a batched model's dims leave out the batch axis (Triton adds it)."""
    entries = []
    for t in tensors:
        name, dtype, dims = t[0], t[1], t[2]
        dims = dims[1:] if batched else dims
        optional = "\n    optional: true" if len(t) > 3 and t[3] else ""
        entries.append(f"  {{\n    name: \"{name}\"\n    data_type: {dtype}\n    dims: {_dims(dims)}{optional}\n  }}")
    return f"{kind} [\n" + ",\n".join(entries) + "\n]\n"


def _parameters(params: dict[str, object]) -> str:
    return "".join(f"parameters: {{\n  key: \"{k}\"\n  value: {{ string_value: \"{v}\" }}\n}}\n"
                   for k, v in params.items())


def model_config(name: str, platform: str, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo],
                 max_batch: int = 0, preferred_batch: Sequence[int] = (), queue_delay_us: int = 0,
                 device: str = "gpu", instances: int = 1) -> str:
    """config.pbtxt of one model. max_batch > 0: batched (the ONNX batch axis must be dynamic) with a
    dynamic batcher; 0: dims are the full shapes."""
    batched = max_batch > 0
    if batched:
        static = [t.name for t in (*inputs, *outputs) if t.dims[:1] != (-1,)]
        if static:
            raise ValueError(f"{name}: tensors {static} have a fixed first axis, so Triton cannot batch them; "
                             f"use max_batch 0 for this model or export it with a dynamic batch axis")
    text = f"name: \"{name}\"\nplatform: \"{platform}\"\nmax_batch_size: {max_batch}\n"
    text += _tensor_block("input", [(t.name, t.data_type, t.dims) for t in inputs], batched)
    text += _tensor_block("output", [(t.name, t.data_type, t.dims) for t in outputs], batched)
    if batched:
        text += (f"dynamic_batching {{\n  preferred_batch_size: {_dims(preferred_batch)}\n"
                 f"  max_queue_delay_microseconds: {int(queue_delay_us)}\n}}\n")
    kind = "KIND_GPU" if device == "gpu" else "KIND_CPU"
    return text + f"instance_group [\n  {{\n    count: {int(instances)}\n    kind: {kind}\n  }}\n]\n"


def pipeline_config(options: TritonOptions, params: dict[str, object]) -> str:
    """config.pbtxt of the Python-backend pipeline: one frame per request (max_batch_size 0)."""
    text = f"name: \"{options.names()['pipeline']}\"\nbackend: \"python\"\nmax_batch_size: 0\n"
    text += _tensor_block("input", PIPELINE_INPUTS, False)
    text += _tensor_block("output", PIPELINE_OUTPUTS, False)
    text += f"instance_group [\n  {{\n    count: {options.pipeline_instances}\n    kind: KIND_CPU\n  }}\n]\n"
    return text + _parameters(params)


# ------------------------------------------------------------------------------------------ the pipeline
class FramePipeline:
    """Frame -> hands with two inference callables, the SDK's preprocessing and decoding.

    run_localizer(frame (1, 3, H, W) float32) -> {'centers', 'sizes', 'offsets'};
    run_hand(crops (B, 3, S, S) float32) -> heatmaps (B, 21, h, w), or {'heatmaps', 'handedness' (B, 1)} for a hand
    model with the handedness output; called with B <= max_batch.
    Returns {'boxes' (N, 4), 'scores' (N,), 'keypoints' (N, 21, 2), 'confidence' (N, 21), 'handedness' (N,)}
    float32; handedness is P(right hand) as the frame shows it (NaN when the hand model has no such output).
    """

    def __init__(self, run_localizer: Callable, run_hand: Callable, crop_size: int, heatmap_stride: float,
                 box_stride: float = 4.0, localizer_long_side: int = 384, max_hands: int = 4,
                 box_threshold: float = BOX_THRESHOLD, nms_iou: float = 0.4, max_batch: int = 16,
                 min_hand_confidence: float = 0.0, auto_localizer_size: bool = False,
                 nms_nested: float | None = None, min_box_size: float = 0.0, hand_threshold: float = 0.0,
                 confidence_weight: float = 0.0, box_refine: float = 0.0, joint_nms: float = 0.0,
                 retry_scale: float = 0.0):
        self.run_localizer, self.run_hand = run_localizer, run_hand
        self.auto_localizer_size = bool(auto_localizer_size)   # as detect(): detector.auto_long_side
        self.crop_size, self.heatmap_stride, self.box_stride = int(crop_size), float(heatmap_stride), float(box_stride)
        self.long_side, self.max_hands = int(localizer_long_side), int(max_hands)
        self.box_threshold, self.nms_iou, self.max_batch = float(box_threshold), float(nms_iou), int(max_batch)
        self.min_hand_confidence = float(min_hand_confidence)
        self.nms_nested = None if nms_nested is None else float(nms_nested)
        self.min_box_size = float(min_box_size)
        self.hand_threshold, self.confidence_weight = float(hand_threshold), float(confidence_weight)
        self.box_refine = float(box_refine)
        self.joint_nms, self.retry_scale = float(joint_nms), float(retry_scale)

    @classmethod
    def from_parameters(cls, params: dict[str, str], run_localizer: Callable, run_hand: Callable) -> "FramePipeline":
        """From the string parameters export_triton writes into the pipeline's config.pbtxt."""
        return cls(run_localizer, run_hand, int(params["crop_size"]), float(params["heatmap_stride"]),
                   float(params["box_stride"]), int(params["localizer_long_side"]), int(params["max_hands"]),
                   float(params["box_threshold"]), float(params["nms_iou"]), int(params["max_batch"]),
                   float(params.get("min_hand_confidence", 0.0)),   # repositories written before it: off
                   params.get("auto_localizer_size", "false").lower() == "true",  # before it: fixed long side
                   _optional_float(params.get("nms_nested", "")),                   # before it: IoU NMS only
                   float(params.get("min_box_size", 0.0)),                          # before it: off
                   float(params.get("hand_threshold", 0.0)),                        # before it: the floor alone
                   float(params.get("confidence_weight", 0.0)),
                   float(params.get("box_refine", 0.0)),                            # before it: stage I's boxes
                   float(params.get("joint_nms", 0.0)),                             # before it: off
                   float(params.get("retry_scale", 0.0)))                           # before it: one look

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> dict[str, np.ndarray]:
        from .detector import as_bgr_frame, as_boxes, auto_long_side, retry_side

        frame = as_bgr_frame(image)
        if boxes is not None:
            return self._read(frame, as_boxes(boxes, frame.shape).astype(np.float32), None)
        size = (frame.shape[1], frame.shape[0])
        long_side = auto_long_side(size, self.long_side) if self.auto_localizer_size else self.long_side
        found = self._read(frame, *self._localize(frame, long_side))
        retry = retry_side(long_side, self.retry_scale)
        if len(found["boxes"]) == 0 and retry is not None:   # as detect(): a coarser second look
            found = self._read(frame, *self._localize(frame, retry))
        return found

    def _localize(self, frame: np.ndarray, long_side: int) -> tuple[np.ndarray, np.ndarray]:
        """Stage I at ``long_side``: boxes (N, 4) and scores (N,) float32, frame pixels."""
        from .detector import decode_localizer, localizer_input_size
        from .preprocess import letterbox

        tensor, lb = letterbox(frame, localizer_input_size((frame.shape[1], frame.shape[0]), long_side))
        return decode_localizer(self.run_localizer(tensor), lb, self.box_stride, self.box_threshold, self.max_hands,
                                self.nms_iou, self.nms_nested, self.min_box_size)

    def _read(self, frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray | None) -> dict[str, np.ndarray]:
        """Stage II on the boxes; with stage-I scores, the vote, joint_nms and the boxes' refinement as detect()."""
        from .postprocess import decode_joints, joint_nms, refine_boxes, verify_hands
        from .preprocess import crop_hands

        n = len(boxes)
        if n == 0:
            return {"boxes": np.zeros((0, 4), np.float32), "scores": np.zeros(0, np.float32),
                    "keypoints": np.zeros((0, 21, 2), np.float32), "confidence": np.zeros((0, 21), np.float32),
                    "handedness": np.zeros(0, np.float32)}
        crops, affines = crop_hands(frame, boxes, self.crop_size)
        heatmaps, right = self._hand_outputs([self.run_hand(crops[i:i + self.max_batch])
                                              for i in range(0, n, self.max_batch)], n)
        keypoints, confidence, _ = decode_joints(heatmaps, affines, self.heatmap_stride)
        keep = np.arange(n)
        if scores is None:
            scores = confidence.mean(axis=1)
        else:   # as detect(): stage II confirms found hands, never drops given boxes
            keep = verify_hands(scores, confidence.mean(axis=1), self.hand_threshold, self.confidence_weight,
                                self.min_hand_confidence)
            keep = keep[joint_nms(keypoints[keep], confidence[keep], self.joint_nms)]   # one hand found twice
            boxes = refine_boxes(boxes, keypoints, confidence, (frame.shape[1], frame.shape[0]), self.box_refine,
                                 BOX_REFINE_RAMP)
        return {"boxes": np.asarray(boxes, np.float32)[keep], "scores": np.asarray(scores, np.float32)[keep],
                "keypoints": keypoints.astype(np.float32)[keep], "confidence": confidence.astype(np.float32)[keep],
                "handedness": right[keep]}

    @staticmethod
    def _hand_outputs(parts: list, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(heatmaps, P(right hand) (n,) float32, NaN when the model gives none) from run_hand's chunks."""
        if not isinstance(parts[0], dict):
            return np.concatenate(parts), np.full(n, np.nan, np.float32)
        heatmaps = np.concatenate([p["heatmaps"] for p in parts])
        if "handedness" not in parts[0]:
            return heatmaps, np.full(n, np.nan, np.float32)
        return heatmaps, np.concatenate([np.asarray(p["handedness"], np.float32).reshape(-1) for p in parts])


# ----------------------------------------------------------------------------------------------- model.py
PIPELINE_MODEL_PY = '''"""handjoints pipeline for Triton's Python backend (written by `handjoints export-triton`).

Letterbox, crops and decoding come from handjoints_trt (install it in the server's Python environment:
docs/triton.md); the two networks run as the models {localizer!r} and {hand!r} through BLS, so the crops
of concurrent requests are batched by the hand model's dynamic batcher.
Inputs: image (H, W, 3) uint8 BGR; boxes (N, 4) float32, optional (given: stage I is skipped).
Outputs: boxes (N, 4), scores (N,), keypoints (N, 21, 2) frame pixels, confidence (N, 21), handedness (N,)
P(right hand) as the frame shows it (NaN when the hand model has no handedness output).
"""
import json

import triton_python_backend_utils as pb_utils

from handjoints_trt.triton import FramePipeline

LOCALIZER, HAND = {localizer!r}, {hand!r}
OUTPUTS = ("boxes", "scores", "keypoints", "confidence", "handedness")


def _infer(model, name, array, outputs):
    """One BLS call; a failed call raises with the server's message."""
    request = pb_utils.InferenceRequest(model_name=model, requested_output_names=list(outputs),
                                        inputs=[pb_utils.Tensor(name, array)])
    response = request.exec()
    if response.has_error():
        raise pb_utils.TritonModelException(f"{{model}}: {{response.error().message()}}")
    return {{o: pb_utils.get_output_tensor_by_name(response, o).as_numpy() for o in outputs}}


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {{k: v["string_value"] for k, v in config.get("parameters", {{}}).items()}}
        # the hand model's outputs: heatmaps, and handedness when the model has it (repositories before it: not)
        hand_outputs = ("heatmaps", "handedness") if params.get("handedness") == "true" else ("heatmaps",)
        self.pipeline = FramePipeline.from_parameters(
            params,
            lambda frame: _infer(LOCALIZER, "frame", frame, ("centers", "sizes", "offsets")),
            lambda crops: _infer(HAND, "crops", crops, hand_outputs))

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                image = pb_utils.get_input_tensor_by_name(request, "image").as_numpy()
                boxes = pb_utils.get_input_tensor_by_name(request, "boxes")
                result = self.pipeline(image, None if boxes is None else boxes.as_numpy())
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(name, result[name]) for name in OUTPUTS]))
            except Exception as exc:  # one bad request must not fail the others of the batch
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(exc))))
        return responses
'''


def _optional_float(text: str) -> float | None:
    """A config parameter that may be empty ('' = None)."""
    return float(text) if str(text).strip() else None


# ----------------------------------------------------------------------------------------------- export
def _stage_parameters(localizer_meta: dict, hand_inputs, hand_outputs, hand_meta: dict,
                      options: TritonOptions) -> dict[str, object]:
    """What the pipeline needs to know of the models: crop size, strides, the localizer's long side."""
    crop = hand_inputs[0].dims[2] if hand_inputs[0].dims[2] > 0 else int(hand_meta["input_size"])
    heat = hand_outputs[0].dims[2] if hand_outputs[0].dims[2] > 0 else crop // int(hand_meta.get("stride", 4))
    size = [int(v) for v in str(localizer_meta.get("input_size", "384")).lower().split("x")]
    return {"crop_size": crop, "heatmap_stride": crop / heat, "box_stride": localizer_meta.get("stride", "4"),
            "localizer_long_side": max(size), "max_hands": options.max_hands, "box_threshold": options.box_threshold,
            "nms_iou": options.nms_iou, "max_batch": options.max_batch,
            "min_hand_confidence": options.min_hand_confidence, "hand_threshold": options.hand_threshold,
            "confidence_weight": options.confidence_weight, "box_refine": options.box_refine,
            "joint_nms": options.joint_nms, "retry_scale": options.retry_scale,
            "auto_localizer_size": "true",
            "nms_nested": "" if options.nms_nested is None else options.nms_nested,
            "min_box_size": options.min_box_size,
            "handedness": "true" if any(t.name == "handedness" for t in hand_outputs) else "false"}


def _check_stage(path: Path, inputs, outputs, input_name: str, output_names: Sequence[str], flag: str) -> None:
    names_in, names_out = [t.name for t in inputs], [t.name for t in outputs]
    if names_in != [input_name] or not set(output_names) <= set(names_out):
        raise ValueError(f"--{flag} {path} has inputs {names_in} and outputs {names_out}; a {flag} model has "
                         f"input {input_name!r} and outputs {list(output_names)} (are the two models swapped?)")


def _model_file(target: Path, onnx_path: Path, plan: Path | None, platform: str, max_batch: int) -> list[Path]:
    """Copy the model into version 1; for tensorrt_plan without an engine, write how to build one there."""
    target.mkdir(parents=True, exist_ok=True)
    if platform == "onnxruntime_onnx":
        shutil.copyfile(onnx_path, target / "model.onnx")
        return [target / "model.onnx"]
    if plan is not None:
        if not Path(plan).is_file():
            raise FileNotFoundError(f"engine {plan} does not exist; build it with `handjoints build --output`")
        shutil.copyfile(plan, target / "model.plan")
        return [target / "model.plan"]
    return [_write_plan_recipe(target, onnx_path, max_batch)]


def _write_plan_recipe(target: Path, onnx_path: Path, max_batch: int) -> Path:
    """tensorrt_plan without a built engine: the ONNX beside a script that builds model.plan on the server's
    GPU with the server's TensorRT (an engine runs only on the GPU and TensorRT version that built it)."""
    from .engines.build import make_profile, trtexec_command

    shutil.copyfile(onnx_path, target / "model.onnx")
    command = trtexec_command(target / "model.onnx", "fp16", make_profile(onnx_path, max_batch=max_batch),
                              target / "model.plan",
                              trt_version="10.3")
    script = target / "build_plan.sh"
    script.write_text("#!/bin/sh\n# Run inside the Triton container (same TensorRT as the server), on the GPU "
                      "that serves:\n#   docker run --gpus=1 --rm -v $PWD:/models nvcr.io/nvidia/tritonserver:"
                      "<yy.mm>-py3 sh /models/<model>/1/build_plan.sh\nset -e\ncd \"$(dirname \"$0\")\"\n"
                      "PATH=\"$PATH:/usr/src/tensorrt/bin\"  # where NVIDIA's containers keep trtexec\n"
                      + command.replace(str(target) + "/", "") + "\n")
    script.chmod(0o755)
    return script


def export_triton(out: str | Path, localizer: str | Path | None = None, hand: str | Path | None = None,
                  options: TritonOptions | None = None, localizer_plan: str | Path | None = None,
                  hand_plan: str | Path | None = None, overwrite: bool = False) -> list[Path]:
    """Write the model repository; returns the files written. localizer / hand: ONNX files (None = shipped).
    With platform 'tensorrt_plan', *_plan are engines built for the serving GPU; without them each model folder
    gets the ONNX and build_plan.sh (docs/triton.md)."""
    from .models_registry import default_model_path

    options = (options or TritonOptions()).validate()
    localizer = Path(localizer) if localizer else default_model_path("localizer")
    hand = Path(hand) if hand else default_model_path("hand")
    loc_in, loc_out, loc_meta = read_signature(localizer)
    hand_in, hand_out, hand_meta = read_signature(hand)
    _check_stage(localizer, loc_in, loc_out, "frame", ("centers", "sizes", "offsets"), "localizer")
    _check_stage(hand, hand_in, hand_out, "crops", ("heatmaps",), "hand")
    out, names = Path(out), options.names()
    existing = [names[k] for k in names if (out / names[k]).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds {existing}; pass overwrite=True (--force) to replace them")
    written = []
    for key, path, plan, config in (
            ("localizer", localizer, localizer_plan,
             model_config(names["localizer"], options.platform, loc_in, loc_out, device=options.device)),
            ("hand", hand, hand_plan,
             model_config(names["hand"], options.platform, hand_in, hand_out, options.max_batch,
                          options.preferred_batch, options.queue_delay_us, options.device))):
        folder = out / names[key]
        shutil.rmtree(folder, ignore_errors=True)
        written += _model_file(folder / "1", path, plan, options.platform, options.max_batch)
        (folder / "config.pbtxt").write_text(config)
        written.append(folder / "config.pbtxt")
    folder = out / names["pipeline"]
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "1").mkdir(parents=True)
    params = _stage_parameters(loc_meta, hand_in, hand_out, hand_meta, options)
    (folder / "config.pbtxt").write_text(pipeline_config(options, params))
    (folder / "1" / "model.py").write_text(PIPELINE_MODEL_PY.format(localizer=names["localizer"], hand=names["hand"]))
    (out / "handjoints_repository.json").write_text(json.dumps(
        {"names": names, "platform": options.platform, "localizer": str(localizer), "hand": str(hand),
         "parameters": {k: str(v) for k, v in params.items()}}, indent=1))
    return written + [folder / "config.pbtxt", folder / "1" / "model.py", out / "handjoints_repository.json"]
