"""The runtime's options and results: small dataclasses, the same whichever backend ran."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Hand:
    """One detected hand, in frame pixels.

    box: (x0, y0, x1, y1) float, frame pixels.
    score: float 0..1, the hand's detection score (stage I), or the mean joint confidence when the box
        was given by the caller.
    keypoints: (21, 2) float32, frame pixels, canonical joint order (skeleton.HandJoint).
    confidence: (21,) float32 0..1, per joint, from the heatmap spread (METHOD.md eq. 12).
    track_id: int, stable across frames in tracking mode; -1 for single images.
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray
    confidence: np.ndarray
    track_id: int = -1

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "box": [float(v) for v in self.box],
            "score": float(self.score),
            "keypoints": np.asarray(self.keypoints, float).round(2).tolist(),
            "confidence": np.asarray(self.confidence, float).round(4).tolist(),
            "track_id": int(self.track_id),
        }


@dataclass
class DetectorOptions:
    """How a HandJointDetector runs.

    backend: 'auto' (TensorRT when it and a GPU are present, else ONNX Runtime), 'tensorrt',
        'onnxruntime' or 'torch'.
    precision: 'fp32', 'fp16' (TensorRT) or 'int8' (the Q/DQ models; TensorRT or ONNX Runtime).
    localizer_model / hand_model: ONNX (or, for 'torch', checkpoint) files; None = the shipped models.
    max_hands: at most this many hands per frame (the highest scores win).
    box_threshold: minimum stage-I score of a hand, 0..1.
    nms_iou: boxes overlapping more than this IoU are merged by non-maximum suppression.
    localizer_size: (width, height) of the localizer input; None = the size stored in the model.
    threads: CPU threads for ONNX Runtime / PyTorch (0 = library default).
    engine_cache: folder for TensorRT engines; None = ~/.cache/handjoints_trt/engines.
    """

    backend: str = "auto"
    precision: str = "fp32"
    localizer_model: Path | str | None = None
    hand_model: Path | str | None = None
    max_hands: int = 4
    box_threshold: float = 0.4
    nms_iou: float = 0.4
    localizer_size: tuple[int, int] | None = None
    threads: int = 0
    engine_cache: Path | str | None = None
    extra: dict = field(default_factory=dict)
