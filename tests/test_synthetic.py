"""The procedural hand generator: backgrounds, kinematics, limits, projection, visibility, frames and crops."""
from __future__ import annotations

import numpy as np
import pytest

from handjoints_trt import preprocess
from handjoints_trt.data.backgrounds import random_background
from handjoints_trt.data.synthetic import (ABDUCTION_LIMITS_DEG, DEG, FLEXION_LIMITS_DEG, POSE_NAMES, HandPose,
                                           HandShape, SynthConfig, SyntheticHands, joints_3d, random_pose,
                                           render, view_rotation)
from handjoints_trt.skeleton import FINGERS, TIPS

SMALL = SynthConfig(width=160, height=160, min_hand_px=16)
BLUE = (255, 0, 0)


def _plain(width: int = 256, height: int = 256) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = BLUE
    return image


# --- backgrounds ---------------------------------------------------------------------------------------------
def test_background_is_deterministic_uint8_bgr_of_the_asked_size() -> None:
    a = random_background(np.random.default_rng(3), 200, 120)
    b = random_background(np.random.default_rng(3), 200, 120)
    c = random_background(np.random.default_rng(4), 200, 120)
    assert a.shape == (120, 200, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.std() > 3  # a texture, not a flat fill


def test_background_uses_the_real_images_when_given() -> None:
    real = np.zeros((90, 140, 3), np.uint8)
    real[:] = (17, 201, 99)
    hits = 0
    for seed in range(10):
        bg = random_background(np.random.default_rng(seed), 64, 48, [real])
        hits += np.mean(np.all(bg == (17, 201, 99), axis=-1)) > 0.5
    assert hits >= 5  # most backgrounds are crops of the real image (85 % in expectation)


def test_background_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="width and height"):
        random_background(np.random.default_rng(0), 0, 10)
    gray = np.zeros((20, 20), np.uint8)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        for seed in range(20):  # the real-image path is taken with probability 0.85
            random_background(np.random.default_rng(seed), 16, 16, [gray])


# --- kinematics and limits -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", POSE_NAMES)
def test_random_poses_respect_the_anatomical_limits(name: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        pose = random_pose(rng, name)
        f, a = pose.flexion / DEG, pose.abduction / DEG
        assert np.all(f >= FLEXION_LIMITS_DEG[..., 0] - 1e-9) and np.all(f <= FLEXION_LIMITS_DEG[..., 1] + 1e-9)
        assert np.all(a >= ABDUCTION_LIMITS_DEG[:, 0] - 1e-9) and np.all(a <= ABDUCTION_LIMITS_DEG[:, 1] + 1e-9)


def test_clipping_brings_a_pose_inside_the_limits() -> None:
    wild = HandPose.from_degrees(np.full((5, 3), 170.0), np.full(5, -90.0))
    assert not wild.within_limits()
    clipped = wild.clipped()
    assert clipped.within_limits()
    assert np.allclose(clipped.flexion / DEG, FLEXION_LIMITS_DEG[..., 1])
    assert np.allclose(clipped.abduction / DEG, ABDUCTION_LIMITS_DEG[:, 0])


def test_pose_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match=r"flexion must be \(5, 3\)"):
        HandPose(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"abduction must be \(5,\)"):
        HandPose(np.zeros((5, 3)), np.zeros(4))


def test_bones_keep_their_lengths_in_every_pose() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        shape = HandShape.random(rng)
        joints = joints_3d(random_pose(rng, "random"), shape)
        for finger, chain in enumerate(FINGERS.values()):
            lengths = np.linalg.norm(np.diff(joints[list(chain)], axis=0), axis=1)
            assert np.allclose(lengths, shape.lengths[finger])


def test_open_fingers_run_away_from_the_wrist() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        joints = joints_3d(random_pose(rng, "open"), HandShape.random(rng))
        for chain in FINGERS.values():
            dist = np.linalg.norm(joints[list(chain)] - joints[0], axis=1)
            assert np.all(np.diff(dist) > 0.5), dist


def test_fist_brings_the_fingertips_back_towards_the_wrist() -> None:
    rng = np.random.default_rng(3)
    joints = joints_3d(random_pose(rng, "fist"))
    for chain in list(FINGERS.values())[1:]:
        tip, pip = joints[chain[3]], joints[chain[1]]
        assert np.linalg.norm(tip - joints[0]) < np.linalg.norm(pip - joints[0])


# --- projection and visibility -------------------------------------------------------------------------------
OPEN_FLAT = HandPose.from_degrees([[10, 0, 0]] + [[0, 0, 0]] * 4, [50, 8, 0, -6, -14])
FIST = HandPose.from_degrees([[30, 50, 50], [85, 100, 60], [85, 100, 60], [85, 100, 60], [85, 100, 60]],
                             [38, 0, 0, 0, 0])


def test_open_hand_facing_the_camera_shows_every_joint() -> None:
    image, points, visible = render(OPEN_FLAT, view_rotation(), background=_plain())
    assert visible.all()
    # Canonical view: fingers up (tips above the wrist), a right hand's thumb on the image's right.
    assert np.all(points[list(TIPS[1:]), 1] < points[0, 1] - 40)
    assert points[4, 0] > points[20, 0]


def test_fist_seen_from_the_back_hides_the_curled_fingers() -> None:
    _, points, visible = render(FIST, view_rotation(yaw_deg=180), background=_plain())
    curled = [j for chain in list(FINGERS.values())[1:] for j in chain[2:]]   # DIPs and tips
    assert not visible[curled].any(), visible
    assert visible[[0, 5, 9, 13, 17]].all()  # the knuckles face the camera


def test_visible_joints_lie_on_hand_pixels() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        image, points, visible = render(random_pose(rng), view_rotation(*rng.uniform(-180, 180, 3)),
                                        background=_plain(), forearm=False)
        painted = np.any(image != BLUE, axis=-1)
        for (x, y), vis in zip(points, visible):
            if vis:
                assert painted[int(y), int(x)]


def test_left_hand_is_the_mirror_image_of_the_right() -> None:
    _, right, _ = render(FIST, view_rotation(30, 20, 10), "right")
    _, left, _ = render(FIST, view_rotation(-30, 20, -10), "left")
    # Mirroring x in the image is the left hand under the mirrored rotation (yaw and roll negated).
    assert np.allclose(left[:, 0], 256 - right[:, 0], atol=1e-3)
    assert np.allclose(left[:, 1], right[:, 1], atol=1e-3)


def test_joints_outside_the_image_are_not_visible() -> None:
    _, points, visible = render(OPEN_FLAT, view_rotation(), centre=(0.0, 128.0), background=_plain())
    outside = points[:, 0] < 0
    assert outside.any() and (~outside).any()
    assert not visible[outside].any() and visible[~outside].all()


def test_render_places_the_box_exactly() -> None:
    _, points, _ = render(random_pose(np.random.default_rng(0)), view_rotation(40, -20, 70), hand_px=90,
                          centre=(100.0, 140.0))
    lo, hi = points.min(axis=0), points.max(axis=0)
    assert np.isclose((hi - lo).max(), 90, atol=1e-3)
    assert np.allclose((lo + hi) / 2, (100, 140), atol=1e-3)


# --- frames and crops ------------------------------------------------------------------------------------------
def test_frames_hold_zero_to_four_hands() -> None:
    gen = SyntheticHands(SMALL, seed=7)
    counts = {len(gen.frame(i).hands) for i in range(80)}
    assert counts == {0, 1, 2, 3, 4}


def test_frame_labels_box_all_joints() -> None:
    gen = SyntheticHands(SMALL, seed=11)
    seen_hidden = False
    for i in range(15):
        sample, points = gen.frame_with_points(i)
        assert sample.image.shape == (160, 160, 3) and sample.image.dtype == np.uint8
        assert len(points) == len(sample.hands)
        for hand, pts in zip(sample.hands, points):
            assert hand.handedness in ("left", "right")
            assert np.allclose(hand.box, [*pts.min(axis=0), *pts.max(axis=0)])
            assert np.all(pts >= hand.box[:2] - 1e-4) and np.all(pts <= hand.box[2:] + 1e-4)
            assert np.allclose(hand.keypoints[hand.visible], pts[hand.visible])
            assert np.all(hand.keypoints[~hand.visible] == 0)
            seen_hidden |= bool((~hand.visible).any())
    assert seen_hidden  # self-occlusion happens; frame_with_points keeps those joints' positions


def test_frames_are_deterministic_per_seed_and_index() -> None:
    a, b, c = SyntheticHands(SMALL, seed=1), SyntheticHands(SMALL, seed=1), SyntheticHands(SMALL, seed=2)
    for i in (0, 5):
        sa, sb = a.frame(i), b.frame(i)
        assert np.array_equal(sa.image, sb.image)
        assert len(sa.hands) == len(sb.hands)
        for ha, hb in zip(sa.hands, sb.hands):
            assert np.array_equal(ha.keypoints, hb.keypoints) and np.array_equal(ha.visible, hb.visible)
        assert not np.array_equal(sa.image, c.frame(i).image)
    assert not np.array_equal(a.frame(0).image, a.frame(1).image)
    assert np.array_equal(a.crop(3).image, b.crop(3).image)
    assert not np.array_equal(a.crop(3).image, c.crop(3).image)


def test_hand_sizes_span_the_configured_range() -> None:
    gen = SyntheticHands(SynthConfig(), seed=3)
    sizes = [float((h.box[2:] - h.box[:2]).max()) for i in range(60) for h in gen.frame(i).hands]
    assert min(sizes) < 40 and max(sizes) > 150
    assert min(sizes) > 20 * 0.8 and max(sizes) < 0.9 * 384 * 1.15


@pytest.mark.parametrize("crop_size", [64, 128])
def test_crops_centre_the_hand_at_the_contract_size(crop_size: int) -> None:
    gen = SyntheticHands(seed=5)
    for i in range(10):
        sample, (points,) = gen.crop_with_points(i, crop_size)
        assert sample.image.shape == (crop_size, crop_size, 3)
        (hand,) = sample.hands
        lo, hi = hand.box[:2], hand.box[2:]
        assert np.isclose((hi - lo).max(), crop_size / preprocess.CROP_SCALE, atol=1e-2)
        assert np.allclose((lo + hi) / 2, crop_size / 2, atol=1e-2)
        # The inference crop of this box is the identity: training crops match what stage II sees.
        m = preprocess.crop_affine(hand.box, crop_size)
        assert np.allclose(preprocess.apply_affine(m, points), points, atol=1e-2)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="hand_count_weights"):
        SynthConfig(max_hands=2, hand_count_weights=(1, 1))
    with pytest.raises(ValueError, match="min_hand_px"):
        SynthConfig(width=64, height=64, min_hand_px=80)
    with pytest.raises(IndexError, match="index"):
        SyntheticHands(SMALL).frame(-1)
