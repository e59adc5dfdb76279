"""Composed multi-hand frames (data/compose.py): cut-outs, placement, labels, occlusion, mixing."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from handjoints_trt.data.compose import (ComposeConfig, ComposedFrames, cutout, draw_hand_crop,
                                         quarter_turn, turned_sample)
from handjoints_trt.data.sample import HandLabel, Record, Sample
from handjoints_trt.preprocess import warp
from handjoints_trt.skeleton import NUM_JOINTS

# Photometric shift and frame blur off: tests that read pixel colours need the source colours unchanged.
NO_PHOTOMETRY = dict(brightness_sigma=0.0, channel_sigma=0.0, bias_sigma=0.0, p_blur=0.0)


def drawn_records(folder: Path, count: int, seed: int = 0) -> list[Record]:
    """Self-drawn hand crops written as JPEGs into ``folder``, as Records."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        image, hand = draw_hand_crop(rng, int(rng.integers(64, 120)))
        path = folder / f"hand_{i}.jpg"
        assert cv2.imwrite(str(path), image)
        records.append(Record(str(path), [hand], image.shape[1], image.shape[0]))
    return records


def centred_hand(size: int = 96, pad: int = 40, seed: int = 1) -> tuple[np.ndarray, HandLabel]:
    """A drawn hand in the middle of a larger image (no joint near the border)."""
    image, hand = draw_hand_crop(np.random.default_rng(seed), size)
    big = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    return big, HandLabel(hand.keypoints + pad, hand.visible, None, hand.handedness)


def dotted_photo(path: Path, dots: dict, handedness: str | None = None) -> HandLabel:
    """A drawn 220 px hand with a coloured dot ({joint: BGR}) on some joints, written losslessly to ``path``;
    returns its label."""
    image, hand = centred_hand(size=220)
    for joint, color in dots.items():
        cv2.circle(image, tuple(int(v) for v in hand.keypoints[joint]), 12, color, -1)
    cv2.imwrite(str(path), image)
    return HandLabel(hand.keypoints, hand.visible, None, handedness)


def solid_record(folder: Path, name: str, color: tuple[int, int, int], pad: int = 40) -> Record:
    """A PNG of one solid colour with a drawn hand pose's joints in its middle (lossless: exact colours)."""
    _, hand = centred_hand(pad=pad)
    height, width = int(hand.keypoints[:, 1].max()) + pad, int(hand.keypoints[:, 0].max()) + pad
    path = folder / f"{name}.png"
    assert cv2.imwrite(str(path), np.full((height, width, 3), color, np.uint8))
    return Record(str(path), [hand], width, height)


def pixel(image: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The pixel holding continuous point (x, y), as int."""
    return image[int(np.floor(point[1])), int(np.floor(point[0]))].astype(int)


# ------------------------------------------------------------------------------------------------- cutout


@pytest.mark.parametrize("mask_shape", ["bones", "hull"])
def test_cutout_alpha_is_feathered_and_one_inside(mask_shape):
    image, hand = centred_hand()
    patch, alpha, keypoints = cutout(image, hand, np.random.default_rng(0), mask_shape=mask_shape)
    assert patch.dtype == np.uint8 and alpha.dtype == np.float32 and patch.shape[:2] == alpha.shape
    # ~1 on every joint and inside the palm
    joint_alpha = alpha[np.floor(keypoints[:, 1]).astype(int), np.floor(keypoints[:, 0]).astype(int)]
    assert joint_alpha.min() > 0.98
    palm = keypoints[[0, 5, 9, 13, 17]].mean(axis=0)
    assert alpha[int(palm[1]), int(palm[0])] > 0.98
    # feathered: a band of values strictly between 0 and 1, and ~0 at the patch's edge (no hard rectangle)
    assert np.count_nonzero((alpha > 0.05) & (alpha < 0.95)) > 100
    edge = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
    assert edge.max() < 0.05
    # the patch is the image around the hand: keypoints in patch pixels point at the same content
    offset = hand.keypoints[0] - keypoints[0]
    assert np.allclose(hand.keypoints - keypoints, offset)
    x0, y0 = int(offset[0]), int(offset[1])
    assert np.array_equal(patch, image[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]])


def test_cutout_mask_is_clipped_to_the_image():
    # drawn crops are tight like hagrid's: the wrist sits a few pixels above the bottom edge
    image, hand = draw_hand_crop(np.random.default_rng(2), 80)
    patch, alpha, keypoints = cutout(image, hand, np.random.default_rng(0), grow_frac=(0.3, 0.3))
    # growing by 30 % of the hand would pass the image edge: the patch stops at the image
    assert patch.shape[0] <= image.shape[0] and patch.shape[1] <= image.shape[1]
    assert alpha[-1].max() > 0.2  # the mask reaches the bottom edge (the hand is cut there), fading out
    assert alpha[-1].max() < 0.9


def test_cutout_rejects_bad_input():
    image, hand = centred_hand()
    with pytest.raises(ValueError, match="image must be an"):
        cutout(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), hand, np.random.default_rng(0))
    few = HandLabel(hand.keypoints, np.arange(NUM_JOINTS) < 2)
    with pytest.raises(ValueError, match="hand.visible"):
        cutout(image, few, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mask_shape"):
        cutout(image, hand, np.random.default_rng(0), mask_shape="circle")


# ------------------------------------------------------------------------------------------------- frames


def test_hands_lie_in_the_frame_with_keypoints_in_their_boxes(tmp_path):
    config = ComposeConfig(frame_sizes=((320, 240), (200, 300)), p_empty=0.0, max_hands=4)
    frames = ComposedFrames(drawn_records(tmp_path, 12), config, seed=7)
    counts = []
    for index in range(40):
        sample = frames.frame(index)
        height, width = sample.image.shape[:2]
        assert (width, height) in config.frame_sizes and sample.image.dtype == np.uint8
        assert 0 < len(sample.hands) <= config.max_hands
        counts.append(len(sample.hands))
        for hand in sample.hands:
            x0, y0, x1, y1 = hand.box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            assert max(x1 - x0, y1 - y0) < config.max_hand_frac * min(width, height) + 1
            kp = hand.keypoints[hand.visible]
            assert len(kp) >= config.min_visible_joints
            assert np.all((kp >= 0) & (kp < [width, height]))
            assert np.all((kp >= hand.box[:2] - 1e-3) & (kp <= hand.box[2:] + 1e-3))
            assert hand.handedness in ("left", "right")
        for i, a in enumerate(sample.hands):  # placements overlapping an earlier box were rejected
            for b in sample.hands[:i]:
                assert _iou(a.box, b.box) <= config.max_iou + 1e-6
    assert max(counts) >= 3  # several hands per frame do occur


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_frames_are_deterministic_per_seed_and_index(tmp_path):
    records = drawn_records(tmp_path, 6)
    a = ComposedFrames(records, seed=3)
    b = ComposedFrames(records, seed=3)
    later = [b.frame(i) for i in (9, 4)]  # another order: each frame depends on (seed, index) only
    for first, second in zip([a.frame(i) for i in (9, 4)], later):
        assert np.array_equal(first.image, second.image)
        assert len(first.hands) == len(second.hands)
        for h1, h2 in zip(first.hands, second.hands):
            assert np.array_equal(h1.keypoints, h2.keypoints) and np.array_equal(h1.visible, h2.visible)
    other = ComposedFrames(records, seed=4).frame(9)
    assert other.image.shape != later[0].image.shape or not np.array_equal(other.image, later[0].image)


def test_hand_free_frames_occur_and_paste_nothing(tmp_path):
    records = drawn_records(tmp_path, 4)
    frames = ComposedFrames(records, ComposeConfig(p_empty=0.3, p_synthetic=0.0), seed=0)
    empty = sum(len(frames.frame(i).hands) == 0 for i in range(60))
    assert 8 <= empty <= 30  # ~0.3 of 60
    for record in records:  # a hand-free frame must never read a source image
        Path(record.path).unlink()
    only_empty = ComposedFrames(records, ComposeConfig(p_empty=1.0, p_synthetic=0.0), seed=0)
    for i in range(5):
        sample = only_empty.frame(i)
        assert sample.hands == [] and sample.image.ndim == 3
    with pytest.raises(FileNotFoundError):
        ComposedFrames(records, ComposeConfig(p_empty=0.0), seed=0).frame(0)


@pytest.mark.parametrize("hand_px", [(90, 0.8), (45, 0.2)], ids=["enlarged", "shrunk"])
def test_pasted_keypoints_land_on_the_pasted_content(tmp_path, hand_px):
    # Dots of three colours at three joints: wrong rotation, flip or offset puts a joint on the wrong colour.
    # 'shrunk' pastes a ~190 px hand at 45-60 px: the path that resizes before warping.
    dots = {0: (0, 255, 0), 8: (0, 0, 255), 20: (255, 0, 0)}
    path = tmp_path / "dots.png"
    hand = dotted_photo(path, dots)
    config = ComposeConfig(frame_sizes=((400, 300),), p_empty=0.0, max_hands=1, min_hand_px=hand_px[0],
                           max_hand_frac=hand_px[1], p_upright=0.0, **NO_PHOTOMETRY)
    frames = ComposedFrames([Record(str(path), [hand])], config, seed=1)
    checked = 0
    for index in range(12):
        sample = frames.frame(index)
        (pasted,) = sample.hands
        size = pasted.box[2:] - pasted.box[:2]
        assert max(size) <= max(config.min_hand_px, config.max_hand_frac * 300) + 1
        for joint, color in dots.items():
            if pasted.visible[joint]:
                assert np.abs(pixel(sample.image, pasted.keypoints[joint]) - color).max() < 70, (index, joint)
                checked += 1
    assert checked >= 20


@pytest.mark.parametrize("p_flip", [0.0, 1.0])
def test_whole_photo_frames_keep_the_photo_and_its_labels(tmp_path, p_flip):
    # A photo with coloured dots on three joints, placed whole (p_photo=1): each visible joint must land on
    # its dot, the hand's box must hold its joints, and mirroring must swap the handedness.
    dots = {0: (0, 255, 0), 8: (0, 0, 255), 20: (255, 0, 0)}
    path = tmp_path / "photo.png"
    hand = dotted_photo(path, dots, "left")
    config = ComposeConfig(frame_sizes=((640, 360), (300, 400)), p_empty=0.0, p_synthetic=0.0, p_photo=1.0,
                           p_flip=p_flip, **NO_PHOTOMETRY)
    frames = ComposedFrames([Record(str(path), [hand])], config, seed=2)
    sides = []
    for index in range(8):
        sample = frames.frame(index)
        assert sample.source.startswith("photo:")
        (label,) = sample.hands
        assert label.handedness == ("right" if p_flip else "left")
        assert label.visible.all()                       # the whole photo is inside the frame
        for joint, color in dots.items():
            assert np.abs(pixel(sample.image, label.keypoints[joint]) - color).max() < 70, (index, joint)
        lo, hi = label.keypoints.min(axis=0), label.keypoints.max(axis=0)
        np.testing.assert_allclose(label.box, [*lo, *hi], atol=1e-3)
        h, w = sample.image.shape[:2]
        sides.append(max(hi - lo) / min(w, h))
    assert 0.2 < min(sides) and max(sides) < 1.0          # a third to most of the frame
    with pytest.raises(ValueError, match="p_photo"):
        ComposeConfig(p_empty=0.5, p_synthetic=0.3, p_photo=0.3)
    with pytest.raises(ValueError, match="photo_zoom"):
        ComposeConfig(photo_zoom=(0.5, 1.5))


@pytest.mark.parametrize("quarters, rotate", [(1, cv2.ROTATE_90_CLOCKWISE), (2, cv2.ROTATE_180),
                                               (3, cv2.ROTATE_90_COUNTERCLOCKWISE)])
def test_quarter_turn_is_an_exact_turn(quarters, rotate):
    image = np.random.default_rng(quarters).integers(0, 256, (37, 52, 3), np.uint8)
    expected = cv2.rotate(image, rotate)
    turned = warp(image, quarter_turn(image.shape, quarters), expected.shape[1::-1])
    np.testing.assert_array_equal(turned, expected)


def test_whole_photos_turned_by_quarter_turns_keep_their_labels(tmp_path):
    # p_photo_turn=1: every whole photo is turned 90, 180 or 270 degrees; each visible joint must still land on
    # its dot, and the hand's wrist -> middle knuckle direction must be turned by that much from the photo's.
    dots = {0: (0, 255, 0), 9: (0, 0, 255), 20: (255, 0, 0)}
    path = tmp_path / "photo.png"
    hand = dotted_photo(path, dots)
    config = ComposeConfig(frame_sizes=((640, 360),), p_empty=0.0, p_synthetic=0.0, p_photo=1.0, p_flip=0.0,
                           p_photo_turn=1.0, **NO_PHOTOMETRY)
    source_angle = np.degrees(np.arctan2(*(hand.keypoints[9] - hand.keypoints[0])[::-1]))
    frames, turns = ComposedFrames([Record(str(path), [hand])], config, seed=4), set()
    for index in range(12):
        sample = frames.frame(index)
        (label,) = sample.hands
        for joint, color in dots.items():
            assert np.abs(pixel(sample.image, label.keypoints[joint]) - color).max() < 70, (index, joint)
        angle = np.degrees(np.arctan2(*(label.keypoints[9] - label.keypoints[0])[::-1]))
        turn = (angle - source_angle) % 360
        assert min(abs(turn - q) for q in (90, 180, 270)) < 1.0, turn
        turns.add(int(round(turn / 90)) % 4)
    assert turns == {1, 2, 3}
    with pytest.raises(ValueError, match="p_photo_turn"):
        ComposeConfig(p_photo_turn=1.5)


def test_turned_sample_turns_image_joints_and_box():
    image, hand = centred_hand(size=120)
    hand = HandLabel(hand.keypoints, hand.visible, None, "right")
    cv2.circle(image, tuple(int(v) for v in hand.keypoints[12]), 5, (0, 0, 255), -1)
    sample = Sample(image, [hand], "photo")
    for quarters in (1, 2, 3):
        turned = turned_sample(sample, quarters)
        (label,) = turned.hands
        assert turned.image.shape[:2] == (image.shape[:2] if quarters == 2 else image.shape[1::-1])
        assert np.abs(pixel(turned.image, label.keypoints[12]) - (0, 0, 255)).max() < 40
        np.testing.assert_allclose(label.box, [*label.keypoints.min(0), *label.keypoints.max(0)], atol=1e-3)
        assert label.handedness == "right" and turned.source == f"photo:turned{90 * quarters}"
        back = turned_sample(turned, 4 - quarters)                         # the rest of the way round: as it was
        np.testing.assert_array_equal(back.image, image)
        np.testing.assert_allclose(back.hands[0].keypoints, hand.keypoints, atol=1e-3)


def test_mirrored_hands_swap_handedness(tmp_path):
    # Upright, unrotated pastes of a hand whose thumb tip is left of its little tip: mirrored, it is right.
    records = drawn_records(tmp_path, 1)
    records[0].hands[0].handedness = "left"
    thumb_left = records[0].hands[0].keypoints[4, 0] < records[0].hands[0].keypoints[20, 0]
    assert thumb_left
    for p_flip, expected in ((1.0, "right"), (0.0, "left")):
        config = ComposeConfig(p_empty=0.0, p_synthetic=0.0, p_upright=1.0, rotation_sigma_deg=0.0,
                               p_flip=p_flip, max_hands=1, min_source_joints=21, min_visible_joints=21)
        frames = ComposedFrames(records, config, seed=0)
        for index in range(5):
            for hand in frames.frame(index).hands:
                assert hand.handedness == expected
                assert (hand.keypoints[4, 0] < hand.keypoints[20, 0]) == (expected == "left")


def test_joints_covered_by_a_later_hand_are_not_visible(tmp_path):
    # Two solid-colour sources (red, green), overlaps allowed: a joint's own colour dominates where it is
    # visible, the other hand's colour where it was covered.
    records = [solid_record(tmp_path, "red", (0, 0, 255)), solid_record(tmp_path, "green", (0, 255, 0))]
    source = records[0].hands[0].keypoints
    config = ComposeConfig(frame_sizes=((160, 160),), p_empty=0.0, max_hands=2, min_hand_px=60,
                           max_hand_frac=0.9, max_iou=1.0, min_visible_joints=3, **NO_PHOTOMETRY)
    frames = ComposedFrames(records, config, seed=0)
    covered_seen = 0
    for index in range(80):
        sample = frames.frame(index)
        if len(sample.hands) != 2:
            continue
        channels = [_own_channel(sample.image, hand) for hand in sample.hands]
        if channels[0] == channels[1]:
            continue
        for hand, own in zip(sample.hands, channels):
            other = 1 if own == 2 else 2
            placed = _recover_all_joints(source, hand)  # the invisible joints' positions are zeroed in labels
            for joint in range(NUM_JOINTS):
                x, y = placed[joint]
                if not (0 <= x < 160 and 0 <= y < 160):
                    assert not hand.visible[joint]
                    continue
                color = pixel(sample.image, placed[joint])
                if hand.visible[joint]:
                    assert color[own] >= color[other] - 8, (index, joint)
                else:
                    assert color[other] >= color[own] - 8, (index, joint)
                    covered_seen += 1
    assert covered_seen >= 10  # the case under test happened


def _own_channel(image: np.ndarray, hand: HandLabel) -> int:
    """1 (green) or 2 (red): the colour under most of the hand's visible joints."""
    colors = np.array([pixel(image, p) for p in hand.keypoints[hand.visible]])
    return 2 if np.median(colors[:, 2] - colors[:, 1]) > 0 else 1


def _recover_all_joints(source: np.ndarray, hand: HandLabel) -> np.ndarray:
    """All 21 pasted positions: the affine source -> frame fitted on the visible joints (exact)."""
    src = np.concatenate([source[hand.visible], np.ones((hand.visible.sum(), 1))], axis=1)
    m, *_ = np.linalg.lstsq(src, hand.keypoints[hand.visible].astype(np.float64), rcond=None)
    return np.concatenate([source, np.ones((NUM_JOINTS, 1))], axis=1) @ m


class _FixedSource:
    """A stand-in hand generator with the SyntheticHands interface (frame(index) -> Sample)."""

    def frame(self, index: int) -> Sample:
        return Sample(np.zeros((50, 60, 3), np.uint8), [], f"fixed:{index}")


def test_a_fraction_of_frames_comes_from_the_synthetic_source(tmp_path):
    records = drawn_records(tmp_path, 3)
    config = ComposeConfig(p_empty=0.1, p_synthetic=0.4)
    mixed = ComposedFrames(records, config, seed=0, synthetic=_FixedSource())
    sources = [mixed.frame(i).source for i in range(50)]
    synthetic = [s for s in sources if s.startswith("fixed:")]
    assert 10 <= len(synthetic) <= 30
    assert all(s == f"fixed:{i}" for i, s in enumerate(sources) if s.startswith("fixed:"))
    alone = ComposedFrames(records, config, seed=0)
    assert not any(alone.frame(i).source.startswith("fixed:") for i in range(20))
    with pytest.raises(TypeError, match="synthetic"):
        ComposedFrames(records, config, synthetic=object())


def test_bad_config_and_records_raise_naming_the_field(tmp_path):
    with pytest.raises(ValueError, match="p_empty"):
        ComposeConfig(p_empty=1.5)
    with pytest.raises(ValueError, match="p_empty \\+ p_synthetic"):
        ComposeConfig(p_empty=0.6, p_synthetic=0.6)
    with pytest.raises(ValueError, match="frame_sizes"):
        ComposeConfig(frame_sizes=())
    with pytest.raises(ValueError, match="max_hands"):
        ComposeConfig(max_hands=0)
    with pytest.raises(ValueError, match="min_source_joints"):
        ComposedFrames([Record(str(tmp_path / "none.jpg"), [])])


# ------------------------------------------------------------------------------------------------- real data


def _hagrid_records(root: Path, count: int) -> list[Record]:
    try:
        from handjoints_trt.data.loaders.hagrid import load_hagrid_mp
    except ImportError:  # the loader is optional here: read the README's schema directly
        entries = json.loads((root / "annotations.json").read_text())[:count]
        return [Record(str(root / "images" / e["file"]),
                       [HandLabel(np.array(e["keypoints"], np.float32), np.ones(NUM_JOINTS, bool))])
                for e in entries]
    return load_hagrid_mp(root, "val")[:count]


def test_composes_real_hagrid_hands(hagrid_dir):
    records = _hagrid_records(hagrid_dir, 300)
    for record in records[:30]:  # every real crop cuts out: soft mask, joints on it
        sample = record.load()
        patch, alpha, keypoints = cutout(sample.image, sample.hands[0], np.random.default_rng(0))
        assert patch.shape[:2] == alpha.shape and 0 < alpha.max() <= 1
        assert np.all((keypoints >= 0) & (keypoints <= patch.shape[1::-1]))
    frames = ComposedFrames(records, ComposeConfig(p_empty=0.0, p_synthetic=0.0), seed=0)
    total = 0
    for index in range(10):
        sample = frames.frame(index)
        height, width = sample.image.shape[:2]
        for hand in sample.hands:
            kp = hand.keypoints[hand.visible]
            assert np.all((kp >= 0) & (kp < [width, height]))
            assert np.all((kp >= hand.box[:2] - 1e-3) & (kp <= hand.box[2:] + 1e-3))
        total += len(sample.hands)
    assert total >= 10
