"""ONNX -> TensorRT engine, for every TensorRT from 8.5 (JetPack 5) to 11.x, and the `handjoints build` CLI.

Only the named-tensor API is used (8.5+). Precision paths per version (see :func:`plan_build`):
  fp32   every version: no precision flag.
  fp16   8.5-10.x: BuilderFlag.FP16 (weak typing).  11.x: the flag is gone: the ONNX graph is converted to FP16
         (export/fp16.py, float32 I/O kept) and the network is strongly typed.
  int8   the Q/DQ model beside the FP32 one (hand.onnx -> hand.int8.onnx; explicit quantization).
         8.5-10.x: BuilderFlag.INT8 + FP16 (layers outside Q/DQ pairs may then run in FP16). 11.x: strongly
         typed, no flags. 8.5-9.x only: a classic entropy calibration cache may be given instead, applied to
         the FP32 model (implicit quantization, IInt8EntropyCalibrator2 reading the cache only).
The pure-Python parts (profiles, plans, keys, the trtexec line, argument checks) run and are tested anywhere;
the TensorRT calls run only where TensorRT and a GPU are.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .cache import PRECISIONS, EngineCache, EngineFileError, EngineKey, atomic_write_bytes, sha256_file

log = logging.getLogger("handjoints_trt.engines")

INT8_SUFFIX = ".int8.onnx"
DEFAULT_WORKSPACE_MB = 1024
DEFAULT_MAX_BATCH = 16
# Localizer frames: H and W are multiples of 32 (five stride-2 levels), 128..1280 as exported.
SIZE_MULTIPLE = 32
DEFAULT_MIN_SIZE, DEFAULT_MAX_SIZE = (128, 128), (1280, 1280)

Profile = dict  # {input name: (min shape, opt shape, max shape)}


class EngineBuildError(RuntimeError):
    """TensorRT could not build the engine (parser errors, unsupported precision, builder failure)."""


# ----------------------------------------------------------------------------------------------- versions
def version_tuple(version: str) -> tuple[int, int, int]:
    """"10.3.0.26" -> (10, 3, 0); "8.5" -> (8, 5, 0)."""
    parts = []
    for piece in str(version).split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    if parts[0] < 8 or (parts[0] == 8 and parts[1] < 5):
        raise ValueError(f"TensorRT {version} is too old: handjoints needs 8.5 or newer (JetPack 5 ships 8.5)")
    return tuple(parts)  # type: ignore[return-value]


def installed_trt_version() -> str | None:
    """The tensorrt package's version without importing it (importing is safe, but slow), or None."""
    from importlib import metadata

    for dist in ("tensorrt", "tensorrt-cu12", "tensorrt-cu11", "tensorrt-cu13"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:  # JetPack installs the bindings from a .deb, without pip metadata
        import importlib.util

        return "unknown" if importlib.util.find_spec("tensorrt") else None
    except (ImportError, ValueError):
        return None


# ----------------------------------------------------------------------------------------------- profiles
def int8_path_for(onnx_path: str | Path) -> Path:
    """hand.onnx -> hand.int8.onnx (the Q/DQ export of calibration/); an .int8.onnx path maps to itself."""
    p = Path(onnx_path)
    if p.name.endswith(INT8_SUFFIX):
        return p
    stem = p.name[: -len(".onnx")] if p.name.endswith(".onnx") else p.name
    return p.with_name(stem + INT8_SUFFIX)


def onnx_signature(onnx_path: str | Path) -> tuple[list[tuple[str, list[int | None]]], dict]:
    """([(input name, dims with None for dynamic axes)], handjoints metadata) of an ONNX file.
    Uses the onnx package when present, else ONNX Runtime (a base dependency)."""
    path = Path(onnx_path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX model {path} does not exist")
    try:
        import onnx
    except ImportError:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        ins = [(i.name, [d if isinstance(d, int) and d > 0 else None for d in i.shape]) for i in sess.get_inputs()]
        meta = sess.get_modelmeta().custom_metadata_map
    else:
        model = onnx.load(str(path), load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        ins = [(i.name, [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                         for d in i.type.tensor_type.shape.dim]) for i in model.graph.input if i.name not in inits]
        meta = {p.key: p.value for p in model.metadata_props}
    return ins, {k[len("handjoints."):]: v for k, v in meta.items() if k.startswith("handjoints.")}


def parse_size(text: str) -> tuple[int, int]:
    """"384x640" (H x W, pixels) -> (384, 640)."""
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"size must be HxW in pixels, e.g. 384x640, got {text!r}") from None
    return h, w


def _check_order(what: str, mn, opt, mx) -> None:
    if min(mn) < 1:
        raise ValueError(f"{what}: every value must be >= 1, got min {mn}")
    if any(a > b for a, b in zip(mn, opt)):
        raise ValueError(f"{what}: min {mn} is larger than opt {opt}; need min <= opt <= max")
    if any(b > c for b, c in zip(opt, mx)):
        raise ValueError(f"{what}: max {mx} is smaller than opt {opt}; need min <= opt <= max")


def make_profile(onnx_path: str | Path, min_batch: int = 1, opt_batch: int | None = None,
                 max_batch: int = DEFAULT_MAX_BATCH, min_size: tuple[int, int] = DEFAULT_MIN_SIZE,
                 opt_size: tuple[int, int] | None = None, max_size: tuple[int, int] = DEFAULT_MAX_SIZE) -> Profile:
    """The optimisation profile for a handjoints model: {input: (min, opt, max)}.

    Hand stage (B, 3, S, S): B ranges min_batch..max_batch (hands per frame), opt_batch defaults to 2.
    Localizer (1, 3, H, W): (H, W) range min_size..max_size, multiples of 32; opt_size defaults to the
    model's input_size metadata (its training size) or the max. Engine buffers are sized once from max."""
    inputs, meta = onnx_signature(onnx_path)
    profile: Profile = {}
    for name, dims in inputs:
        dyn = [i for i, d in enumerate(dims) if d is None]
        if not dyn:
            profile[name] = (tuple(dims),) * 3
        elif dyn == [0]:
            opt = opt_batch if opt_batch is not None else max(min_batch, min(2, max_batch))
            _check_order(f"{name} batch", (min_batch,), (opt,), (max_batch,))
            profile[name] = tuple((b, *dims[1:]) for b in (min_batch, opt, max_batch))
        elif dyn == [2, 3] and dims[0] is not None:
            opt_hw = tuple(opt_size) if opt_size else _metadata_size(meta) or tuple(max_size)
            for what, hw in (("min size", min_size), ("opt size", opt_hw), ("max size", max_size)):
                if any(v % SIZE_MULTIPLE for v in hw):
                    raise ValueError(f"{name} {what} {hw[0]}x{hw[1]}: height and width must be multiples of "
                                     f"{SIZE_MULTIPLE}")
            _check_order(f"{name} size (HxW)", tuple(min_size), opt_hw, tuple(max_size))
            profile[name] = tuple((*dims[:2], *hw) for hw in (tuple(min_size), opt_hw, tuple(max_size)))
        else:
            raise ValueError(f"{onnx_path}: input {name} has dynamic axes {dyn}; a handjoints model has a dynamic "
                             f"batch (hand stage) or dynamic height/width (localizer)")
    return profile


def _metadata_size(meta: Mapping[str, str]) -> tuple[int, int] | None:
    """The localizer's input_size metadata "WxH" -> (H, W), or None."""
    text = meta.get("input_size", "")
    if "x" not in text:
        return None
    w, h = (int(v) for v in text.split("x"))
    return h, w


def max_batch_of(profile: Mapping[str, Any]) -> int:
    return max(int(mx[0]) for _mn, _opt, mx in profile.values())


def check_dla_profile(profile: Mapping[str, Any], dla_core: int | None) -> None:
    """The DLA has no dynamic dimensions (TensorRT: "the profile's min, max, and opt values must be equal"): with
    a range, every layer would silently fall back to the GPU. Raises ValueError saying which options fix it."""
    if dla_core is None:
        return
    ranged = {name: t for name, t in profile.items() if not tuple(t[0]) == tuple(t[1]) == tuple(t[2])}
    if ranged:
        name, (mn, _opt, mx) = sorted(ranged.items())[0]
        raise ValueError(f"the DLA runs fixed shapes only, but input {name} ranges from {tuple(mn)} to {tuple(mx)}: "
                         f"give one shape, e.g. --min-batch N --opt-batch N --max-batch N (hand model; then every "
                         f"call must carry N crops) or --min-size HxW --opt-size HxW --max-size HxW (localizer)")


# ----------------------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class BuildPlan:
    """How one engine is built on one TensorRT version (pure data; see plan_build).

    parse_path: the ONNX file handed to the parser (for TensorRT 11 fp16: the source, converted in memory);
    convert_fp16: convert the graph to FP16 before parsing; flags: BuilderFlag names to set;
    strongly_typed: create the network with NetworkDefinitionCreationFlag.STRONGLY_TYPED;
    calibration_cache: a classic INT8 calibration cache to read (TensorRT < 10 only)."""

    trt_major: int
    precision: str
    parse_path: Path
    convert_fp16: bool = False
    flags: tuple[str, ...] = ()
    strongly_typed: bool = False
    calibration_cache: Path | None = None
    notes: tuple[str, ...] = field(default=())


def plan_build(onnx_path: str | Path, precision: str, trt_version: str, calibration_cache: str | Path | None = None,
               dla_core: int | None = None) -> BuildPlan:
    """Decide the precision path for `trt_version` (see the module docstring). Raises ValueError or
    FileNotFoundError with what to do instead."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    major = version_tuple(trt_version)[0]
    src = Path(onnx_path)
    if dla_core is not None and precision == "fp32":
        raise ValueError("the DLA runs FP16 or INT8 only: use --precision fp16 or int8 with --dla-core")
    if calibration_cache is not None and precision != "int8":
        raise ValueError("a calibration cache only applies to --precision int8")
    if precision == "fp32":
        return BuildPlan(major, precision, src, strongly_typed=major >= 11)
    if precision == "fp16":
        if major >= 11:  # TensorRT 11 removed BuilderFlag.FP16: precision lives in the graph
            return BuildPlan(major, precision, src, convert_fp16=True, strongly_typed=True,
                             notes=("graph converted to FP16 (float32 inputs/outputs), strongly typed network",))
        return BuildPlan(major, precision, src, flags=("FP16",))
    if calibration_cache is not None:
        if major >= 10:
            raise ValueError(f"TensorRT {trt_version}: classic INT8 calibrators are deprecated from 10.1 and removed "
                             f"in 11; build from the Q/DQ model ({int8_path_for(src).name}) instead of a cache")
        cache = Path(calibration_cache)
        if not cache.is_file():
            raise FileNotFoundError(f"calibration cache {cache} does not exist")
        return BuildPlan(major, precision, src, flags=("INT8", "FP16"), calibration_cache=cache,
                         notes=("implicit quantization from a calibration cache",))
    qdq = int8_path_for(src)
    if not qdq.is_file():
        raise FileNotFoundError(f"INT8 needs the Q/DQ model {qdq} (explicit quantization). Make it with the "
                                f"calibration recipe (calibration/README.md) from {src.name} and a few hundred "
                                f"representative crops, then build again")
    if major >= 11:
        return BuildPlan(major, precision, qdq, strongly_typed=True, notes=("Q/DQ model, strongly typed",))
    return BuildPlan(major, precision, qdq, flags=("INT8", "FP16"), notes=("Q/DQ model (explicit quantization)",))


def engine_key(plan: BuildPlan, profile: Mapping[str, Any], trt_version: str, compute_capability: str,
               dla_core: int | None = None) -> EngineKey:
    """The cache key of an engine: the hash of the ONNX file parsed (the Q/DQ one for int8) and the rest."""
    sha = sha256_file(plan.parse_path)
    if plan.calibration_cache is not None:  # the cache changes the engine as much as the weights do
        import hashlib

        sha = hashlib.sha256((sha + sha256_file(plan.calibration_cache)).encode()).hexdigest()
    return EngineKey(sha, plan.precision, profile, trt_version, compute_capability, dla_core)


# ----------------------------------------------------------------------------------------------- trtexec
def _shape_text(profile: Mapping[str, Any], which: int) -> str:
    return ",".join(f"{name}:{'x'.join(str(d) for d in shapes[which])}" for name, shapes in sorted(profile.items()))


def trtexec_command(onnx_path: str | Path, precision: str = "fp16", profile: Mapping[str, Any] | None = None,
                    engine_path: str | Path | None = None, workspace_mb: int = DEFAULT_WORKSPACE_MB,
                    timing_cache: str | Path | None = None, dla_core: int | None = None,
                    trt_version: str = "10.3", calibration_cache: str | Path | None = None) -> str:
    """The trtexec command line that builds the same engine as build_engine (for users who prefer trtexec).

    On TensorRT 11 with fp16 the --onnx file is the FP16 graph, made first with
    ``python -m handjoints_trt.export.fp16 MODEL.onnx`` (trtexec has no --fp16 there)."""
    plan = plan_build(onnx_path, precision, trt_version, calibration_cache, dla_core)
    profile = profile if profile is not None else make_profile(onnx_path)
    check_dla_profile(profile, dla_core)
    onnx_file = plan.parse_path
    if plan.convert_fp16:
        from ..export.fp16 import fp16_path_for

        onnx_file = fp16_path_for(onnx_path)
    engine_path = engine_path or Path(onnx_path).with_suffix(f".{precision}.engine")
    # trtexec reads plain numbers as MiB everywhere; the M suffix is accepted from 8.6 on.
    pool = f"{int(workspace_mb)}M" if version_tuple(trt_version)[:2] >= (8, 6) else str(int(workspace_mb))
    args = ["trtexec", f"--onnx={onnx_file}", f"--saveEngine={engine_path}"]
    args += [f"--{flag.lower()}" for flag in plan.flags]
    if plan.calibration_cache is not None:
        args.append(f"--calib={plan.calibration_cache}")
    if any(None in dims for _name, dims in onnx_signature(onnx_path)[0]):  # even for a fixed-shape profile:
        # without shapes trtexec sets every dynamic dimension to 1 ("Automatically overriding shape to ...")
        args += [f"--minShapes={_shape_text(profile, 0)}", f"--optShapes={_shape_text(profile, 1)}",
                 f"--maxShapes={_shape_text(profile, 2)}"]
    args.append(f"--memPoolSize=workspace:{pool}")
    if timing_cache:
        args.append(f"--timingCacheFile={timing_cache}")
    if dla_core is not None:
        args += [f"--useDLACore={int(dla_core)}", "--allowGPUFallback"]
    return " ".join(shlex.quote(str(a)) for a in args)


# ----------------------------------------------------------------------------------------------- TensorRT
def _import_trt():
    try:
        import tensorrt as trt
    except ImportError as e:
        raise ImportError(f"TensorRT is not installed ({e}): pip install 'handjoints_trt[trt]' on a machine with "
                          f"an NVIDIA GPU (on Jetson it comes with JetPack); `handjoints build --print-trtexec` "
                          f"prints the equivalent trtexec command without it") from e
    return trt


_LOGGER = None  # the process's one TensorRT logger (see _make_logger)


def _make_logger(trt, verbose: bool = False):
    """The process's trt.ILogger: keeps errors (for the exception text) and forwards the rest to logging.

    One instance per process: TensorRT keeps a single logger pointer, and a Builder/Runtime given another
    logger while one lives ignores it ("The logger passed into createInferRuntime differs from one already
    provided ... the existing value ... will be used instead"), so a second backend's errors would land in the
    first one's list. Callers take ``mark = logger.mark()`` before a call and read ``logger.errors_since(mark)``."""
    global _LOGGER
    if _LOGGER is None:
        class _Logger(trt.ILogger):
            def __init__(self):
                trt.ILogger.__init__(self)
                self.errors: deque[str] = deque(maxlen=64)  # the latest errors
                self.count = 0  # errors logged so far
                self.verbose = False

            def mark(self) -> int:
                return self.count

            def errors_since(self, mark: int) -> list[str]:
                new = min(self.count - mark, len(self.errors))
                return list(self.errors)[len(self.errors) - new:] if new > 0 else []

            def log(self, severity, msg):
                if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                    self.errors.append(msg)
                    self.count += 1
                    log.error("TensorRT: %s", msg)
                elif severity == trt.ILogger.Severity.WARNING:
                    log.warning("TensorRT: %s", msg)
                elif self.verbose:
                    log.info("TensorRT: %s", msg)

        _LOGGER = _Logger()
    _LOGGER.verbose = bool(verbose)
    return _LOGGER


def parser_errors(parser) -> list[str]:
    """Every error the ONNX parser recorded, one line each (num_errors / get_error: 8.0+;
    node_name / node_operator: 10.0+, used when present)."""
    lines = []
    for i in range(parser.num_errors):
        e = parser.get_error(i)
        where = []
        for attr in ("node_name", "node_operator"):
            value = getattr(e, attr, None)
            if callable(value) and value():
                where.append(f"{attr.replace('node_', '')} {value()}")
        if not where and e.node() >= 0:
            where.append(f"node #{e.node()}")
        lines.append(f"[{i + 1}] {e.desc()} ({', '.join(where) or 'graph'}; {e.code()} at {e.file()}:{e.line()} "
                     f"in {e.func()})")
    return lines


def _progress_monitor(trt, say: Callable[[str], None]):
    """An IProgressMonitor (TensorRT 10.0+) that reports top-level phases; None where there is none."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class _Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.started: dict[str, float] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.started[phase_name] = time.perf_counter()
            if parent_phase is None:
                say(f"{phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name, step):
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            t0 = self.started.pop(phase_name, None)
            if t0 is not None and not self.started:
                say(f"{phase_name} done in {time.perf_counter() - t0:.1f} s")

    return _Monitor()


def _network_flags(trt, plan: BuildPlan) -> int:
    flags = 0
    if plan.trt_major < 10:  # explicit batch is required before 10 and the default (flag deprecated) after
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if plan.strongly_typed:  # STRONGLY_TYPED: 9.1+; always on (and accepted) in 11
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return flags


def _parse(trt, network, logger, plan: BuildPlan):
    parser = trt.OnnxParser(network, logger)
    mark = logger.mark()
    if plan.convert_fp16:
        import onnx

        from ..export.fp16 import convert_model_fp16

        data = convert_model_fp16(onnx.load(str(plan.parse_path))).SerializeToString()
    else:
        data = plan.parse_path.read_bytes()
    if not parser.parse(data, str(plan.parse_path)):  # parse(model, path): 8.0+; path locates external weights
        errors = parser_errors(parser) or logger.errors_since(mark) or ["(the parser gave no details)"]
        raise EngineBuildError(f"TensorRT's ONNX parser rejected {plan.parse_path} ({len(errors)} error(s)):\n  "
                               + "\n  ".join(errors))
    return parser


def _check_platform(builder, plan: BuildPlan) -> None:
    """Refuse a precision the GPU has no fast kernels for (platform_has_fast_*: 8.x-10.x, gone in 11)."""
    for flag, attr, what in (("FP16", "platform_has_fast_fp16", "FP16"), ("INT8", "platform_has_fast_int8", "INT8")):
        if flag in plan.flags and hasattr(builder, attr) and not getattr(builder, attr):
            if flag == "FP16" and plan.precision == "int8":
                continue  # FP16 is only a fallback for non-quantized layers there
            raise EngineBuildError(f"this GPU has no fast {what} support, so a {plan.precision} engine would be "
                                   f"slower than fp32: build with --precision fp32"
                                   + (" (INT8 needs compute capability 6.1 or newer)" if what == "INT8" else ""))


def _load_timing_cache(config, path: Path | None):
    """Attach a timing cache to the config (create_timing_cache / set_timing_cache: 8.0+)."""
    data = b""
    if path is not None and path.is_file():
        data = path.read_bytes()
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        log.warning("timing cache %s was made on another GPU or TensorRT version; starting a new one", path)
        cache = config.create_timing_cache(b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def _cache_calibrator(trt, cache_bytes: bytes):
    """An IInt8EntropyCalibrator2 that only reads a calibration cache (TensorRT 8.x-9.x; no batches)."""

    class _CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None  # no data: every scale comes from the cache

        def read_calibration_cache(self):
            return cache_bytes

        def write_calibration_cache(self, cache):
            return None

    return _CacheCalibrator()


def _configure(trt, builder, network, config, plan: BuildPlan, profile: Mapping[str, Any], workspace_mb: int,
               dla_core: int | None) -> list:
    """Profile, workspace, precision flags, DLA. Returns objects that must outlive the build."""
    keep = []
    opt = builder.create_optimization_profile()
    for name, (mn, op, mx) in profile.items():
        opt.set_shape(name, mn, op, mx)  # set_shape(input, min, opt, max): 8.0+
    config.add_optimization_profile(opt)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)  # 8.4+
    _check_platform(builder, plan)
    for flag in plan.flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))  # FP16 / INT8: 8.x-10.x (removed in 11)
    if plan.calibration_cache is not None:
        calib = _cache_calibrator(trt, plan.calibration_cache.read_bytes())
        config.int8_calibrator = calib  # deprecated 10.1, removed 11; plan_build allows it below 10 only
        config.set_calibration_profile(opt)  # dynamic shapes need one (8.x)
        keep.append(calib)
    if dla_core is not None:
        n = builder.num_DLA_cores
        if not 0 <= dla_core < n:
            raise EngineBuildError(f"DLA core {dla_core} does not exist: this device has {n} DLA core(s)"
                                   + (" (DLA exists on Jetson AGX/NX Xavier and Orin only)" if n == 0 else ""))
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(dla_core)
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers the DLA lacks run on the GPU
    return keep


def build_engine(onnx_path: str | Path, precision: str = "fp16", profile: Mapping[str, Any] | None = None,
                 workspace_mb: int = DEFAULT_WORKSPACE_MB, timing_cache: str | Path | None = None,
                 dla_core: int | None = None, progress: bool | Callable[[str], None] = True,
                 calibration_cache: str | Path | None = None, device: int = 0, verbose: bool = False) -> bytes:
    """Build a serialized engine (bytes) from an ONNX model.

    profile: {input: (min, opt, max)} (default :func:`make_profile`); workspace_mb: builder scratch memory, MiB;
    timing_cache: a file loaded before and saved (atomically) after the build, so later builds skip kernel
    timing; dla_core: Jetson DLA core (GPU fallback on); progress: True logs phases (IProgressMonitor on
    TensorRT >= 10, start/end lines before), a callable receives the lines, False is silent;
    calibration_cache: int8 on TensorRT < 10 from a classic cache instead of the Q/DQ model.
    Raises NoGpuError before touching TensorRT when there is no GPU, EngineBuildError on failure."""
    from ..backends.cuda import CudaSession, require_gpu

    require_gpu(device)  # a TensorRT builder on a GPU-less machine logs CUDA error 35, then segfaults
    trt = _import_trt()
    plan = plan_build(onnx_path, precision, trt.__version__, calibration_cache, dla_core)
    profile = profile if profile is not None else make_profile(onnx_path)
    check_dla_profile(profile, dla_core)
    say = progress if callable(progress) else (log.info if progress else (lambda _msg: None))
    logger = _make_logger(trt, verbose)
    # The builder builds (and times kernels) on the current CUDA device, 0 unless set: select `device`.
    with CudaSession(device) if device != 0 else contextlib.nullcontext():
        builder = trt.Builder(logger)
        network = builder.create_network(_network_flags(trt, plan))
        parser = _parse(trt, network, logger, plan)
        config = builder.create_builder_config()
        keep = _configure(trt, builder, network, config, plan, profile, workspace_mb, dla_core)
        monitor = _progress_monitor(trt, say) if progress else None
        if monitor is not None:
            config.progress_monitor = monitor  # 10.0+
        tcache = _load_timing_cache(config, Path(timing_cache) if timing_cache else None)
        say(f"building {plan.precision} engine from {plan.parse_path.name} with TensorRT {trt.__version__}"
            + (f" ({'; '.join(plan.notes)})" if plan.notes else "") + " - this takes a few minutes")
        t0 = time.perf_counter()
        mark = logger.mark()
        serialized = builder.build_serialized_network(network, config)  # 8.0+; None on failure
        if serialized is None:
            raise EngineBuildError(f"TensorRT could not build an engine from {plan.parse_path}:\n  " + "\n  ".join(
                logger.errors_since(mark) or ["(no error was logged; rerun with verbose=True)"]))
        say(f"engine built in {time.perf_counter() - t0:.1f} s")
        if timing_cache:
            atomic_write_bytes(timing_cache, bytes(tcache.serialize()))  # ITimingCache.serialize: 8.0+
        data = bytes(serialized)
        del serialized, config, parser, network, builder, keep, monitor, tcache  # before the CUDA session ends
    return data


def default_timing_cache(cache: EngineCache, trt_version: str, compute_capability: str) -> Path:
    """One timing cache per GPU architecture and TensorRT version, in the engine cache folder."""
    return cache.folder / f"timing-sm{compute_capability.replace('.', '')}-trt{trt_version}.cache"


def get_or_build(onnx_path: str | Path, precision: str = "fp16", cache: EngineCache | str | Path | None = None,
                 profile: Mapping[str, Any] | None = None, workspace_mb: int = DEFAULT_WORKSPACE_MB,
                 timing_cache: str | Path | None | bool = True, dla_core: int | None = None,
                 progress: bool | Callable[[str], None] = True, calibration_cache: str | Path | None = None,
                 device: int = 0, rebuild: bool = False) -> tuple[bytes, Path]:
    """The engine for this model/precision/profile on this GPU and TensorRT: (bytes, cached path).

    Loads it from the cache when an engine with the same key is there and intact; otherwise (absent, damaged,
    stale, or rebuild=True) builds it and stores it atomically with its sidecar. timing_cache: True = one per
    GPU/TensorRT in the cache folder, a path, or False/None for none."""
    from ..backends.cuda import device_info, require_gpu

    require_gpu(device)  # a clear error before TensorRT is even imported
    trt = _import_trt()
    cache = cache if isinstance(cache, EngineCache) else EngineCache(cache)
    cc = device_info(device).compute_capability
    plan = plan_build(onnx_path, precision, trt.__version__, calibration_cache, dla_core)
    profile = profile if profile is not None else make_profile(onnx_path)
    check_dla_profile(profile, dla_core)
    key = engine_key(plan, profile, trt.__version__, cc, dla_core)
    if not rebuild:
        try:
            return cache.load(key), cache.path_for(key)
        except FileNotFoundError:
            pass
        except EngineFileError as e:
            log.warning("%s", e)
    tc = default_timing_cache(cache, trt.__version__, cc) if timing_cache is True else (timing_cache or None)
    t0 = time.perf_counter()
    data = build_engine(onnx_path, precision, profile, workspace_mb, tc, dla_core, progress, calibration_cache,
                        device)
    info = device_info(device)
    path = cache.write(key, data, {
        "build_seconds": round(time.perf_counter() - t0, 2), "gpu": info.name, "onnx": str(Path(onnx_path)),
        "parsed_onnx": str(plan.parse_path), "model_metadata": onnx_signature(onnx_path)[1],
        "builder_options": {
            "workspace_mb": workspace_mb, "timing_cache": str(tc) if tc else None, "flags": list(plan.flags),
            "strongly_typed": plan.strongly_typed, "fp16_graph": plan.convert_fp16,
            "calibration_cache": str(plan.calibration_cache) if plan.calibration_cache else None}})
    return data, path


# ----------------------------------------------------------------------------------------------- CLI
def add_build_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `handjoints build` / build_engines/build.py."""
    parser.add_argument("--model", required=True, type=Path, help="the FP32 ONNX model (hand or localizer)")
    parser.add_argument("--precision", default="fp16", choices=PRECISIONS,
                        help="fp32, fp16 (default) or int8 (needs MODEL.int8.onnx, the Q/DQ export)")
    parser.add_argument("--min-batch", type=int, default=1, help="hand stage: fewest hands per call (default 1)")
    parser.add_argument("--opt-batch", type=int, default=None, help="hand stage: batch to tune for (default 2)")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                        help=f"hand stage: most hands per call (default {DEFAULT_MAX_BATCH})")
    parser.add_argument("--min-size", type=parse_size, default=DEFAULT_MIN_SIZE, help="localizer: HxW, default 128x128")
    parser.add_argument("--opt-size", type=parse_size, default=None,
                        help="localizer: HxW to tune for (default: the model's input size)")
    parser.add_argument("--max-size", type=parse_size, default=DEFAULT_MAX_SIZE,
                        help="localizer: HxW, default 1280x1280")
    parser.add_argument("--workspace-mb", type=int, default=DEFAULT_WORKSPACE_MB, help="builder workspace, MiB")
    parser.add_argument("--timing-cache", type=Path, default=None,
                        help="timing cache file (loaded and saved; default: one per GPU in the cache folder)")
    parser.add_argument("--dla-core", type=int, default=None, help="Jetson DLA core (GPU fallback on)")
    parser.add_argument("--calibration-cache", type=Path, default=None,
                        help="int8 on TensorRT < 10 only: a classic entropy calibration cache")
    parser.add_argument("--cache-dir", type=Path, default=None, help="engine cache folder "
                        "(default $HANDJOINTS_ENGINE_CACHE or ~/.cache/handjoints_trt/engines)")
    parser.add_argument("--output", type=Path, default=None, help="also copy the engine (and sidecar) here")
    parser.add_argument("--rebuild", action="store_true", help="build even when the cache has the engine")
    parser.add_argument("--print-trtexec", action="store_true",
                        help="print the equivalent trtexec command and exit (works without TensorRT)")
    parser.add_argument("--trt-version", default=None,
                        help="for --print-trtexec: the TensorRT version to target (default: the installed one, "
                             "else 10.3)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    return add_build_arguments(argparse.ArgumentParser(
        prog="handjoints build", description="Build (and cache) a TensorRT engine from a handjoints ONNX model."))


def check_build_args(args: argparse.Namespace) -> Profile:
    """Validate the arguments together; returns the profile. Raises ValueError / FileNotFoundError."""
    if not args.model.is_file():
        raise FileNotFoundError(f"--model {args.model} does not exist")
    if args.workspace_mb < 1:
        raise ValueError(f"--workspace-mb must be >= 1, got {args.workspace_mb}")
    if args.dla_core is not None and args.dla_core < 0:
        raise ValueError(f"--dla-core must be >= 0, got {args.dla_core}")
    if args.opt_batch is not None and args.opt_batch < args.min_batch:
        raise ValueError(f"--min-batch {args.min_batch} is larger than --opt-batch {args.opt_batch}")
    return make_profile(args.model, args.min_batch, args.opt_batch, args.max_batch, args.min_size,
                        args.opt_size, args.max_size)


def run_build(args: argparse.Namespace, out=None) -> int:
    """Run `handjoints build` with parsed args; returns the exit status (2 = bad arguments)."""
    out = out or sys.stdout
    try:
        profile = check_build_args(args)
        if args.print_trtexec:
            version = args.trt_version or (installed_trt_version() if installed_trt_version() not in (None, "unknown")
                                           else "10.3")
            print(trtexec_command(args.model, args.precision, profile, args.output, args.workspace_mb,
                                  args.timing_cache, args.dla_core, version, args.calibration_cache), file=out)
            return 0
        plan_build(args.model, args.precision, "10.0" if args.calibration_cache is None else "8.5",
                   args.calibration_cache, args.dla_core)  # argument errors before any TensorRT work
        check_dla_profile(profile, args.dla_core)
    except (ValueError, FileNotFoundError) as e:
        print(f"handjoints build: error: {e}", file=sys.stderr)
        return 2
    from ..backends.cuda import NoGpuError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        data, path = get_or_build(args.model, args.precision, args.cache_dir, profile, args.workspace_mb,
                                  args.timing_cache or True, args.dla_core, True, args.calibration_cache,
                                  rebuild=args.rebuild)
    except (NoGpuError, ImportError, EngineBuildError, ValueError, FileNotFoundError) as e:
        print(f"handjoints build: error: {e}", file=sys.stderr)
        return 1
    if args.output:
        from .cache import sidecar_path

        atomic_write_bytes(args.output, data)
        atomic_write_bytes(sidecar_path(args.output), sidecar_path(path).read_bytes())
    print(args.output or path, file=out)
    return 0


def main(argv=None) -> int:
    return run_build(build_parser().parse_args(argv))
