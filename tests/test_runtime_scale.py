"""Localizer training at the runtime's scale (TrainConfig.runtime_scale): windows of frames scaled as detect()
scales them, with boxes that still sit on the hands' pixels."""
from types import SimpleNamespace

import numpy as np
import pytest

from handjoints_trt import preprocess
from handjoints_trt.training.datasets import MIN_KEPT_AREA, LocalizerFrames, runtime_scale_window

INPUT = (384, 384)


def frame_with_rectangles(size, boxes):
    """A black (height, width) frame with each box filled white; boxes are x0, y0, x1, y1 frame pixels."""
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    for x0, y0, x1, y1 in boxes:
        image[int(y0):int(y1), int(x0):int(x1)] = 255
    return image


def white_extent(image: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(image[..., 0] > 200)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_hd_frames_are_seen_at_the_runtime_scale_and_boxes_follow_the_pixels():
    box = np.array([[600, 300, 680, 380]], np.float32)      # an 80 px hand in the middle of a 1280x720 frame
    image = frame_with_rectangles((1280, 720), box)
    window, boxes = runtime_scale_window(image, box, INPUT, np.random.default_rng(0))
    assert window.shape == (384, 384, 3) and boxes.shape == (1, 4)
    # detect() gives 1280x720 to stage I at 640x384, half size: the hand is 40 px there, not the 24 px of 384.
    assert boxes[0, 2] - boxes[0, 0] == pytest.approx(40, abs=0.5)
    np.testing.assert_allclose(boxes[0], white_extent(window), atol=1.0)


def test_frames_up_to_640_px_are_letterboxed_as_before():
    box = np.array([[100, 120, 180, 220]], np.float32)
    image = frame_with_rectangles((640, 480), box)
    window, boxes = runtime_scale_window(image, box, INPUT, np.random.default_rng(0))
    plain, lb = preprocess.letterbox_image(image, INPUT)
    np.testing.assert_array_equal(window, plain)
    np.testing.assert_allclose(boxes[0], box[0] * lb.scale_x + [lb.pad_x, lb.pad_y] * 2, atol=1e-4)


def test_hands_cut_by_the_window_are_clipped_or_dropped():
    # Two hands at the left and right edges of a 1920x1080 frame: a 384-wide window of its 640-wide scaled
    # frame holds at most one of them whole; the other is clipped (most of it inside) or dropped.
    boxes_in = np.array([[0, 500, 300, 800], [1620, 500, 1920, 800]], np.float32)
    image = frame_with_rectangles((1920, 1080), boxes_in)
    kept_counts = set()
    for seed in range(20):
        window, boxes = runtime_scale_window(image, boxes_in, INPUT, np.random.default_rng(seed))
        assert np.all(boxes >= 0) and np.all(boxes[:, 2:] <= 384)
        for b in boxes:                                       # every kept box covers white pixels
            x0, y0, x1, y1 = np.round(b).astype(int)
            assert window[y0:y1, x0:x1, 0].mean() > 200
        kept_counts.add(len(boxes))
    assert kept_counts <= {0, 1, 2} and 1 in kept_counts
    # Only hands with at least MIN_KEPT_AREA of their box inside the window are targets.
    assert 0 < MIN_KEPT_AREA < 1


def test_the_dataset_builds_input_sized_targets_at_runtime_scale():
    box = np.array([[600, 100, 700, 200]], np.float32)   # inside every 384-wide window of the 640-wide frame
    sample = SimpleNamespace(image=frame_with_rectangles((1280, 720), box), hands=[SimpleNamespace(box=box[0])])
    frames = SimpleNamespace(frame=lambda index: sample)
    plain = LocalizerFrames(frames, INPUT, 4, length=4, augment=True)
    scaled = LocalizerFrames(frames, INPUT, 4, length=4, augment=True, runtime_scale=True)
    a, b = plain[0], scaled[0]
    assert a["image"].shape == b["image"].shape == (3, 384, 384) and b["centers"].shape == (1, 96, 96)
    # The same hand is 640 / 384 times as large as in the plain letterbox.
    assert a["mask"].sum() == b["mask"].sum() == 1
    size_plain = a["sizes"][:, a["mask"][0] > 0][:, 0]
    size_scaled = b["sizes"][:, b["mask"][0] > 0][:, 0]
    np.testing.assert_allclose(np.exp(size_scaled - size_plain), 640 / 384, rtol=0.05)
    # Validation: the whole frame as detect() gives it to stage I (640x384), top-left on a 640x640 canvas.
    validation = LocalizerFrames(frames, (640, 640), 4, length=4, augment=False, runtime_scale=True,
                                 model_long_side=384)
    item = validation[0]
    assert item["image"].shape == (3, 640, 640) and item["mask"].sum() == 1
    # 1280x720 -> 640x360 inside the 640x384 input (12 rows of padding above): half size, 12 px down.
    np.testing.assert_allclose(item["boxes"][0], box[0] * 0.5 + [0, 12, 0, 12], atol=0.5)
    small = SimpleNamespace(image=frame_with_rectangles((320, 320), [[10, 10, 50, 50]]),
                            hands=[SimpleNamespace(box=np.array([10, 10, 50, 50], np.float32))])
    item = LocalizerFrames(SimpleNamespace(frame=lambda i: small), (640, 640), 4, length=1, augment=False,
                           runtime_scale=True, model_long_side=384)[0]
    np.testing.assert_allclose(item["boxes"][0], np.array([10, 10, 50, 50]) * 1.2, atol=0.5)   # 320 -> 384
    image = (item["image"].transpose(1, 2, 0) + 0.5) * 255
    assert np.abs(image[400:, 400:] - preprocess.LETTERBOX_FILL).max() < 1   # the rest of the canvas is padding


def test_frames_turned_by_quarter_turns_keep_their_boxes_on_the_hand():
    """LocalizerFrames(p_turn=1): every training frame turned 90 / 180 / 270 degrees (the tall hand seen wide), its box
    still on the hand's white pixels; p_turn=0 items are exactly the unturned ones; validation never turns."""
    from handjoints_trt.data.sample import HandLabel, Sample

    keypoints = np.zeros((21, 2), np.float32)
    keypoints[:, 0], keypoints[:, 1] = np.linspace(40, 100, 21), np.linspace(60, 200, 21)   # a tall, thin hand
    sample = Sample(frame_with_rectangles((320, 256), [[40, 60, 100, 200]]),
                    [HandLabel(keypoints, np.ones(21, bool), np.array([40, 60, 100, 200], np.float32))])
    frames = SimpleNamespace(frame=lambda index: sample)
    turned = LocalizerFrames(frames, (320, 320), 4, length=12, augment=True, p_turn=1.0)
    plain = LocalizerFrames(frames, (320, 320), 4, length=12, augment=True)
    shapes = set()
    for i in range(12):
        item = turned[i]
        image = (item["image"].transpose(1, 2, 0) + 0.5) * 255
        x0, y0, x1, y1 = item["boxes"][0]
        shapes.add("wide" if x1 - x0 > y1 - y0 else "tall")
        np.testing.assert_allclose(item["boxes"][0], white_extent(image.astype(np.uint8)), atol=1.0)
        np.testing.assert_array_equal(plain[i]["image"], LocalizerFrames(frames, (320, 320), 4, length=12,
                                                                         augment=True, p_turn=0.0)[i]["image"])
    assert shapes == {"wide", "tall"}                        # 90 / 270 turn the tall hand wide, 180 keeps it tall
    validation = LocalizerFrames(frames, (320, 320), 4, length=2, augment=False, p_turn=1.0)[0]
    np.testing.assert_allclose(validation["boxes"][0][[1, 3]] - validation["boxes"][0][[0, 2]],
                               plain[0]["boxes"][0][[1, 3]] - plain[0]["boxes"][0][[0, 2]], atol=1e-4)
    with pytest.raises(ValueError, match="p_turn"):
        LocalizerFrames(frames, (320, 320), 4, length=1, p_turn=2.0)
