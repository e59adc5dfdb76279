"""PyTorch backend: the reference the exported engines are checked against (needs the train extra).

It builds the network from a trainer checkpoint ({model, model_config, stage}, training.loop), or from an
exported ONNX file's metadata (kind + config) plus a sibling checkpoint with the same stem (``hand.onnx``
+ ``hand.pt``; or ``checkpoint=``), and exposes the ONNX contract's names: crops -> heatmaps,
frame -> centers, sizes, offsets, and for the any-angle hand-direction network crops -> direction. torch is
imported when this backend is made, never before.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from .base import BackendBase, TensorSpec, strip_metadata
from .onnxruntime import missing_model_message

CHECKPOINT_SUFFIXES = (".pt", ".pth")


def _onnx_metadata(path: Path) -> dict:
    """The handjoints metadata of an ONNX file, read through ONNX Runtime (no onnx package needed)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ValueError(f"{path} is not a usable ONNX model; ONNX Runtime said: {exc}") from exc
    return strip_metadata(session.get_modelmeta().custom_metadata_map)


def _sibling_checkpoint(onnx_path: Path) -> Path:
    for suffix in CHECKPOINT_SUFFIXES:
        candidate = onnx_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the torch backend needs the weights of {onnx_path}: put the trainer checkpoint "
                            f"beside it as {onnx_path.with_suffix('.pt')}, pass checkpoint=..., or give the "
                            f"checkpoint itself as the model")


def _load_state(path: Path) -> dict:
    """A trainer checkpoint (via training.loop.load_checkpoint)."""
    from ..training.loop import load_checkpoint

    return load_checkpoint(path)


def _resolve(model: Path, checkpoint: Path | None) -> tuple[str, dict, dict]:
    """(kind, model_config, state_dict) from a checkpoint, or from ONNX metadata + checkpoint."""
    if model.suffix == ".onnx":
        meta = _onnx_metadata(model)
        if "kind" not in meta or "config" not in meta:
            raise ValueError(f"{model} has no handjoints metadata (kind, config): export it with "
                             f"`handjoints export` so the torch backend can rebuild the network")
        state = _load_state(Path(checkpoint) if checkpoint else _sibling_checkpoint(model))
        config = json.loads(meta["config"])
        if state["model_config"] != config:
            raise ValueError(f"the checkpoint's model_config differs from {model}'s metadata config; pair the "
                             f"ONNX file with the checkpoint it was exported from")
        return meta["kind"], config, state["model"]
    state = _load_state(model)
    if "stage" not in state:
        raise ValueError(f"{model} has no 'stage' entry (hand or localizer); it is not a trainer checkpoint")
    return state["stage"], state["model_config"], state["model"]


def _pick_device(device: str):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device; use device='cpu'")
    return dev


def _specs(kind: str, config: dict) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    if kind == "hand":
        s, k = config["crop_size"], config.get("num_joints", 21)
        h = s // config["stride"]
        outputs = (TensorSpec("heatmaps", (-1, k, h, h)),)
        if config.get("handedness_head"):   # the ONNX export's optional second output
            outputs += (TensorSpec("handedness", (-1, 1)),)
        return (TensorSpec("crops", (-1, 3, s, s)),), outputs
    if kind == "orientation":
        s = config["crop_size"]
        return (TensorSpec("crops", (-1, 3, s, s)),), (TensorSpec("direction", (-1, 2)),)
    return (TensorSpec("frame", (1, 3, -1, -1)),), tuple(
        TensorSpec(name, (1, c, -1, -1)) for name, c in (("centers", 1), ("sizes", 2), ("offsets", 2)))


class TorchBackend(BackendBase):
    """The PyTorch reference (eval mode, no_grad, CPU or CUDA).

    model: trainer checkpoint (.pt) or exported ONNX file with a sibling checkpoint. device: 'auto',
    'cpu', 'cuda[:N]'. threads: torch intra-op threads (0 = leave torch's setting; this is process-wide
    in torch). precision, max_batch, engine_cache, providers are accepted for a uniform signature and
    ignored.
    """

    name = "torch"

    def __init__(self, model: str | Path, device: str = "auto", threads: int = 0,
                 checkpoint: str | Path | None = None, precision: str | None = None,
                 max_batch: int | None = None, engine_cache=None, providers=None):
        try:
            import torch
        except ImportError as exc:
            raise ImportError(f"the 'torch' backend needs PyTorch ({exc}); pip install 'handjoints_trt[train]', "
                              f"or use backend='onnxruntime'") from exc

        from ..export.onnx_export import model_metadata
        from ..models import build_model

        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(missing_model_message(path))
        kind, config, weights = _resolve(path, Path(checkpoint) if checkpoint else None)
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self._device = _pick_device(device)
        self._model = build_model(kind, config)
        self._model.load_state_dict(weights)
        self._model.eval().to(self._device)
        self.kind = kind
        self.path = path
        self.inputs, self.outputs = _specs(kind, config)
        self.metadata = strip_metadata(model_metadata(kind, config))
        self.max_batch = None

    def _run(self, feeds: dict[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        torch = self._torch
        x = torch.from_numpy(feeds[self.inputs[0].name]).to(self._device)
        with torch.no_grad():
            if self.kind == "hand" and len(self.outputs) == 2:
                heatmaps, right = self._model.forward_with_handedness(x)
                return {"heatmaps": heatmaps.float().cpu().numpy(), "handedness": right.float().cpu().numpy()}
            out = self._model(x)
        if self.kind == "hand":
            return {"heatmaps": out.float().cpu().numpy()}
        if self.kind == "orientation":
            return {"direction": out.float().cpu().numpy()}
        return {name: out[name].float().cpu().numpy() for name in ("centers", "sizes", "offsets")}

    def _release(self) -> None:
        self._model = None
