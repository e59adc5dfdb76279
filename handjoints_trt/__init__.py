"""handjoints_trt: two-stage hand-joint detection (localizer + SSHFR/MSFF hand network) on TensorRT,
ONNX Runtime and PyTorch.

    from handjoints_trt import HandJointDetector
    with HandJointDetector() as detector:
        hands = detector.detect(frame)   # frame: H x W x 3 uint8 BGR

Importing this package loads numpy only; the detector pulls in OpenCV and one backend when it is made.
It never imports torch, creates a CUDA context or downloads anything.
"""
from __future__ import annotations

from .skeleton import NUM_JOINTS, HandJoint

__version__ = "0.1.0"

_LAZY = {
    "HandJointDetector": ".detector",
    "Hand": ".types",
    "DetectorOptions": ".types",
    "draw_hands": ".draw",
    "HandTracker": ".tracking",
    "load_backend": ".backends",
}

__all__ = ["HandJoint", "NUM_JOINTS", "__version__", *_LAZY]


def __getattr__(name: str):
    # Lazy so that `import handjoints_trt` stays light and never touches a backend library.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'handjoints_trt' has no attribute {name!r}")
