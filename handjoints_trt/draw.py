"""Drawing hands on a frame: boxes with their score, bones in their finger's colour, joints by confidence."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .skeleton import BONES, bone_color, joint_color
from .types import Hand

# Joints at or above this confidence are drawn filled; below it hollow (a ring), and their bones faded.
CONFIDENT = 0.5
BOX_COLOR_BGR = (255, 255, 255)


def _scale(frame: np.ndarray) -> float:
    """Line widths and radii grow with the frame: 1 at 640 px on the long side."""
    return max(frame.shape[:2]) / 640.0


def _fade(color: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """Blend a colour towards grey by ``amount`` (0 = unchanged, 1 = grey)."""
    return tuple(int(round(c * (1 - amount) + 128 * amount)) for c in color)  # type: ignore[return-value]


def _point(xy: np.ndarray) -> tuple[int, int]:
    # Continuous coordinates (pixel centres at +0.5) -> OpenCV's integer pixel (centres at integers).
    return int(np.floor(xy[0])), int(np.floor(xy[1]))


def _draw_box(image: np.ndarray, hand: Hand, width: int, draw_confidence: bool) -> None:
    x0, y0, x1, y1 = (int(round(v)) for v in hand.box)
    cv2.rectangle(image, (x0, y0), (x1, y1), BOX_COLOR_BGR, width, cv2.LINE_AA)
    if draw_confidence:
        label = f"{hand.score:.2f}" + (f" #{hand.track_id}" if hand.track_id >= 0 else "") \
            + (f" {hand.handedness[0].upper()}" if hand.handedness else "")   # L / R
        font_scale = 0.5 * max(width, 1)
        cv2.putText(image, label, (x0, max(y0 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, font_scale, BOX_COLOR_BGR,
                    max(1, width // 2), cv2.LINE_AA)


def _draw_skeleton(image: np.ndarray, hand: Hand, width: int, radius: int) -> None:
    keypoints = np.asarray(hand.keypoints, np.float64)
    conf = np.asarray(hand.confidence, np.float64)
    finite = np.isfinite(keypoints).all(axis=1)
    for parent, child in BONES:
        if finite[parent] and finite[child]:
            weakest = min(conf[parent], conf[child])
            color = bone_color((parent, child)) if weakest >= CONFIDENT else _fade(bone_color((parent, child)), 0.6)
            cv2.line(image, _point(keypoints[parent]), _point(keypoints[child]), color, width, cv2.LINE_AA)
    for joint, (xy, c) in enumerate(zip(keypoints, conf)):
        if not finite[joint]:
            continue
        # Size by confidence: a confident joint is drawn at full radius, a doubtful one smaller and hollow.
        r = max(1, int(round(radius * (0.5 + 0.5 * float(np.clip(c, 0, 1))))))
        filled = c >= CONFIDENT
        color = joint_color(joint) if filled else _fade(joint_color(joint), 0.4)
        cv2.circle(image, _point(xy), r, color, -1 if filled else max(1, width // 2), cv2.LINE_AA)


def draw_hands(frame: np.ndarray, hands: Sequence[Hand], draw_boxes: bool = True,
               draw_confidence: bool = True) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3 uint8 BGR) with the hands drawn; the input is left untouched.

    draw_boxes: the hand boxes (with the score and track id when draw_confidence);
    joints are filled circles sized by confidence, hollow and faded below CONFIDENT.
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be an (H, W, 3) uint8 BGR numpy array, got "
                         f"{getattr(frame, 'shape', type(frame).__name__)} {getattr(frame, 'dtype', '')}")
    image = np.ascontiguousarray(frame).copy()
    s = _scale(image)
    width, radius = max(1, int(round(2 * s))), max(2, int(round(4 * s)))
    for hand in hands:
        if draw_boxes:
            _draw_box(image, hand, width, draw_confidence)
        _draw_skeleton(image, hand, width, radius)
    return image
