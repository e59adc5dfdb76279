"""Every CUDA call of the package, in one small module (ARCHITECTURE.md, wall 2).

Three layers, each imported only when used:
  - the driver library through ctypes (libcuda: cuInit, cuDeviceGetCount, cuDeviceGetAttribute...): device
    discovery without creating a context, so that a machine without a GPU gets a clear NoGpuError instead of
    TensorRT's "CUDA error 35" and a segfault; also CUDA graph capture/replay (driver API, CUDA >= 11.4);
  - pycuda when installed (the `trt` extra), else cuda-python (``cuda.bindings.runtime`` from 12.6 on,
    ``cuda.cudart`` before): device buffers, pinned host buffers, one stream, async copies, synchronize.
Every call is checked: a failure raises CudaError naming the call and the CUDA error code.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass

import numpy as np

# CUdevice_attribute values (cuda.h): stable since CUDA 6.
_CC_MAJOR, _CC_MINOR = 75, 76
# CUstreamCaptureMode: CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1 (other threads may keep calling CUDA).
_CAPTURE_THREAD_LOCAL = 1


class CudaError(RuntimeError):
    """A CUDA call failed. call: the function's name; code: the CUDA error number."""

    def __init__(self, call: str, code: int, detail: str = ""):
        self.call, self.code = call, int(code)
        super().__init__(f"{call} failed with CUDA error {int(code)}" + (f" ({detail})" if detail else ""))


class NoGpuError(RuntimeError):
    """No usable NVIDIA GPU (no driver, or the driver sees no device)."""


@dataclass(frozen=True)
class DeviceInfo:
    """index: CUDA ordinal; name: e.g. "Orin"; compute_capability: "8.7"; total_memory_mb: MiB."""

    index: int
    name: str
    compute_capability: str
    total_memory_mb: int


@functools.lru_cache(maxsize=1)
def _libcuda():
    """The driver library, or None where there is none (no NVIDIA driver installed)."""
    for name in ("libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda") or "", "nvcuda.dll"):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _drv(call: str, *args) -> None:
    """Call a driver API function by name; raise CudaError on a non-zero CUresult."""
    lib = _libcuda()
    if lib is None:
        raise NoGpuError("the NVIDIA driver library (libcuda) is not installed on this machine")
    code = getattr(lib, call)(*args)
    if code != 0:
        detail = ctypes.c_char_p()
        lib.cuGetErrorString(code, ctypes.byref(detail))
        raise CudaError(call, code, detail.value.decode() if detail.value else "")


def device_count() -> int:
    """CUDA devices the driver sees; 0 with no driver or when cuInit fails (e.g. error 100, no device).
    Creates no context (cuInit + cuDeviceGetCount only)."""
    if _libcuda() is None:
        return 0
    try:
        _drv("cuInit", 0)
        count = ctypes.c_int(0)
        _drv("cuDeviceGetCount", ctypes.byref(count))
    except (CudaError, AttributeError):
        return 0
    return int(count.value)


def device_info(index: int = 0) -> DeviceInfo:
    """Name, compute capability and memory of device `index` (driver API; no context)."""
    require_gpu(index)
    dev = ctypes.c_int(0)
    _drv("cuDeviceGet", ctypes.byref(dev), int(index))
    name = ctypes.create_string_buffer(256)
    _drv("cuDeviceGetName", name, 256, dev)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    _drv("cuDeviceGetAttribute", ctypes.byref(major), _CC_MAJOR, dev)
    _drv("cuDeviceGetAttribute", ctypes.byref(minor), _CC_MINOR, dev)
    mem = ctypes.c_size_t(0)
    _drv("cuDeviceTotalMem_v2", ctypes.byref(mem), dev)
    return DeviceInfo(int(index), name.value.decode(errors="replace"), f"{major.value}.{minor.value}",
                      int(mem.value) >> 20)


def require_gpu(index: int = 0) -> None:
    """Raise NoGpuError (saying what to do instead) unless CUDA device `index` exists."""
    n = device_count()
    if n == 0:
        why = "no NVIDIA driver (libcuda) was found" if _libcuda() is None else "the NVIDIA driver sees no GPU"
        raise NoGpuError(f"TensorRT needs an NVIDIA GPU, but {why}. Use backend='onnxruntime' (CPU) instead, "
                         f"or run on a machine with a GPU and its driver")
    if not 0 <= index < n:
        raise NoGpuError(f"CUDA device {index} does not exist: this machine has {n} (0..{n - 1})")


def api_name() -> str:
    """'pycuda' or 'cuda-python', whichever is installed (pycuda first); ImportError when neither is."""
    import importlib.util

    if importlib.util.find_spec("pycuda") is not None:
        return "pycuda"
    for mod in ("cuda.bindings", "cuda"):
        try:
            if importlib.util.find_spec(mod) is not None:
                return "cuda-python"
        except ModuleNotFoundError:
            continue
    raise ImportError("neither pycuda nor cuda-python is installed: pip install pycuda (or cuda-python)")


class _PyCuda:
    """The primitives over pycuda; uses the device's primary context, the one TensorRT's runtime uses."""

    def __init__(self, index: int):
        import pycuda.driver as drv

        self.drv = drv
        self._call("cuInit", drv.init)
        self.ctx = self._call("cuDevicePrimaryCtxRetain", lambda: drv.Device(index).retain_primary_context())
        self._call("cuCtxPushCurrent", self.ctx.push)

    def _call(self, name, fn, *args):
        try:
            return fn(*args)
        except self.drv.Error as e:  # pycuda errors carry the CUresult in their text only
            raise CudaError(name, getattr(e, "code", -1), str(e)) from e

    def malloc(self, nbytes: int):
        alloc = self._call("cuMemAlloc", self.drv.mem_alloc, int(nbytes))
        return int(alloc), alloc

    def free(self, handle) -> None:
        self._call("cuMemFree", handle.free)

    def pinned(self, shape, dtype):
        arr = self._call("cuMemHostAlloc", self.drv.pagelocked_empty, tuple(shape), np.dtype(dtype))
        return arr, arr.base

    def free_pinned(self, handle) -> None:
        self._call("cuMemFreeHost", handle.free)

    def stream(self):
        s = self._call("cuStreamCreate", self.drv.Stream)
        return int(s.handle), s

    def destroy_stream(self, handle) -> None:
        pass  # pycuda destroys the stream when the object is collected

    def h2d(self, dst: int, src: np.ndarray, stream) -> None:
        self._call("cuMemcpyHtoDAsync", self.drv.memcpy_htod_async, dst, src, stream)

    def d2h(self, dst: np.ndarray, src: int, stream) -> None:
        self._call("cuMemcpyDtoHAsync", self.drv.memcpy_dtoh_async, dst, src, stream)

    def sync(self, stream) -> None:
        self._call("cuStreamSynchronize", stream.synchronize)

    def close(self) -> None:
        self._call("cuCtxPopCurrent", self.ctx.pop)
        self.ctx.detach()


class _CudaPython:
    """The primitives over cuda-python's runtime bindings (TensorRT shares the runtime's primary context)."""

    def __init__(self, index: int):
        try:
            from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
        except ImportError:
            from cuda import cudart  # older cuda-python
        self.rt = cudart
        self._call("cudaSetDevice", cudart.cudaSetDevice(int(index)))

    def _call(self, name, result):
        """cuda-python returns (err, *values): check err, return the values."""
        err, *values = result if isinstance(result, tuple) else (result,)
        code = int(getattr(err, "value", err))
        if code != 0:
            detail = self.rt.cudaGetErrorString(err)[1]
            raise CudaError(name, code, detail.decode() if isinstance(detail, bytes) else str(detail))
        return values[0] if len(values) == 1 else (values or None)

    def malloc(self, nbytes: int):
        ptr = int(self._call("cudaMalloc", self.rt.cudaMalloc(int(nbytes))))
        return ptr, ptr

    def free(self, handle) -> None:
        self._call("cudaFree", self.rt.cudaFree(handle))

    def pinned(self, shape, dtype):
        dtype = np.dtype(dtype)
        nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
        ptr = int(self._call("cudaMallocHost", self.rt.cudaMallocHost(nbytes)))
        raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
        arr = np.frombuffer(raw, np.uint8, count=int(np.prod(shape)) * dtype.itemsize).view(dtype).reshape(shape)
        return arr, ptr

    def free_pinned(self, handle) -> None:
        self._call("cudaFreeHost", self.rt.cudaFreeHost(handle))

    def stream(self):
        s = self._call("cudaStreamCreate", self.rt.cudaStreamCreate())
        return int(s), s

    def destroy_stream(self, handle) -> None:
        self._call("cudaStreamDestroy", self.rt.cudaStreamDestroy(handle))

    def h2d(self, dst: int, src: np.ndarray, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call("cudaMemcpyAsync", self.rt.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, kind, stream))

    def d2h(self, dst: np.ndarray, src: int, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call("cudaMemcpyAsync", self.rt.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, kind, stream))

    def sync(self, stream) -> None:
        self._call("cudaStreamSynchronize", self.rt.cudaStreamSynchronize(stream))

    def close(self) -> None:
        pass


class CudaSession:
    """One device, one stream, and the buffers allocated through it; close() frees them all.

        with CudaSession(0) as cu:
            d = cu.alloc(nbytes); h = cu.pinned((16, 3, 128, 128), np.float32)
            cu.h2d(d, h); ...; cu.d2h(h, d); cu.synchronize()
    """

    def __init__(self, index: int = 0, api: str | None = None):
        require_gpu(index)  # before any library touches CUDA
        self.index = index
        self.api = api or api_name()
        self._impl = _PyCuda(index) if self.api == "pycuda" else _CudaPython(index)
        self.stream, self._stream_obj = self._impl.stream()
        self._device: list = []
        self._host: list = []
        self._graph = self._graph_exec = None
        self._closed = False

    def alloc(self, nbytes: int) -> int:
        """A device buffer of `nbytes` (>= 1) bytes; returns its address (for set_tensor_address)."""
        ptr, handle = self._impl.malloc(max(int(nbytes), 1))
        self._device.append(handle)
        return ptr

    def pinned(self, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        """A page-locked host array (copies from it are truly asynchronous and faster than pageable)."""
        arr, handle = self._impl.pinned(tuple(int(d) for d in shape), dtype)
        self._host.append(handle)
        return arr

    def h2d(self, dst: int, src: np.ndarray) -> None:
        """Queue a copy of all of `src` (C-contiguous) to device address `dst` on the stream."""
        self._impl.h2d(dst, src, self._stream_obj)

    def d2h(self, dst: np.ndarray, src: int) -> None:
        """Queue a copy of `dst.nbytes` bytes from device address `src` into `dst` on the stream."""
        self._impl.d2h(dst, src, self._stream_obj)

    def synchronize(self) -> None:
        self._impl.sync(self._stream_obj)

    # CUDA graphs, through the driver API (the same stream handle works for both Python bindings).
    def begin_capture(self) -> None:
        """Start recording the stream's work into a graph (cuStreamBeginCapture_v2, CUDA >= 10.1)."""
        _drv("cuStreamBeginCapture_v2", ctypes.c_void_p(self.stream), _CAPTURE_THREAD_LOCAL)

    def end_capture(self) -> None:
        """Stop recording and instantiate the graph (cuGraphInstantiateWithFlags, CUDA >= 11.4)."""
        graph, exe = ctypes.c_void_p(), ctypes.c_void_p()
        _drv("cuStreamEndCapture", ctypes.c_void_p(self.stream), ctypes.byref(graph))
        self._graph = graph
        _drv("cuGraphInstantiateWithFlags", ctypes.byref(exe), graph, ctypes.c_ulonglong(0))
        self._graph_exec = exe

    @property
    def has_graph(self) -> bool:
        return self._graph_exec is not None

    def launch_graph(self) -> None:
        """Replay the captured graph on the stream."""
        _drv("cuGraphLaunch", self._graph_exec, ctypes.c_void_p(self.stream))

    def drop_graph(self) -> None:
        if self._graph_exec is not None:
            _drv("cuGraphExecDestroy", self._graph_exec)
        if self._graph is not None:
            _drv("cuGraphDestroy", self._graph)
        self._graph = self._graph_exec = None

    def close(self) -> None:
        """Free the graph, buffers and stream; idempotent. Waits for queued work first."""
        if self._closed:
            return
        self._closed = True
        try:
            self.synchronize()
        finally:
            self.drop_graph()
            for handle in self._device:
                self._impl.free(handle)
            for handle in self._host:
                self._impl.free_pinned(handle)
            self._device.clear()
            self._host.clear()
            self._impl.destroy_stream(self._stream_obj)
            self._impl.close()

    def __enter__(self) -> "CudaSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
