"""Training targets, in NumPy (built inside data-loader workers).

Heatmap coordinates follow preprocess's convention scaled by the stride: heatmap cell (i, j) covers crop pixels
[i*stride, (i+1)*stride), so its centre is at heatmap coordinate (i + 0.5, j + 0.5) = crop (i + 0.5) * stride.
"""
from __future__ import annotations

import numpy as np


def gaussian_heatmaps(points: np.ndarray, trainable: np.ndarray, size: tuple[int, int],
                      sigma: float) -> np.ndarray:
    """Gaussian targets of peak 1 at each point.

    points: (K, 2) float, heatmap continuous coords; trainable: (K,) bool; size: (width, height) cells;
    sigma: in cells. Returns (K, height, width) float32; untrainable joints get an all-zero map (and no
    loss: the loss masks them).
    """
    w, h = size
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    dx = (xs[None, :] - points[:, 0:1].astype(np.float32)) ** 2  # (K, w)
    dy = (ys[None, :] - points[:, 1:2].astype(np.float32)) ** 2  # (K, h)
    inv = -0.5 / (sigma * sigma)
    maps = np.exp(dy[:, :, None] * inv) * np.exp(dx[:, None, :] * inv)
    maps[~np.asarray(trainable, bool)] = 0.0
    return maps.astype(np.float32)


CENTER_SIGMA = 0.15   # centre peak sigma as a fraction of the hand's longer side: every model shipped to session 34


def center_radius(box_w: float, box_h: float, stride: int, scale: float = CENTER_SIGMA) -> float:
    """Gaussian sigma (cells) of a hand's centre peak: ``scale`` x the hand's longer side, so big hands
    tolerate more centre error, but never below 0.8 cell (CenterNet-style, simplified). A smaller scale gives
    sharper peaks, which stay apart where hands overlap."""
    if not scale > 0:
        raise ValueError(f"center_radius: scale must be > 0, got {scale!r}")
    return max(0.8, scale * max(box_w, box_h) / stride)


def localizer_targets(boxes: np.ndarray, input_size: tuple[int, int], stride: int,
                      max_objects: int = 16, center_sigma: float = CENTER_SIGMA) -> dict[str, np.ndarray]:
    """CenterNet-style targets for the localizer.

    boxes: (M, 4) float, localizer INPUT pixels (x0, y0, x1, y1); center_sigma: see center_radius. Returns
    centers (1, h, w) float32 Gaussian peaks of 1 at each hand's centre cell; sizes (2, h, w) log(box w, h);
    offsets (2, h, w) sub-cell centre offset in 0..1; mask (1, h, w) 1 at the centre cells (where sizes and
    offsets are supervised).
    """
    iw, ih = input_size
    w, h = iw // stride, ih // stride
    centers = np.zeros((1, h, w), np.float32)
    sizes = np.zeros((2, h, w), np.float32)
    offsets = np.zeros((2, h, w), np.float32)
    mask = np.zeros((1, h, w), np.float32)
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    for x0, y0, x1, y1 in np.asarray(boxes, np.float32).reshape(-1, 4)[:max_objects]:
        bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
        ix, iy = int(np.floor(cx)), int(np.floor(cy))
        if not (0 <= ix < w and 0 <= iy < h):
            continue  # the centre left the input: no peak to learn
        s = center_radius(bw, bh, stride, center_sigma)
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * s * s))
        np.maximum(centers[0], g, out=centers[0])
        sizes[:, iy, ix] = np.log([bw, bh])
        offsets[:, iy, ix] = (cx - ix, cy - iy)
        mask[0, iy, ix] = 1.0
    return {"centers": centers, "sizes": sizes, "offsets": offsets, "mask": mask}
