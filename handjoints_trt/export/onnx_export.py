"""PyTorch -> ONNX for both stages: dynamic axes, onnxsim simplification, metadata inside the file, and a parity
check against PyTorch that fails loudly past a tolerance.

Tensor names (the runtime's contract):
  hand stage:  crops (B, 3, S, S) float32  ->  heatmaps (B, 21, S/stride, S/stride) float32   (B dynamic)
               [+ handedness (B, 1) float32, P(right hand), when the network has the head: config.handedness_head]
  localizer:   frame (1, 3, H, W) float32  ->  centers (1, 1, H/4, W/4), sizes (1, 2, ...), offsets (1, 2, ...)
               (H, W dynamic multiples of 32; the runtime letterboxes every frame to a size of that form)
  orientation: crops (B, 3, S, S) float32  ->  direction (B, 2) float32, unit wrist -> middle-knuckle vectors in
               crop pixels (x right, y down)   (B dynamic; [ours], the any-angle mode's third network)
Known traps on torch 2.13: the default (dynamo) exporter needs onnxscript and must trace the hand stage with a
batch of at least 2, or the batch axis gets fixed; we ask for opset 18.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..fileio import atomic_path
from ..preprocess import NORMALIZATION
from ..skeleton import HandJoint

OPSET = 18
HAND_INPUT, HAND_OUTPUT = "crops", "heatmaps"
HANDEDNESS_OUTPUT = "handedness"   # optional second hand output: (B, 1) P(right hand)
LOCALIZER_INPUT, LOCALIZER_OUTPUTS = "frame", ("centers", "sizes", "offsets")
ORIENT_INPUT, ORIENT_OUTPUT = "crops", "direction"   # the hand-direction network (models/orient_net.py)
META_PREFIX = "handjoints."


class ExportParityError(RuntimeError):
    """The exported ONNX model does not reproduce PyTorch within tolerance."""


@dataclass
class ParityReport:
    """How closely ONNX Runtime reproduces PyTorch on the check inputs.
    max_abs: largest absolute difference over all outputs; peak: largest |PyTorch output| (for scale);
    joint_max_cells: (hand stage) largest distance between decoded joints, heatmap cells; kind: the stage checked
    ("hand", "localizer", "orientation"; joints are decoded for "hand" only)."""

    max_abs: float
    peak: float
    joint_max_cells: float = 0.0
    kind: str = "hand"


def model_metadata(kind: str, model_config: dict, recipe_hash: str = "", extra: dict | None = None) -> dict:
    """Everything a runtime needs to use the file, stored as ONNX metadata_props (strings)."""
    meta = {
        "kind": kind,
        "config": json.dumps(model_config, sort_keys=True),
        "joints": json.dumps([j.name.lower() for j in HandJoint]),
        "normalization": NORMALIZATION,
        "version": __version__,
        "recipe_hash": recipe_hash,
    }
    if kind == "hand":
        meta.update(input_size=str(model_config["crop_size"]), stride=str(model_config["stride"]),
                    input=HAND_INPUT, outputs=",".join(hand_output_names(model_config)))
    elif kind == "orientation":
        meta.update(input_size=str(model_config["crop_size"]), input=ORIENT_INPUT, outputs=ORIENT_OUTPUT)
    else:
        w, h = model_config["input_size"]
        meta.update(input_size=f"{w}x{h}", stride="4", input=LOCALIZER_INPUT, outputs=",".join(LOCALIZER_OUTPUTS))
    meta.update(extra or {})
    return {META_PREFIX + k: str(v) for k, v in meta.items()}


def read_metadata(path: str | Path) -> dict:
    """The handjoints metadata of an ONNX file (prefix stripped). Needs only the onnx package."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key[len(META_PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(META_PREFIX)}


def hand_output_names(model_config: dict) -> tuple[str, ...]:
    """The hand model's outputs: heatmaps, and handedness when the network has that head."""
    return (HAND_OUTPUT, HANDEDNESS_OUTPUT) if model_config.get("handedness_head") else (HAND_OUTPUT,)


def _wrap_hand(model):
    """A network with the handedness head exports both outputs; one without it, the heatmaps alone."""
    import torch

    if getattr(model, "handedness", None) is None:
        return model

    class HandExport(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner.forward_with_handedness(x)

    return HandExport(model).eval()


def _wrap_localizer(model):
    import torch

    class LocalizerExport(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, frame):
            out = self.inner(frame)
            return out["centers"], out["sizes"], out["offsets"]

    return LocalizerExport(model).eval()


def _torch_export(module, example, path: Path, input_name: str, output_names, dynamic_shapes) -> None:
    import torch

    torch.onnx.export(module, (example,), str(path), dynamo=True, opset_version=OPSET,
                      input_names=[input_name], output_names=list(output_names),
                      dynamic_shapes=dynamic_shapes, optimize=True, verbose=False)


def _simplify(path: Path) -> None:
    import onnx

    try:
        from onnxsim import simplify
    except ImportError:  # onnxsim is in the train extra; the exported graph is already optimised
        return
    model, ok = simplify(onnx.load(str(path)))
    if ok:
        onnx.save(model, str(path))


def _write_metadata(path: Path, metadata: dict) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for k, v in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export_hand(model, model_config: dict, out: str | Path, recipe_hash: str = "", check: bool = True,
                tolerance: float = 1e-3, simplify: bool = True) -> ParityReport | None:
    """Export a HandNet with a dynamic batch axis (the number of hands in a frame)."""
    import torch

    model = model.eval()
    s = model_config["crop_size"]
    example = torch.rand(2, 3, s, s) - 0.5  # batch >= 2, or dynamo fixes the axis
    batch = torch.export.Dim("hands", min=1, max=256)
    return _export(_wrap_hand(model), example, out, HAND_INPUT, hand_output_names(model_config), {"x": {0: batch}},
                   model_metadata("hand", model_config, recipe_hash), check, tolerance, simplify, "hand")


def export_localizer(model, model_config: dict, out: str | Path, recipe_hash: str = "", check: bool = True,
                     tolerance: float = 1e-3, simplify: bool = True) -> ParityReport | None:
    """Export a Localizer with dynamic height and width (multiples of 32, 128..1280)."""
    import torch

    w, h = model_config["input_size"]
    example = torch.rand(1, 3, h, w) - 0.5
    dims = {2: 32 * torch.export.Dim("h32", min=4, max=40), 3: 32 * torch.export.Dim("w32", min=4, max=40)}
    return _export(_wrap_localizer(model.eval()), example, out, LOCALIZER_INPUT, LOCALIZER_OUTPUTS,
                   {"frame": dims}, model_metadata("localizer", model_config, recipe_hash), check, tolerance,
                   simplify, "localizer")


def export_orientation(model, model_config: dict, out: str | Path, recipe_hash: str = "", check: bool = True,
                       tolerance: float = 1e-3, simplify: bool = True) -> ParityReport | None:
    """Export an OrientNet with a dynamic batch axis (the number of hands in a frame)."""
    import torch

    s = model_config["crop_size"]
    example = torch.rand(2, 3, s, s) - 0.5  # batch >= 2, or dynamo fixes the axis
    batch = torch.export.Dim("hands", min=1, max=256)
    return _export(model.eval(), example, out, ORIENT_INPUT, (ORIENT_OUTPUT,), {"crops": {0: batch}},
                   model_metadata("orientation", model_config, recipe_hash), check, tolerance, simplify,
                   "orientation")


def _export(module, example, out, input_name, output_names, dynamic_shapes, metadata, check, tolerance,
            simplify, kind) -> ParityReport | None:
    with atomic_path(out, ".onnx") as tmp:  # only a checked file ever appears under the final name
        try:
            _torch_export(module, example, tmp, input_name, output_names, dynamic_shapes)
            if simplify:
                _simplify(tmp)
            _write_metadata(tmp, metadata)
            report = check_parity(module, tmp, kind, tolerance) if check else None
        finally:
            # the exporter may write weights beside the graph; the saved file holds them inline
            Path(str(tmp) + ".data").unlink(missing_ok=True)
    return report


def _check_inputs(kind: str, session) -> list[np.ndarray]:
    """Inputs for the parity check: several batch sizes / frame sizes, smooth image-like content."""
    rng = np.random.default_rng(0)
    shape = session.get_inputs()[0].shape
    if kind in ("hand", "orientation"):
        s = int(shape[2])
        sizes = [(1, s, s), (3, s, s)]
    else:
        sizes = [(1, 320, 320), (1, 288, 512)]
    inputs = []
    for b, h, w in sizes:
        import cv2

        small = rng.uniform(0, 255, (b, 8, 8, 3)).astype(np.float32)
        img = np.stack([cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC) for x in small])
        inputs.append((np.clip(img, 0, 255).transpose(0, 3, 1, 2) / 255 - 0.5).astype(np.float32))
    return inputs


def check_parity(module, onnx_path: str | Path, kind: str, tolerance: float = 1e-3) -> ParityReport:
    """Run PyTorch and ONNX Runtime on the same inputs; raise ExportParityError past `tolerance` (absolute,
    relative to the output's peak magnitude) or when decoded joints move by more than 0.1 heatmap cell."""
    import onnxruntime as ort
    import torch

    from ..postprocess import decode_heatmaps

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    max_abs = peak = joint = 0.0
    for x in _check_inputs(kind, session):
        got = session.run(None, {name: x})
        with torch.no_grad():
            ref = module(torch.from_numpy(x))
        ref = [r.numpy() for r in (ref if isinstance(ref, (tuple, list)) else (ref,))]
        for a, b in zip(got, ref):
            if a.shape != b.shape:
                raise ExportParityError(f"{onnx_path}: output shape {a.shape} != PyTorch {b.shape} for input "
                                        f"{x.shape}")
            max_abs = max(max_abs, float(np.abs(a - b).max()))
            peak = max(peak, float(np.abs(b).max()))
        if kind == "hand":
            joint = max(joint, float(np.abs(decode_heatmaps(got[0])[0] - decode_heatmaps(ref[0])[0]).max()))
    report = ParityReport(max_abs, peak, joint, kind)
    if max_abs > tolerance * max(peak, 1.0) or joint > 0.1:
        raise ExportParityError(f"{onnx_path}: ONNX Runtime differs from PyTorch: max |diff| {max_abs:.3g} "
                                f"(tolerance {tolerance:g} x peak {peak:.3g}), joints moved {joint:.3g} cells")
    return report


def export_checkpoint(checkpoint: str | Path, out: str | Path, check: bool = True,
                      tolerance: float = 1e-3, average: bool = False) -> ParityReport | None:
    """Export a trainer checkpoint (best.pt / last.pt) of either stage; ``average``: its run's weight average
    instead of its raw weights (training.loop.load_checkpoint)."""
    from ..models import build_model
    from ..training.loop import load_checkpoint

    state = load_checkpoint(checkpoint, average=average)
    kind = state["stage"]
    model = build_model(kind, state["model_config"])
    model.load_state_dict(state["model"])
    fn = {"hand": export_hand, "localizer": export_localizer, "orientation": export_orientation}[kind]
    return fn(model, state["model_config"], out, state.get("recipe_hash", ""), check, tolerance)


def export_untrained_lite(folder: str | Path) -> dict[str, Path]:
    """Untrained 'lite' networks of both stages, exported once per folder with their trainer-format
    checkpoints beside them: {'hand', 'localizer', 'hand_pt', 'localizer_pt'}. For tests and timing (which
    does not depend on the weights); their accuracy is meaningless."""
    import torch

    from ..models import build_model
    from ..models.config import hand_config, localizer_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, config in (("hand", hand_config("lite")), ("localizer", localizer_config("lite"))):
        pt, onnx_path = folder / f"{kind}.pt", folder / f"{kind}.onnx"
        if not onnx_path.is_file():
            torch.manual_seed(0)
            model = build_model(kind, config)
            torch.save({"model": model.state_dict(), "model_config": config.to_dict(), "stage": kind}, pt)
            export_checkpoint(pt, onnx_path)
        paths[kind], paths[f"{kind}_pt"] = onnx_path, pt
    return paths
