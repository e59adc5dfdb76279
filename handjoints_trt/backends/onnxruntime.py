"""ONNX Runtime backend: the portable default (CPU everywhere; CUDA when onnxruntime-gpu is installed).

FP32 models and INT8 Q/DQ models (QuantizeLinear/DequantizeLinear pairs) run the same way: ONNX Runtime
executes the Q/DQ graph natively, so nothing here depends on the precision.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .base import BackendBase, TensorSpec, strip_metadata

# ONNX type strings -> NumPy dtype names (the contract uses float32 only; others are named, not run).
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8",
              "tensor(int8)": "int8", "tensor(bool)": "bool"}
# Accelerated providers used when this onnxruntime build has them, best first. The TensorRT execution
# provider is not in the default list: it builds an engine per input shape when the session starts
# (minutes); ask for it with providers=[...] or use the dedicated 'tensorrt' backend.
DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def missing_model_message(path: Path) -> str:
    return (f"model file {path} does not exist; pass the path of an exported model, leave the option at "
            f"None for the shipped default (handjoints_trt/weights/), or produce one with "
            f"`handjoints export <checkpoint> --out {path}`")


def _spec(node) -> TensorSpec:
    """An ORT NodeArg -> TensorSpec (symbolic or unknown dims become -1)."""
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (node.shape or ()))
    return TensorSpec(node.name, shape, _ORT_TYPES.get(node.type, node.type))


def choose_providers(requested: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """The providers to ask for: ``requested`` (each must be available) or the defaults present here."""
    if requested:
        absent = [p for p in requested if p not in available]
        if absent:
            raise ValueError(f"execution provider(s) {absent} are not in this onnxruntime build; available: "
                             f"{list(available)}")
        return list(requested)
    return [p for p in DEFAULT_PROVIDERS if p in available] or ["CPUExecutionProvider"]


SPIN_MODES = {False: "off", "off": "off", "run": "run", True: "always", "always": "always"}


def _spin_mode(spin_wait) -> str:
    """spin_wait (bool or one of "off", "run", "always") -> the mode's name; ValueError names the choices."""
    try:
        return SPIN_MODES[spin_wait]
    except (KeyError, TypeError):
        raise ValueError(f"spin_wait must be False/'off', 'run' or True/'always', got {spin_wait!r}") from None


class OnnxRuntimeBackend(BackendBase):
    """One ONNX model in an ONNX Runtime InferenceSession.

    model: ONNX file. threads: intra-op threads (0 = ONNX Runtime's default). providers: execution
    providers in order of preference (None = CUDA when present, else CPU).
    spin_wait: how the intra-op threads wait for work. False (or "off", the default): they sleep between
    the parallel sections of a run and after it. "run": they busy-wait between the nodes of a run and stop
    when it returns (ONNX Runtime's session.force_spinning_stop): on cores left to the detector,
    1.07-1.19x faster per 640x480 frame; with another busy process on the cores, about 2x slower
    (`python benchmarks/ort_spin.py`, benchmarks/RESULTS.md section 10). True (or "always"):
    ONNX Runtime's default, they also keep spinning after each run; the detector holds two sessions whose
    spinning threads took the cores from each other, from OpenCV and from Python between calls (16 -> 11
    ms per 640x480 frame with it off, `python benchmarks/fps.py`). precision, max_batch,
    engine_cache and device are accepted so that one set of options fits every backend under 'auto', and
    ignored here (an ONNX model's precision is in the file; the batch axis is unbounded).
    """

    name = "onnxruntime"

    def __init__(self, model: str | Path, threads: int = 0, providers: Sequence[str] | None = None,
                 precision: str | None = None, max_batch: int | None = None,
                 engine_cache: str | Path | None = None, device: str | None = None, spin_wait: bool | str = False):
        import onnxruntime as ort

        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(missing_model_message(path))
        if not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be an int >= 0 (0 = ONNX Runtime's default), got {threads!r}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # one model call at a time; the pipeline is sequential
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT's warnings about providers are not the user's
        spin = _spin_mode(spin_wait)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0" if spin == "off" else "1")
        if spin == "run":
            options.add_session_config_entry("session.force_spinning_stop", "1")
        chosen = choose_providers(providers, ort.get_available_providers())
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
        except Exception as exc:  # InvalidProtobuf, Fail, InvalidGraph ... all mean "not a usable model"
            raise ValueError(f"{path} is not a usable ONNX model (truncated, corrupt or another format); "
                             f"re-export it with `handjoints export`. ONNX Runtime said: {exc}") from exc
        self.path = path
        self.providers = tuple(self._session.get_providers())
        self.inputs = tuple(_spec(n) for n in self._session.get_inputs())
        self.outputs = tuple(_spec(n) for n in self._session.get_outputs())
        self.metadata = strip_metadata(self._session.get_modelmeta().custom_metadata_map)
        self.max_batch = None
        self._output_names = [s.name for s in self.outputs]

    def _run(self, feeds: dict[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        values = self._session.run(self._output_names, feeds)
        return dict(zip(self._output_names, values))

    def _release(self) -> None:
        self._session = None
