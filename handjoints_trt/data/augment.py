"""Training augmentation: geometry that moves the keypoints with the pixels, and photometric ops.

Geometry goes through preprocess.warp / apply_affine, so the pixel convention is the project's one
(continuous coordinates, (0, 0) = top-left corner of the top-left pixel). A horizontal flip keeps the joint
order and swaps the handedness (skeleton.mirror_handedness). A joint that leaves the image becomes
invisible (visible = False, held at (0, 0)); a hand with no visible joint left is dropped.

Photometric ops take and return (H, W, 3) uint8 BGR images: ``op(image, rng, ...) -> image``, each well
under 1 ms on 128 x 128. They never touch the labels. In particular :func:`cutout` leaves the joints under
its rectangles labelled: a hidden joint still has a true position and the network should learn to infer it
from the rest of the hand, as it must for occluded joints at run time.

All randomness comes from the ``numpy.random.Generator`` passed in, so a seeded generator repeats a result.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..preprocess import apply_affine, warp
from ..skeleton import mirror_handedness
from .sample import HandLabel, Sample, keypoint_box


@dataclass
class AugmentConfig:
    """Probabilities and ranges of every augmentation (the defaults suit hand crops and frames alike).

    Geometry: rotation_deg (uniform +-), scale_range (zoom factors), translate (fraction of the image
    side, uniform +-), p_flip (horizontal flip). p_affine = 0 turns geometry off.
    Photometric: each op runs with its probability p_*.
    """

    p_affine: float = 1.0
    rotation_deg: float = 30.0
    scale_range: tuple[float, float] = (0.75, 1.25)
    translate: float = 0.1
    p_flip: float = 0.5

    p_color: float = 0.8
    brightness: float = 0.25      # +- fraction of 255 added
    contrast: float = 0.3         # factor in 1 +- contrast, about the mean grey
    saturation: float = 0.3       # factor in 1 +- saturation
    hue_deg: float = 10.0         # +- hue shift in degrees
    p_blur: float = 0.2
    blur_sigma: float = 1.5       # gaussian sigma up to this, pixels
    motion_length: int = 7        # motion-blur kernel length up to this, pixels
    p_noise: float = 0.2
    noise_sigma: float = 8.0      # gaussian noise sigma up to this, grey levels
    p_jpeg: float = 0.2
    jpeg_quality: tuple[int, int] = (30, 90)
    p_cutout: float = 0.2
    cutout_count: int = 2         # 1..cutout_count rectangles
    cutout_size: tuple[float, float] = (0.1, 0.35)  # side as a fraction of the image's shorter side
    # Camera light (off by default, so recipes written before them draw the same random numbers): a hand
    # against a bright window, and a dark room amplified back by the camera's auto-gain (the recipes
    # "*-camera" turn them on; benchmarks/robustness.py measures what they buy).
    p_exposure: float = 0.0
    exposure_gain: tuple[float, float] = (1.2, 2.8)    # log-uniform light gain, clipped at 255
    p_low_light: float = 0.0
    low_light_gain: tuple[float, float] = (0.08, 0.5)  # log-uniform fraction of the light the sensor gets
    photons_per_level: tuple[float, float] = (2.0, 8.0)  # sensor: photo-electrons per grey level (shot noise)
    read_noise: float = 3.0       # grey levels of read noise up to this, before the gain back up

    def __post_init__(self) -> None:
        for name in ("p_affine", "p_flip", "p_color", "p_blur", "p_noise", "p_jpeg", "p_cutout", "p_exposure",
                     "p_low_light"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AugmentConfig.{name} is a probability in [0, 1], got {getattr(self, name)!r}")
        for name in ("exposure_gain", "low_light_gain", "photons_per_level"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"AugmentConfig.{name} must be a range 0 < low <= high, got {(lo, hi)!r}")


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """One value log-uniform in [low, high] (a zoom or a light gain: as likely halved as doubled)."""
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


# ------------------------------------------------------------------------------------------ geometry

def affine_matrix(size: tuple[int, int], rotation_deg: float = 0.0, scale: float = 1.0,
                  shift: tuple[float, float] = (0.0, 0.0), flip: bool = False) -> np.ndarray:
    """(2, 3) float64 continuous-coordinate affine of a (width, height) image onto itself.

    Mirrors (x -> width - x) when ``flip``, then rotates counter-clockwise by ``rotation_deg`` and scales
    about the image centre, then shifts by ``shift`` pixels.
    """
    w, h = size
    cx, cy = w / 2.0, h / 2.0
    a = np.deg2rad(rotation_deg)
    cos, sin = np.cos(a) * scale, np.sin(a) * scale
    f = -1.0 if flip else 1.0  # mirroring about the centre is x - cx -> -(x - cx)
    linear = np.array([[cos * f, sin], [-sin * f, cos]])
    offset = np.array([cx + shift[0], cy + shift[1]]) - linear @ np.array([cx, cy])
    return np.column_stack([linear, offset])


def transform_sample(sample: Sample, m: np.ndarray, flip: bool,
                     size: tuple[int, int] | None = None) -> Sample:
    """Warp the image by the continuous affine ``m`` into a (width, height) ``size`` (default: same size).

    ``flip`` says whether ``m`` mirrors (it swaps every hand's handedness). Joints landing outside the
    output image become invisible; hands left with no visible joint are dropped.
    """
    h, w = sample.image.shape[:2]
    size = size or (w, h)
    image = warp(sample.image, m, size, border=cv2.BORDER_CONSTANT)
    hands = [hand for hand in (_transform_hand(hd, m, flip, size) for hd in sample.hands) if hand is not None]
    return Sample(image, hands, sample.source)


def _transform_hand(hand: HandLabel, m: np.ndarray, flip: bool, size: tuple[int, int]) -> HandLabel | None:
    points = apply_affine(m, hand.keypoints)
    inside = (points[:, 0] >= 0) & (points[:, 0] < size[0]) & (points[:, 1] >= 0) & (points[:, 1] < size[1])
    visible = hand.visible & inside
    if not visible.any():
        return None
    # The hand's extent includes its joints that left the image, clipped to the image.
    box = keypoint_box(points, hand.visible)
    box = np.clip(box, 0, [size[0], size[1], size[0], size[1]])
    handedness = mirror_handedness(hand.handedness) if flip else hand.handedness
    return HandLabel(np.where(visible[:, None], points, 0), visible, box, handedness)


def random_affine(sample: Sample, rng: np.random.Generator, rotation_deg: float = 30.0,
                  scale_range: tuple[float, float] = (0.75, 1.25), translate: float = 0.1,
                  p_flip: float = 0.5, size: tuple[int, int] | None = None) -> Sample:
    """A new Sample: the image rotated (uniform +- rotation_deg), scaled, shifted (+- translate x side)
    and mirrored with probability p_flip, keypoints and visibility moved with it."""
    h, w = sample.image.shape[:2]
    out = size or (w, h)
    flip = bool(rng.random() < p_flip)
    angle = float(rng.uniform(-rotation_deg, rotation_deg))
    scale = _log_uniform(rng, scale_range)
    shift = rng.uniform(-translate, translate, 2) * np.array(out, float)
    m = affine_matrix((w, h), angle, scale, (float(shift[0]), float(shift[1])), flip)
    # Moving the centre of the input onto the centre of a differently sized output.
    m[:, 2] += (np.array(out, float) - np.array([w, h], float)) / 2
    return transform_sample(sample, m, flip, out)


# ------------------------------------------------------------------------------------------ photometric

def color_jitter(image: np.ndarray, rng: np.random.Generator, brightness: float = 0.25, contrast: float = 0.3,
                 saturation: float = 0.3, hue_deg: float = 10.0) -> np.ndarray:
    """Random brightness (+- fraction of 255), contrast and saturation (factors 1 +- x) and hue shift."""
    if saturation > 0 or hue_deg > 0:
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        # OpenCV's 8-bit hue runs 0..179 (2 degrees a step) and wraps.
        shift = int(round(rng.uniform(-hue_deg, hue_deg) / 2))
        hue_lut = ((np.arange(256) + shift) % 180).astype(np.uint8)
        sat_lut = np.clip(np.arange(256) * rng.uniform(1 - saturation, 1 + saturation), 0, 255).astype(np.uint8)
        hsv[..., 0] = cv2.LUT(hsv[..., 0], hue_lut)
        hsv[..., 1] = cv2.LUT(hsv[..., 1], sat_lut)
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    gain = rng.uniform(1 - contrast, 1 + contrast)
    # Contrast about the mean grey keeps the mean; brightness then moves it.
    bias = rng.uniform(-brightness, brightness) * 255 + (1 - gain) * float(image.mean())
    lut = np.clip(np.arange(256) * gain + bias, 0, 255).astype(np.uint8)
    return cv2.LUT(image, lut)


def blur(image: np.ndarray, rng: np.random.Generator, sigma: float = 1.5, motion_length: int = 7,
         p_motion: float = 0.5) -> np.ndarray:
    """Gaussian blur (sigma up to ``sigma`` px) or, with probability p_motion, a straight motion blur
    (kernel length 3..motion_length px, any direction)."""
    if rng.random() < p_motion and motion_length >= 3:
        length = int(rng.integers(3, motion_length + 1))
        angle = rng.uniform(0, np.pi)
        kernel = np.zeros((length, length), np.float32)
        c = (length - 1) / 2
        d = np.array([np.cos(angle), np.sin(angle)]) * c
        cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))), (int(round(c + d[0])), int(round(c + d[1]))),
                 1.0, 1)
        return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)
    s = rng.uniform(0.3, max(sigma, 0.3))
    return cv2.GaussianBlur(image, (0, 0), s)


def noise(image: np.ndarray, rng: np.random.Generator, sigma: float = 8.0) -> np.ndarray:
    """Additive gaussian noise, sigma uniform in (0, sigma] grey levels, per pixel and channel."""
    s = rng.uniform(0, sigma)
    n = rng.standard_normal(image.shape, dtype=np.float32)
    n *= s
    n += image
    return np.clip(n, 0, 255, out=n).astype(np.uint8)


def overexpose(image: np.ndarray, rng: np.random.Generator, gain: tuple[float, float] = (1.2, 2.8)) -> np.ndarray:
    """Too much light: every pixel times a gain log-uniform in ``gain``, clipped at 255 (bright skin goes
    white, as in front of a window or in sunlight)."""
    g = _log_uniform(rng, gain)
    out = image.astype(np.float32)
    out *= g
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def low_light(image: np.ndarray, rng: np.random.Generator, gain: tuple[float, float] = (0.08, 0.5),
              photons_per_level: tuple[float, float] = (2.0, 8.0), read_noise: float = 3.0) -> np.ndarray:
    """A dark scene as a camera records it: the sensor gets a fraction (log-uniform in ``gain``) of the light,
    with photon shot noise (Poisson, ``photons_per_level`` electrons per grey level) and read noise (sigma up
    to ``read_noise`` grey levels), is quantised to 8 bits, and the camera's auto-gain amplifies it back, noise,
    quantisation steps and all."""
    g = _log_uniform(rng, gain)
    k = float(rng.uniform(*photons_per_level))
    signal = image.astype(np.float32) * (g * k)
    dark = rng.poisson(signal).astype(np.float32) / k
    dark += rng.normal(0.0, rng.uniform(0.0, read_noise), image.shape).astype(np.float32)
    dark = np.clip(np.round(dark), 0, 255)
    return np.clip(dark / g, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (30, 90)) -> np.ndarray:
    """JPEG compression artefacts: encode and decode at a quality uniform in ``quality``."""
    q = int(rng.integers(quality[0], quality[1] + 1))
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        raise RuntimeError("cv2.imencode('.jpg') failed on a (H, W, 3) uint8 image")
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)


def cutout(image: np.ndarray, rng: np.random.Generator, count: int = 2,
           size: tuple[float, float] = (0.1, 0.35)) -> np.ndarray:
    """1..count random rectangles (sides a fraction ``size`` of the shorter image side) filled with a
    random flat colour. Labels stay as they are: joints under a rectangle remain labelled, on purpose."""
    out = image.copy()
    h, w = image.shape[:2]
    short = min(h, w)
    for _ in range(int(rng.integers(1, count + 1))):
        rw, rh = (max(1, int(rng.uniform(*size) * short)) for _ in range(2))
        x0, y0 = int(rng.integers(0, max(1, w - rw + 1))), int(rng.integers(0, max(1, h - rh + 1)))
        out[y0:y0 + rh, x0:x0 + rw] = rng.integers(0, 256, 3, dtype=np.uint8)
    return out


def photometric(image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig | None = None) -> np.ndarray:
    """The photometric ops of ``cfg``, each with its probability, on a (H, W, 3) uint8 BGR image.

    The crop-level training pipeline uses this alone (its geometry is folded into the crop affine).
    """
    cfg = cfg or AugmentConfig()
    _check_image(image)
    if rng.random() < cfg.p_color:
        image = color_jitter(image, rng, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue_deg)
    # The camera-light ops draw from rng only when on: recipes without them repeat their old random stream.
    if cfg.p_exposure > 0 and rng.random() < cfg.p_exposure:
        image = overexpose(image, rng, cfg.exposure_gain)
    if rng.random() < cfg.p_blur:
        image = blur(image, rng, cfg.blur_sigma, cfg.motion_length)
    if rng.random() < cfg.p_cutout:
        image = cutout(image, rng, cfg.cutout_count, cfg.cutout_size)
    if cfg.p_low_light > 0 and rng.random() < cfg.p_low_light:   # the sensor: after the scene and the optics
        image = low_light(image, rng, cfg.low_light_gain, cfg.photons_per_level, cfg.read_noise)
    if rng.random() < cfg.p_noise:
        image = noise(image, rng, cfg.noise_sigma)
    if rng.random() < cfg.p_jpeg:  # last: compression happens after capture noise
        image = jpeg(image, rng, cfg.jpeg_quality)
    return image


def augment(sample: Sample, rng: np.random.Generator, cfg: AugmentConfig | None = None) -> Sample:
    """Geometry (with probability cfg.p_affine) then the photometric ops: a new Sample."""
    cfg = cfg or AugmentConfig()
    _check_image(sample.image)
    if rng.random() < cfg.p_affine:
        sample = random_affine(sample, rng, cfg.rotation_deg, cfg.scale_range, cfg.translate, cfg.p_flip)
    else:
        sample = Sample(sample.image, [HandLabel(h.keypoints.copy(), h.visible.copy(), h.box.copy(), h.handedness)
                                       for h in sample.hands], sample.source)
    return Sample(photometric(sample.image, rng, cfg), sample.hands, sample.source)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"augmentation needs an (H, W, 3) uint8 BGR image, got "
                         f"{getattr(image, 'shape', None)} {getattr(image, 'dtype', type(image).__name__)}")
