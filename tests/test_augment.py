"""Augmentation: keypoints move with the pixels, flips swap handedness, photometric ops keep labels."""
from __future__ import annotations

import numpy as np
import pytest

from handjoints_trt.data.augment import (AugmentConfig, affine_matrix, augment, blur, color_jitter, cutout,
                                         jpeg, low_light, noise, overexpose, photometric, random_affine,
                                         transform_sample)
from handjoints_trt.data.sample import HandLabel, Sample

W, H = 96, 80  # not square: catches swapped width and height
DOT_JOINT = 5


def dot_image(center: tuple[float, float], sigma: float = 1.6) -> np.ndarray:
    """(H, W, 3) uint8: a gaussian dot at a continuous-coordinate ``center`` (pixel centres at +0.5)."""
    xs, ys = np.arange(W) + 0.5, np.arange(H) + 0.5
    g = np.exp(-((xs[None, :] - center[0]) ** 2 + (ys[:, None] - center[1]) ** 2) / (2 * sigma ** 2))
    return np.repeat((g * 255).round().astype(np.uint8)[..., None], 3, axis=2)


def centroid(image: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre of the image, continuous coordinates."""
    g = image[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:H, :W] + 0.5
    return np.array([(g * xs).sum(), (g * ys).sum()]) / g.sum()


def dot_sample(center=(41.3, 37.8), handedness="left") -> Sample:
    keypoints = np.column_stack([np.linspace(30, 60, 21), np.linspace(25, 55, 21)])
    keypoints[DOT_JOINT] = center
    return Sample(dot_image(center), [HandLabel(keypoints, np.ones(21, bool), None, handedness)], "dots")


@pytest.mark.parametrize("seed", range(12))
def test_keypoint_stays_on_its_dot_after_random_affine(seed):
    rng = np.random.default_rng(seed)
    out = random_affine(dot_sample(), rng, rotation_deg=45, scale_range=(0.8, 1.25), translate=0.1, p_flip=0.5)
    hand = out.hands[0]
    assert hand.visible[DOT_JOINT]
    assert np.linalg.norm(centroid(out.image) - hand.keypoints[DOT_JOINT]) < 0.25


def test_flip_mirrors_pixels_exactly_and_swaps_handedness():
    sample = dot_sample(handedness="left")
    m = affine_matrix((W, H), flip=True)
    out = transform_sample(sample, m, flip=True)
    # Continuous coordinates: x -> W - x, and the image is the exact mirror (no half-pixel shift).
    assert np.array_equal(out.image, sample.image[:, ::-1])
    assert np.allclose(out.hands[0].keypoints, np.column_stack([W - sample.hands[0].keypoints[:, 0],
                                                                sample.hands[0].keypoints[:, 1]]), atol=1e-4)
    assert out.hands[0].handedness == "right"
    assert transform_sample(dot_sample(handedness=None), m, flip=True).hands[0].handedness is None
    # Same joint order: the dot joint is still joint 5 and sits on the mirrored dot.
    assert np.linalg.norm(centroid(out.image) - out.hands[0].keypoints[DOT_JOINT]) < 0.05


def test_random_flip_swaps_handedness_only_when_mirrored():
    flips = 0
    for seed in range(20):
        out = random_affine(dot_sample(handedness="right"), np.random.default_rng(seed), rotation_deg=0,
                            scale_range=(1, 1), translate=0, p_flip=0.5)
        x_dot = out.hands[0].keypoints[DOT_JOINT, 0]
        mirrored = abs(x_dot - (W - 41.3)) < 1e-3
        assert mirrored != (abs(x_dot - 41.3) < 1e-3)
        assert out.hands[0].handedness == ("left" if mirrored else "right")
        flips += mirrored
    assert 0 < flips < 20


def test_joints_leaving_the_image_become_invisible_and_empty_hands_drop():
    sample = dot_sample()
    kp = sample.hands[0].keypoints
    other = HandLabel(np.column_stack([np.full(21, 10.0), np.linspace(5, 70, 21)]), np.ones(21, bool))
    sample.hands.append(other)
    shift = -45.0  # everything moves 45 px left: x < 45 leaves the image
    out = transform_sample(sample, affine_matrix((W, H), shift=(shift, 0)), flip=False)
    assert len(out.hands) == 1  # the second hand (x = 10) left entirely
    hand = out.hands[0]
    expected = kp[:, 0] + shift >= 0
    assert np.array_equal(hand.visible, expected) and 0 < expected.sum() < 21
    assert np.all(hand.keypoints[~hand.visible] == 0)
    assert np.allclose(hand.keypoints[hand.visible], kp[expected] + [shift, 0], atol=1e-4)
    assert hand.box[0] == 0  # the hand's extent is clipped at the border it crossed


def test_invisible_joints_stay_invisible():
    sample = dot_sample()
    sample.hands[0] = HandLabel(sample.hands[0].keypoints, np.arange(21) % 3 != 0, None, "left")
    out = random_affine(sample, np.random.default_rng(3), rotation_deg=10, scale_range=(0.9, 1.0), translate=0.0)
    hand = out.hands[0]
    assert not hand.visible[::3].any() and np.all(hand.keypoints[::3] == 0)


def real_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(base, (128, 128), interpolation=cv2.INTER_CUBIC)


OPS = [color_jitter, blur, noise, jpeg, cutout, overexpose, low_light]


@pytest.mark.parametrize("op", OPS, ids=[op.__name__ for op in OPS])
def test_photometric_op_keeps_shape_dtype_and_changes_pixels(op):
    image = real_image()
    before = image.copy()
    out = op(image, np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)  # the input is not modified in place
    assert not np.array_equal(out, image)
    # (Speed is benchmarks/synthetic_throughput.py's to measure, not a test's to assert.)


def test_augment_keeps_labels_without_geometry_and_cutout_keeps_hidden_joints_labelled():
    sample = dot_sample()
    cfg = AugmentConfig(p_affine=0, p_color=1, p_blur=1, p_noise=1, p_jpeg=1, p_cutout=1, cutout_count=3)
    out = augment(sample, np.random.default_rng(5), cfg)
    assert out.image.shape == sample.image.shape and out.image.dtype == np.uint8
    assert not np.array_equal(out.image, sample.image)
    (a,), (b,) = sample.hands, out.hands
    assert np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.visible, b.visible)
    assert a.handedness == b.handedness and b.keypoints is not a.keypoints


def test_seeded_rng_repeats_and_other_seeds_differ():
    sample = dot_sample()
    cfg = AugmentConfig(p_color=1, p_blur=1, p_noise=1, p_jpeg=1, p_cutout=1)
    a = augment(sample, np.random.default_rng(11), cfg)
    b = augment(sample, np.random.default_rng(11), cfg)
    c = augment(sample, np.random.default_rng(12), cfg)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.hands[0].keypoints, b.hands[0].keypoints)
    assert not np.array_equal(a.image, c.image)
    image = real_image()
    assert np.array_equal(photometric(image, np.random.default_rng(4), cfg),
                          photometric(image, np.random.default_rng(4), cfg))


def test_bad_image_is_refused():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        photometric(np.zeros((8, 8), np.float32), np.random.default_rng(0))


def test_overexpose_is_the_gain_clipped_at_255():
    image = real_image()
    out = overexpose(image, np.random.default_rng(0), gain=(2.0, 2.0))
    np.testing.assert_array_equal(out, np.clip(image.astype(np.float32) * 2, 0, 255).astype(np.uint8))


def test_low_light_quantises_in_the_dark_and_amplifies_its_noise():
    """Without shot and read noise, the dark frame is the light x gain rounded to 8 bits and amplified back, so
    a smooth ramp comes out in steps of 1 / gain; with them, a flat grey's noise has the shot-noise variance
    value / (gain x photons per level) (Poisson), amplified by the gain back."""
    ramp = np.repeat(np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 4, axis=0), 3, axis=2)
    clean = low_light(ramp, np.random.default_rng(0), gain=(0.1, 0.1), photons_per_level=(1e6, 1e6), read_noise=0)
    expected = np.clip(np.round(ramp.astype(np.float64) * 0.1) / 0.1, 0, 255).astype(np.uint8)
    clear = np.abs((ramp * 0.1) % 1 - 0.5) > 0.05        # away from a rounding boundary (x5 grey levels)
    assert np.abs(clean.astype(int) - expected)[clear].max() <= 1
    assert len(np.unique(clean)) == len(np.unique(expected)) <= 27
    grey = np.full((200, 200, 3), 100, np.uint8)
    noisy = low_light(grey, np.random.default_rng(1), gain=(0.25, 0.25), photons_per_level=(4.0, 4.0),
                      read_noise=1e-9).astype(np.float64)
    assert abs(noisy.mean() - 100) < 1.0
    assert abs(noisy.var() / (100 / (0.25 * 4.0)) - 1) < 0.1     # 100 grey levels: variance 100, std 10


def test_camera_light_ops_leave_the_random_stream_alone_when_off():
    """Recipes written before the camera-light ops must draw the same random numbers: with p_exposure and
    p_low_light 0 photometric() gives exactly what the op sequence without them gives."""
    image = real_image()
    cfg = AugmentConfig(p_color=1, p_blur=1, p_noise=1, p_jpeg=1, p_cutout=1)
    rng = np.random.default_rng(9)
    manual = image
    if rng.random() < 1:
        manual = color_jitter(manual, rng, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue_deg)
    if rng.random() < 1:
        manual = blur(manual, rng, cfg.blur_sigma, cfg.motion_length)
    if rng.random() < 1:
        manual = cutout(manual, rng, cfg.cutout_count, cfg.cutout_size)
    if rng.random() < 1:
        manual = noise(manual, rng, cfg.noise_sigma)
    if rng.random() < 1:
        manual = jpeg(manual, rng, cfg.jpeg_quality)
    assert np.array_equal(photometric(image, np.random.default_rng(9), cfg), manual)
    on = AugmentConfig(p_color=0, p_blur=0, p_noise=0, p_jpeg=0, p_cutout=0, p_exposure=1, exposure_gain=(3, 3))
    np.testing.assert_array_equal(photometric(image, np.random.default_rng(9), on),
                                  np.clip(image.astype(np.float32) * 3, 0, 255).astype(np.uint8))


def test_augment_config_refuses_bad_probabilities_and_ranges():
    with pytest.raises(ValueError, match="p_low_light"):
        AugmentConfig(p_low_light=1.5)
    with pytest.raises(ValueError, match="exposure_gain"):
        AugmentConfig(exposure_gain=(2.0, 1.0))
