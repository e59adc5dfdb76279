"""ONNX -> TensorRT engines: the cache (key, atomic writes, sidecars; pure Python) and the builder.

Importing this package imports neither TensorRT nor CUDA (ARCHITECTURE.md, wall 2): build.py imports
tensorrt inside the functions that need it.
"""
from __future__ import annotations

from .cache import EngineCache, EngineFileError, EngineKey, EngineMismatchError, validate_engine_file

__all__ = ["EngineCache", "EngineFileError", "EngineKey", "EngineMismatchError", "validate_engine_file",
           "build_engine", "get_or_build", "make_profile", "trtexec_command", "EngineBuildError"]


def __getattr__(name: str):
    if name in ("build_engine", "get_or_build", "make_profile", "trtexec_command", "EngineBuildError"):
        from . import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
