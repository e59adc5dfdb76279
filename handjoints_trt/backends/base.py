"""The one seam every backend fits: TensorSpec, the Backend protocol, the registry and load_backend.

A backend runs one ONNX-contract model (ARCHITECTURE.md): hand stage ``crops`` (B, 3, S, S) ->
``heatmaps`` (B, 21, S/stride, S/stride); localizer ``frame`` (1, 3, H, W) -> ``centers``, ``sizes``,
``offsets`` (1, C, H/4, W/4). Whatever the backend, ``infer`` returns float32 C-contiguous NumPy arrays
keyed by output name, and every backend checks its feeds with :func:`validate_feeds`, so a wrong name,
dtype or shape fails the same way everywhere.

Backends are named lazily in :data:`BACKENDS` ("module:Class") and imported on use: importing this module
imports no backend library, no torch and no TensorRT (ARCHITECTURE.md, walls 1 and 2).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

META_PREFIX = "handjoints."

BACKENDS: dict[str, str] = {
    "tensorrt": "handjoints_trt.backends.tensorrt:TensorRTBackend",
    "onnxruntime": "handjoints_trt.backends.onnxruntime:OnnxRuntimeBackend",
    "torch": "handjoints_trt.backends.torch:TorchBackend",
}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: name, shape (-1 = dynamic axis) and NumPy dtype name ('float32')."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def describe(self) -> str:
        dims = ", ".join("?" if d < 0 else str(d) for d in self.shape)
        return f"{self.name}: {self.dtype} ({dims})"


@runtime_checkable
class Backend(Protocol):
    """What the detector needs from a backend (see the module docstring)."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: dict
    max_batch: int | None

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Backend": ...

    def __exit__(self, *exc) -> None: ...


class BackendBase:
    """Shared behaviour: feed validation, output normalisation, closing, context manager.

    Subclasses set name, inputs, outputs, metadata, max_batch and implement ``_run(feeds) -> dict``
    and ``_release()``.
    """

    name = "base"
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    metadata: dict = {}
    max_batch: int | None = None
    _closed = False

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model. feeds: {input name: array}; returns {output name: float32 C-contiguous array}."""
        if self._closed:
            raise RuntimeError(f"the {self.name} backend was closed; make a new one to run the model again")
        checked = validate_feeds(self.inputs, feeds)
        return as_outputs(self._run(checked), self.outputs)

    def _run(self, feeds: dict[str, np.ndarray]) -> Mapping[str, Any]:
        raise NotImplementedError

    def _release(self) -> None:
        pass

    def close(self) -> None:
        """Free the session/model; idempotent."""
        if not self._closed:
            self._release()
            self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        ins = "; ".join(s.describe() for s in self.inputs)
        outs = "; ".join(s.describe() for s in self.outputs)
        return f"<{type(self).__name__} {ins} -> {outs}{' (closed)' if self._closed else ''}>"


def validate_feeds(specs: tuple[TensorSpec, ...], feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Check feeds against the model's inputs; returns them C-contiguous.

    Raises TypeError when feeds is not a mapping or a value is not a NumPy array, ValueError naming the
    tensor, the expected and the given for a missing or unknown name, a wrong dtype, rank or fixed dim.
    """
    if not isinstance(feeds, Mapping):
        raise TypeError(f"feeds must be a dict {{input name: numpy array}}, got {type(feeds).__name__}; "
                        f"the model's inputs are {[s.describe() for s in specs]}")
    expected = {s.name for s in specs}
    missing = [s for s in specs if s.name not in feeds]
    if missing:
        raise ValueError(f"missing input {missing[0].name!r} (expected {missing[0].describe()}); "
                         f"the model's inputs are {sorted(expected)}, got {sorted(map(str, feeds))}")
    extra = sorted(str(k) for k in feeds if k not in expected)
    if extra:
        raise ValueError(f"unknown input(s) {extra}: the model's inputs are "
                         f"{[s.describe() for s in specs]}")
    return {s.name: _check_tensor(s, feeds[s.name]) for s in specs}


def _check_tensor(spec: TensorSpec, value) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"input {spec.name!r} must be a numpy array ({spec.describe()}), got "
                        f"{type(value).__name__}")
    if value.dtype != np.dtype(spec.dtype):
        raise ValueError(f"input {spec.name!r} must be {spec.dtype}, got {value.dtype}; convert it with "
                         f".astype(np.{spec.dtype}) (expected {spec.describe()})")
    if value.ndim != len(spec.shape):
        raise ValueError(f"input {spec.name!r} must have rank {len(spec.shape)} ({spec.describe()}), got "
                         f"shape {value.shape}")
    for axis, (want, got) in enumerate(zip(spec.shape, value.shape)):
        if want >= 0 and want != got:
            raise ValueError(f"input {spec.name!r} axis {axis} must be {want} ({spec.describe()}), got shape "
                             f"{value.shape}")
    if 0 in value.shape:
        raise ValueError(f"input {spec.name!r} is empty (shape {value.shape}); skip the call when there is "
                         f"nothing to run")
    return np.ascontiguousarray(value)


def as_outputs(raw: Mapping[str, Any], specs: tuple[TensorSpec, ...]) -> dict[str, np.ndarray]:
    """Backend results -> {output name: float32 C-contiguous array}, in the specs' order."""
    out = {}
    for spec in specs:
        out[spec.name] = np.ascontiguousarray(np.asarray(raw[spec.name]), dtype=np.float32)
    return out


def strip_metadata(custom: Mapping[str, str]) -> dict[str, str]:
    """ONNX custom metadata -> the handjoints entries with the prefix stripped."""
    return {k[len(META_PREFIX):]: v for k, v in custom.items() if k.startswith(META_PREFIX)}


def cuda_device_count() -> int:
    """Number of CUDA devices the driver sees; 0 when libcuda is absent or fails.

    Uses the driver API through ctypes (cuInit + cuDeviceGetCount): no context is created and no
    TensorRT runtime is made (on a machine without a GPU that logs CUDA error 35 and may segfault).
    """
    names = ["libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda") or "", "nvcuda.dll"]
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            if lib.cuInit(0) != 0:
                return 0
            count = ctypes.c_int(0)
            if lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
            return int(count.value)
        except AttributeError:
            return 0
    return 0


def tensorrt_available() -> bool:
    """True only when a CUDA device is present AND the tensorrt module imports."""
    try:
        if importlib.util.find_spec("tensorrt") is None or cuda_device_count() < 1:
            return False
        importlib.import_module("tensorrt")
    except Exception:  # a broken install (missing libnvinfer, a hiding import hook) must not break 'auto'
        return False
    return True


def resolve_kind(kind: str) -> str:
    """'auto' -> 'tensorrt' when tensorrt_available(), else 'onnxruntime'; other names are checked."""
    if kind == "auto":
        return "tensorrt" if tensorrt_available() else "onnxruntime"
    if kind not in BACKENDS:
        raise ValueError(f"unknown backend {kind!r}; choose one of {['auto', *BACKENDS]}")
    return kind


def backend_class(kind: str) -> type:
    """Import and return the class registered for ``kind`` (imports its library only now)."""
    target = BACKENDS[resolve_kind(kind)]
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = {"tensorrt": "pip install 'handjoints_trt[trt]' on a machine with an NVIDIA GPU",
                "torch": "pip install 'handjoints_trt[train]'",
                "onnxruntime": "pip install onnxruntime"}.get(kind, "")
        raise ImportError(f"the {kind!r} backend cannot be loaded ({exc}); {hint}") from exc
    return getattr(module, class_name)


def load_backend(model: str | Path, kind: str = "auto", **options) -> Backend:
    """Open ``model`` with the backend ``kind`` ('auto', 'tensorrt', 'onnxruntime', 'torch').

    options go to the backend's constructor (e.g. threads for ONNX Runtime, precision / max_batch /
    engine_cache for TensorRT, device for torch).
    """
    return backend_class(kind)(Path(model), **options)
