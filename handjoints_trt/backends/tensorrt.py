"""TensorRT backend: an engine from the cache (built from the ONNX model on first use) or a user's .engine file.

Runs with the named-tensor API only (TensorRT 8.5+): set_input_shape, set_tensor_address, execute_async_v3.
Buffers are allocated ONCE, sized from the optimisation profile's maximum, so tensor addresses never change
(which is also what lets a CUDA graph replay the enqueue). Host buffers are pinned; one stream.
Importing this module imports neither tensorrt nor any CUDA binding; constructing a backend without a GPU
raises NoGpuError before any TensorRT object exists (a TensorRT runtime on a GPU-less machine logs
"CUDA error 35" and then segfaults).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .base import BackendBase, TensorSpec
from .cuda import CudaSession, NoGpuError, device_info, require_gpu

log = logging.getLogger("handjoints_trt.backends.tensorrt")

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")
# Options other backends take; accepted here so that one set of options fits backend="auto".
_OTHER_BACKENDS_OPTIONS = {"threads", "providers"}
__all__ = ["TensorRTBackend", "NoGpuError"]


def _device_index(device: Any) -> int:
    """0, "cuda", "cuda:1" -> the CUDA ordinal."""
    if device is None or device == "cuda":
        return 0
    if isinstance(device, int):
        return device
    if isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit():
        return int(device[5:])
    raise ValueError(f"device must be a CUDA ordinal, 'cuda' or 'cuda:N' for TensorRT, got {device!r}")


class TensorRTBackend(BackendBase):
    """One model on TensorRT.

    model: an ONNX file (its engine is built on first use and cached) or an .engine/.plan file with its
    sidecar; precision: "fp32" | "fp16" | "int8" (ONNX only); max_batch: the hand stage's largest batch
    (profile maximum; buffers are sized from it); engine_cache: an EngineCache or a folder (default
    ~/.cache/handjoints_trt/engines); dla_core: Jetson DLA core; cuda_graph: replay the enqueue as a CUDA
    graph (re-captured whenever the input shape changes, so it pays off for steady shapes);
    options: device (0 / "cuda:N"), workspace_mb, timing_cache, min_size / opt_size / max_size (localizer,
    HxW), min_batch / opt_batch, progress, rebuild. The DLA takes fixed shapes only: with dla_core give
    min_batch = opt_batch = max_batch (hand) or one size (localizer).
    """

    name = "tensorrt"

    def __init__(self, model: str | Path, precision: str = "fp16", max_batch: int = 16, engine_cache=None,
                 dla_core: int | None = None, cuda_graph: bool = False, **options):
        self._cu = None
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        self.device = _device_index(options.pop("device", None))
        require_gpu(self.device)  # first: nothing of TensorRT may run on a machine without a GPU
        from ..engines.build import _import_trt, _make_logger

        trt = self._trt = _import_trt()
        self._logger = _make_logger(trt)
        data = self._engine_bytes(path, precision, max_batch, engine_cache, dla_core, options)
        try:
            self._open(data, dla_core)
            self._check_contract()
            self._allocate()
        except BaseException:
            self._release()  # free what was made before the failure
            raise
        self.cuda_graph = bool(cuda_graph)
        self._graph_shapes: tuple | None = None

    # ------------------------------------------------------------------------------------------ engine
    def _engine_bytes(self, path: Path, precision, max_batch, engine_cache, dla_core, options) -> bytes:
        from ..engines.build import get_or_build, make_profile, onnx_signature
        from ..engines.cache import validate_engine_file

        ignored = sorted(k for k in options if k in _OTHER_BACKENDS_OPTIONS)
        if ignored:
            log.debug("TensorRT ignores options %s (they belong to other backends)", ignored)
        size_opts = {k: options.pop(k) for k in ("min_size", "opt_size", "max_size", "min_batch", "opt_batch")
                     if k in options}
        build_opts = {k: options.pop(k) for k in ("workspace_mb", "timing_cache", "progress", "rebuild",
                                                  "calibration_cache") if k in options}
        unknown = sorted(k for k in options if k not in _OTHER_BACKENDS_OPTIONS)
        if unknown:
            raise TypeError(f"unknown TensorRT backend option(s) {unknown}")
        cc = device_info(self.device).compute_capability
        if path.suffix in ENGINE_SUFFIXES:
            meta = validate_engine_file(path, {"trt_version": self._trt.__version__, "compute_capability": cc,
                                               "dla_core": dla_core})
            self.metadata = dict(meta.get("model_metadata", {}))
            self.precision, self.engine_path, self.onnx_inputs = meta["key"]["precision"], path, None
            return path.read_bytes()
        profile = make_profile(path, max_batch=max_batch, **size_opts)
        data, self.engine_path = get_or_build(path, precision, engine_cache, profile, dla_core=dla_core,
                                              device=self.device, **build_opts)
        inputs, self.metadata = onnx_signature(path)
        self.onnx_inputs = [name for name, _dims in inputs]
        self.precision = precision
        return data

    def _open(self, data: bytes, dla_core: int | None) -> None:
        trt = self._trt
        self._cu = CudaSession(self.device)  # the CUDA context exists before TensorRT's runtime
        self._runtime = trt.Runtime(self._logger)
        if dla_core is not None:
            self._runtime.DLA_core = int(dla_core)
        mark = self._logger.mark()
        self._engine = self._runtime.deserialize_cuda_engine(data)  # None on failure (the reason is logged)
        if self._engine is None:
            from ..engines.cache import EngineFileError

            raise EngineFileError(f"TensorRT {trt.__version__} could not load {self.engine_path}: "
                                  + ("; ".join(self._logger.errors_since(mark)) or "no reason given")
                                  + ". Delete it (and its .json sidecar) to rebuild")
        self._context = self._engine.create_execution_context()  # None on failure (e.g. out of device memory)
        if self._context is None:
            raise RuntimeError(f"TensorRT could not create an execution context for {self.engine_path}: "
                               + ("; ".join(self._logger.errors_since(mark)) or "no reason given"))

    def _tensors(self) -> list[tuple[str, bool, tuple, str]]:
        """(name, is_input, shape with -1, dtype name) per I/O tensor (num_io_tensors etc.: 8.5+)."""
        trt, eng = self._trt, self._engine
        out = []
        for i in range(eng.num_io_tensors):
            name = eng.get_tensor_name(i)
            is_input = eng.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            dtype = eng.get_tensor_dtype(name)
            try:
                dtype_name = np.dtype(trt.nptype(dtype)).name
            except TypeError:  # a type NumPy lacks (BF16, FP8...): reported by _check_contract
                dtype_name = str(dtype)
            out.append((name, is_input, tuple(eng.get_tensor_shape(name)), dtype_name))
        return out

    def _check_contract(self) -> None:
        """The engine's tensors must be the ONNX contract's: names from the metadata, float32 I/O."""
        tensors = self._tensors()
        ins = tuple(TensorSpec(n, s, d) for n, is_in, s, d in tensors if is_in)
        outs = tuple(TensorSpec(n, s, d) for n, is_in, s, d in tensors if not is_in)
        want_in = [self.metadata["input"]] if "input" in self.metadata else self.onnx_inputs
        want_out = self.metadata["outputs"].split(",") if "outputs" in self.metadata else None
        if want_in is not None and sorted(want_in) != sorted(s.name for s in ins):
            raise ValueError(f"{self.engine_path}: engine inputs {[s.name for s in ins]} are not the model's "
                             f"{want_in}; rebuild the engine from the ONNX model")
        if want_out is not None and sorted(want_out) != sorted(s.name for s in outs):
            raise ValueError(f"{self.engine_path}: engine outputs {[s.name for s in outs]} are not the model's "
                             f"{want_out}; rebuild the engine from the ONNX model")
        bad = [s.describe() for s in ins + outs if s.dtype != "float32"]
        if bad:
            raise ValueError(f"{self.engine_path}: inputs and outputs must be float32, got {bad}; build from an "
                             f"ONNX model with float32 I/O (export/fp16.py keeps it so)")
        self.inputs, self.outputs = ins, outs

    def _allocate(self) -> None:
        """Device + pinned host buffers sized from the profile maximum; addresses are set once."""
        eng, ctx, cu = self._engine, self._context, self._cu
        self._limits = {}
        for spec in self.inputs:
            mn, _opt, mx = (tuple(s) for s in eng.get_tensor_profile_shape(spec.name, 0))  # 8.5+
            self._limits[spec.name] = (mn, mx)
            ctx.set_input_shape(spec.name, mx)  # 8.5+; max inputs -> max outputs below
        self.max_batch = max(mx[0] for _mn, mx in self._limits.values())
        self._host, self._dev = {}, {}
        for spec in self.inputs + self.outputs:
            shape = tuple(ctx.get_tensor_shape(spec.name))  # 8.5+; concrete once every input shape is set
            self._host[spec.name] = cu.pinned((int(np.prod(shape)),), np.float32)
            self._dev[spec.name] = cu.alloc(self._host[spec.name].nbytes)
            ctx.set_tensor_address(spec.name, self._dev[spec.name])  # 8.5+

    # ------------------------------------------------------------------------------------------ run
    def _check_shape(self, name: str, shape: tuple) -> None:
        mn, mx = self._limits[name]
        if any(s < a or s > b for s, a, b in zip(shape, mn, mx)):
            raise ValueError(f"input {name!r} shape {shape} is outside the engine's profile {mn}..{mx}; "
                             f"split the batch, or rebuild with a larger max_batch / max_size")

    def _enqueue(self) -> None:
        mark = self._logger.mark()
        ok = self._context.execute_async_v3(self._cu.stream)  # 8.5+; False on failure (the reason is logged)
        if not ok:
            raise RuntimeError("TensorRT execute_async_v3 failed: " + ("; ".join(self._logger.errors_since(mark))
                                                                      or "no reason given"))

    def _execute(self, shapes: tuple) -> None:
        if not self.cuda_graph:
            return self._enqueue()
        if self._graph_shapes != shapes:  # a graph freezes shapes: capture anew when they change
            self._cu.drop_graph()
            self._enqueue()  # TensorRT asks for one plain run after a shape change, before capture
            self._cu.begin_capture()
            try:
                self._enqueue()
            finally:
                self._cu.end_capture()
            self._graph_shapes = shapes
        self._cu.launch_graph()

    def _run(self, feeds: dict[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        ctx, cu = self._context, self._cu
        # A fixed-batch engine (DLA: min = max batch) still takes any number of hands up to its batch:
        # pad with zero crops, drop their outputs.
        count = min(x.shape[0] for x in feeds.values())
        feeds = {name: pad_batch(x, self._limits[name][0][0]) for name, x in feeds.items()}
        for name, x in feeds.items():
            self._check_shape(name, x.shape)
            host = self._host[name][: x.size].reshape(x.shape)
            host[...] = x
            ctx.set_input_shape(name, x.shape)
            cu.h2d(self._dev[name], host)
        self._execute(tuple(x.shape for x in feeds.values()))
        views = {}
        for spec in self.outputs:
            shape = tuple(ctx.get_tensor_shape(spec.name))
            views[spec.name] = self._host[spec.name][: int(np.prod(shape))].reshape(shape)
            cu.d2h(views[spec.name], self._dev[spec.name])
        cu.synchronize()
        padded = any(x.shape[0] > count for x in feeds.values())
        # copies: the pinned buffers are reused by the next call
        return {k: (v[:count] if padded else v).copy() for k, v in views.items()}

    def _release(self) -> None:
        if self._cu is not None:  # a failed run may have left work queued that uses the context's memory
            try:
                self._cu.synchronize()
            except Exception:  # reported again by close() below
                pass
        for attr in ("_context", "_engine", "_runtime"):  # TensorRT objects before the memory they use
            if hasattr(self, attr):
                delattr(self, attr)
        if self._cu is not None:
            self._cu.close()
            self._cu = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def pad_batch(x: np.ndarray, min_batch: int) -> np.ndarray:
    """``x`` with zero items appended along axis 0 up to ``min_batch`` (unchanged when it has that many)."""
    if x.shape[0] >= min_batch:
        return x
    pad = np.zeros((min_batch - x.shape[0],) + x.shape[1:], x.dtype)
    return np.concatenate([x, pad])
