"""draw_hands: a new annotated frame, the input untouched, joints visible where the hand is."""
from __future__ import annotations

import numpy as np
import pytest

from handjoints_trt.draw import draw_hands
from handjoints_trt.skeleton import joint_color
from handjoints_trt.types import Hand


def _hand(confidence: float = 0.9) -> Hand:
    angles = np.linspace(0, 2 * np.pi, 21, endpoint=False)
    keypoints = np.stack([160 + 60 * np.cos(angles), 120 + 60 * np.sin(angles)], axis=1).astype(np.float32)
    return Hand((90.0, 50.0, 230.0, 190.0), 0.87, keypoints, np.full(21, confidence, np.float32), track_id=3)


def test_draws_joints_and_keeps_the_input():
    frame = np.zeros((240, 320, 3), np.uint8)
    hand = _hand()
    out = draw_hands(frame, [hand])
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert not frame.any()                      # input untouched
    for joint, (x, y) in enumerate(hand.keypoints):
        pixel = out[int(y), int(x)]
        # a confident joint is a filled disc of its colour at its position
        assert np.abs(pixel.astype(int) - joint_color(joint)).max() <= 40, joint


def test_low_confidence_joints_are_hollow():
    frame = np.zeros((240, 320, 3), np.uint8)
    hand = _hand(confidence=0.1)
    out = draw_hands(frame, [hand], draw_boxes=False)
    x, y = hand.keypoints[5]
    assert not out[int(y), int(x)].any() or out[int(y), int(x)].max() < 200  # centre of a ring stays dark
    assert out.any()


def test_boxes_and_labels_are_optional():
    frame = np.zeros((240, 320, 3), np.uint8)
    with_box = draw_hands(frame, [_hand()], draw_boxes=True)
    without = draw_hands(frame, [_hand()], draw_boxes=False)
    assert with_box[50, 150].any() and not without[50, 150].any()     # the box's top edge
    assert np.array_equal(draw_hands(frame, []), frame)


def test_bad_frame():
    with pytest.raises(ValueError, match="uint8 BGR"):
        draw_hands(np.zeros((10, 10), np.uint8), [])
