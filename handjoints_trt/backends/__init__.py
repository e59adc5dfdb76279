"""Backends: one interface (base.Backend) over TensorRT, ONNX Runtime and PyTorch.

Importing this package imports no backend library; load_backend imports the chosen one when called.
"""
from __future__ import annotations

from .base import (BACKENDS, Backend, BackendBase, TensorSpec, cuda_device_count, load_backend, resolve_kind,
                   tensorrt_available, validate_feeds)

__all__ = ["BACKENDS", "Backend", "BackendBase", "TensorSpec", "cuda_device_count", "load_backend",
           "resolve_kind", "tensorrt_available", "validate_feeds"]
