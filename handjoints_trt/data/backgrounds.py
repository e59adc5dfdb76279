"""Random backgrounds for synthetic frames: procedural textures, or crops of real images.

Everything is drawn at low resolution and resized, or drawn with OpenCV primitives, so one 384 x 384
background costs about a millisecond on one core (the generator must never be the training bottleneck).
Images are H x W x 3 uint8 BGR, like every image in this package.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

# Skin tones, BGR, from very light to very dark (shared with the hand renderer, so that the localizer
# also sees skin-coloured things that are not hands).
SKIN_TONES_BGR = np.array([
    (196, 214, 247), (173, 196, 240), (150, 180, 230), (128, 165, 224), (112, 150, 205),
    (96, 134, 198), (82, 117, 176), (66, 96, 150), (52, 78, 122), (40, 58, 92), (30, 44, 70),
], np.float32)


def random_skin_color(rng: np.random.Generator) -> np.ndarray:
    """(3,) float32 BGR skin colour: a random blend of two neighbouring tones, slightly tinted."""
    i = rng.uniform(0, len(SKIN_TONES_BGR) - 1)
    lo = int(i)
    color = SKIN_TONES_BGR[lo] * (1 - (i - lo)) + SKIN_TONES_BGR[min(lo + 1, len(SKIN_TONES_BGR) - 1)] * (i - lo)
    tint = rng.normal(0, 6, 3).astype(np.float32)
    return np.clip(color + tint, 0, 255).astype(np.float32)


def _random_colors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """(*shape, 3) uint8 BGR colours of one random saturation: real scenes are mostly greyish, not neon."""
    colors = rng.integers(0, 256, (*shape, 3)).astype(np.float32)
    grey = colors.mean(axis=-1, keepdims=True)
    saturation = rng.uniform(0.15, 1.0)
    return (grey + (colors - grey) * saturation).astype(np.uint8)


def _random_color(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in _random_colors(rng, ()))


def _check_size(width: int, height: int) -> None:
    if int(width) < 1 or int(height) < 1:
        raise ValueError(f"background width and height must be >= 1 pixel, got width={width}, height={height}")


def _gradient(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth colour field: a 2x2 .. 4x4 grid of random colours, bilinearly upsampled."""
    n = int(rng.integers(2, 5))
    grid = _random_colors(rng, (n, n))
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def _noise_layers(rng: np.random.Generator, image: np.ndarray) -> None:
    """Add value noise at one to three scales (coarse clouds to fine grain), in place."""
    height, width = image.shape[:2]
    for _ in range(int(rng.integers(1, 4))):
        cell = float(rng.choice([64.0, 24.0, 8.0, 3.0]))
        shape = (max(1, int(height / cell)), max(1, int(width / cell)))
        amplitude = int(rng.integers(10, 45))
        # uint8 noise centred on 128; addWeighted adds it with saturation in one pass (no int16 copies).
        if rng.random() < 0.5:  # grey noise (texture) or coloured noise (clutter)
            small = np.repeat(rng.integers(128 - amplitude, 129 + amplitude, (*shape, 1), dtype=np.uint8), 3, 2)
        else:
            small = rng.integers(128 - amplitude, 129 + amplitude, (*shape, 3), dtype=np.uint8)
        interp = cv2.INTER_NEAREST if rng.random() < 0.2 else cv2.INTER_LINEAR
        noise = cv2.resize(small, (width, height), interpolation=interp)
        cv2.addWeighted(image, 1.0, noise, 1.0, -128.0, dst=image)


def _stripes(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Stripes or a checkerboard of two colours, at a random period and angle."""
    period = float(rng.uniform(4, max(6.0, min(width, height) / 3)))
    angle = rng.uniform(0, np.pi)
    a, b = _random_color(rng), _random_color(rng)
    # A 2x2 tile (checker) or 2x1 tile (stripes), repeated by BORDER_WRAP: output pixel (x, y) samples the
    # tile at the rotated coordinates divided by the period, so one warp paints the whole pattern.
    checker = rng.random() < 0.4
    tile = np.array([[a, b], [b, a]] if checker else [[a, b]], np.uint8)
    cos, sin = np.cos(angle) / period, np.sin(angle) / period
    m = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]], np.float64)
    return cv2.warpAffine(tile, m, (width, height), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_WRAP)


def _draw_shapes(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Filled circles, ellipses, rectangles, polygons and thick lines of random colours, in place."""
    height, width = image.shape[:2]
    size = max(width, height)
    for _ in range(count):
        color = _random_color(rng)
        kind = int(rng.integers(0, 5))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.uniform(0.02, 0.3) * size) + 1
        if kind == 0:
            cv2.circle(image, (cx, cy), r, color, -1, cv2.LINE_AA)
        elif kind == 1:
            axes = (r, int(r * rng.uniform(0.2, 1.0)) + 1)
            cv2.ellipse(image, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, color, -1, cv2.LINE_AA)
        elif kind == 2:
            cv2.rectangle(image, (cx - r, cy - r // 2), (cx + r, cy + r), color, -1)
        elif kind == 3:
            pts = (np.array([cx, cy]) + rng.normal(0, r, (int(rng.integers(3, 7)), 2))).astype(np.int32)
            cv2.fillPoly(image, [pts], color, cv2.LINE_AA)
        else:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(image, (cx, cy), end, color, int(rng.integers(1, max(2, size // 30))), cv2.LINE_AA)


def _skin_distractors(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Skin-coloured blobs and finger-like capsules (faces, arms, wood...): not hands, but look close."""
    height, width = image.shape[:2]
    size = max(width, height)
    for _ in range(count):
        color = tuple(float(c) for c in random_skin_color(rng))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.uniform(0.03, 0.25) * size) + 1
        if rng.random() < 0.5:
            axes = (r, int(r * rng.uniform(0.5, 1.0)) + 1)
            cv2.ellipse(image, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, color, -1, cv2.LINE_AA)
        else:
            angle = rng.uniform(0, 2 * np.pi)
            end = (int(cx + r * 2 * np.cos(angle)), int(cy + r * 2 * np.sin(angle)))
            cv2.line(image, (cx, cy), end, color, max(2, r // 3), cv2.LINE_AA)


def _real_crop(rng: np.random.Generator, source: np.ndarray, width: int, height: int) -> np.ndarray:
    """A random crop (random scale, aspect near the target's) of a real image, resized to (width, height)."""
    if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
        raise ValueError(f"background images must be (H, W, 3) uint8 BGR, got shape {source.shape} "
                         f"dtype {source.dtype}; convert with cv2.cvtColor / astype(np.uint8)")
    sh, sw = source.shape[:2]
    aspect = width / height * float(np.exp(rng.uniform(-0.15, 0.15)))
    frac = rng.uniform(0.3, 1.0)
    cw = max(1, min(sw, int(round(sw * frac))))
    ch = max(1, min(sh, int(round(cw / aspect))))
    cw = max(1, min(sw, int(round(ch * aspect))))
    x0, y0 = int(rng.integers(0, sw - cw + 1)), int(rng.integers(0, sh - ch + 1))
    crop = source[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if cw > 2 * width else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (width, height), interpolation=interp)


def random_background(rng: np.random.Generator, width: int, height: int,
                      images: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """A random (height, width, 3) uint8 BGR background.

    With ``images`` (a sequence of (H, W, 3) uint8 BGR real images), mostly a random crop of one of them
    (resized, maybe flipped), sometimes with extra skin-coloured distractors; otherwise a procedural texture:
    a gradient or stripes/checker base, noise at one to three scales, random shapes and skin-like blobs.
    Deterministic for the state of ``rng``.
    """
    _check_size(width, height)
    width, height = int(width), int(height)
    if images is not None and len(images) > 0 and rng.random() < 0.85:
        image = _real_crop(rng, images[int(rng.integers(0, len(images)))], width, height)
        _skin_distractors(rng, image, int(rng.integers(0, 2)))
        return image
    image = _stripes(rng, width, height) if rng.random() < 0.2 else _gradient(rng, width, height)
    _draw_shapes(rng, image, int(rng.integers(0, 12)))
    _skin_distractors(rng, image, int(rng.integers(0, 4)))
    if rng.random() < 0.8:
        _noise_layers(rng, image)
    return np.ascontiguousarray(image)
