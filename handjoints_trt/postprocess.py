"""Decoding the networks' outputs: joint heatmaps -> frame keypoints + confidence, centre maps -> boxes.

Runtime code: NumPy and OpenCV only (ARCHITECTURE.md, wall 1). Coordinates follow preprocess.py: continuous
pixel coordinates, (0, 0) is the top-left corner of the top-left pixel, so heatmap cell (row i, column j) has
its centre at (x, y) = (j + 0.5, i + 0.5).

Joints (stage II): :func:`decode_joints` = :func:`decode_heatmaps` (sub-pixel peaks, DARK) ->
:func:`heatmap_to_crop` -> :func:`crop_to_frame`, plus :func:`heatmap_spread` (METHOD.md eq. 12) ->
:func:`spread_to_confidence`.
Boxes (stage I): :func:`decode_boxes` = 3x3 peak picking on the centre map + box from the size map + :func:`nms`.
Both stages: :func:`hand_scores` / :func:`verify_hands`, which of stage I's hands stage II's joints confirm.
"""
from __future__ import annotations

import cv2
import numpy as np

from .preprocess import apply_affine, invert_affine

# Sub-pixel refinement (DARK, Zhang et al. 2020): a Gaussian of this sigma (heatmap cells) smooths the
# 3x3 neighbourhood of the arg-max before the Taylor fit, so that a ragged network output looks like the
# Gaussian the fit assumes. Smoothing a Gaussian by a Gaussian keeps its centre, so it costs nothing on
# clean maps; 0 disables it.
SMOOTH_SIGMA = 1.0
# The fit may move the estimate at most this far (cells, per axis) from the arg-max cell's centre: the true
# peak of a unimodal map lies within half a cell of it; the slack absorbs noise without letting a
# degenerate fit fly off.
MAX_REFINE_SHIFT = 1.0
# Values below this fraction of a map's peak are treated as this fraction before taking the log.
LOG_FLOOR = 1e-6

# Spread (METHOD.md eq. 12, [ours]): the cells that count are those above this fraction of the map's peak.
SPREAD_THRESHOLD = 0.05

# spread -> confidence: confidence = peak_term * spread_term with
#   peak_term   = clip(peak / PEAK_REFERENCE, 0, 1)
#   spread_term = 1 / (1 + exp((spread - SPREAD_MIDPOINT) / SPREAD_WIDTH))
# fitted by maximum likelihood to the shipped hand model so that a joint's confidence reads as the chance that
# it lies within PCK@0.2 (`python benchmarks/fit_confidence.py --limit 600`, hagrid_mp val, 12,600 joints, hand
# model of 2026-12-02 session 9, deep2: mean confidence vs observed rate per bin 0.35/0.53, 0.45/0.65, 0.55/0.69,
# 0.65/0.71, 0.75/0.79, 0.85/0.86, 0.99/0.99; 91 % of the joints land in the top bin). Refit whenever the hand
# model changes.
PEAK_REFERENCE = 0.40
SPREAD_MIDPOINT = 11.9
SPREAD_WIDTH = 1.5

# Stage I defaults (DetectorOptions mirrors the threshold and the IoU).
BOX_STRIDE = 4
BOX_THRESHOLD = 0.4
BOX_NMS_IOU = 0.4
MAX_BOXES = 20
# decode_boxes hands at most this many candidates per box it may return to NMS (best scores first).
MAX_CANDIDATES_PER_BOX = 5


# ----------------------------------------------------------------------------------------------- checks
def _as_heatmaps(heatmaps: np.ndarray, name: str = "heatmaps") -> np.ndarray:
    """Validate (N, K, h, w) with h, w >= 3 and return it as float32."""
    hm = np.asarray(heatmaps)
    if hm.ndim != 4 or hm.shape[2] < 3 or hm.shape[3] < 3:
        raise ValueError(f"{name} must be (N, K, h, w) with h, w >= 3 (one map per joint per hand; add a "
                         f"batch axis with [None] for a single hand), got shape {hm.shape}")
    return np.asarray(hm, np.float32)


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    """Validate (N, K, 2) points."""
    pts = np.asarray(points)
    if pts.ndim != 3 or pts.shape[2] != 2:
        raise ValueError(f"{name} must be (N, K, 2) (x, y) points, got shape {pts.shape}")
    return pts


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    """Validate (M, 4) x0, y0, x1, y1 boxes (an empty array of any 1-D shape is read as (0, 4))."""
    b = np.asarray(boxes, np.float64)
    if b.size == 0:
        return b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must be (M, 4) boxes (x0, y0, x1, y1), got shape {b.shape}")
    return b


# ------------------------------------------------------------------------------------- joint heatmaps
def _gaussian_kernel(sigma: float) -> np.ndarray:
    """1-D normalised Gaussian taps, radius ceil(2 sigma) (at least 1)."""
    radius = max(1, int(np.ceil(2 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def _gather_patches(maps: np.ndarray, cy: np.ndarray, cx: np.ndarray, radius: int) -> np.ndarray:
    """(M, h, w) maps -> (M, 2r+1, 2r+1) float64 patches centred on cells (cy, cx), edge-padded."""
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    offsets = np.arange(2 * radius + 1)
    rows = (cy[:, None] + offsets)[:, :, None]          # padded row of patch row t = cy - r + t + r
    cols = (cx[:, None] + offsets)[:, None, :]
    return padded[np.arange(len(maps))[:, None, None], rows, cols].astype(np.float64)


def _stencils(flat: np.ndarray, cy: np.ndarray, cx: np.ndarray, smooth_sigma: float) -> np.ndarray:
    """(M, 3, 3) values around the stencil centres: smoothed where the kernel fits inside the map, raw else.

    Smoothing near a border needs values outside the map; any padding (edge, reflect, zeros) shifts the
    peak by up to ~0.8 cell there, while the raw samples of a Gaussian give its centre exactly.
    """
    if smooth_sigma <= 0:
        return _gather_patches(flat, cy, cx, 1)
    kernel = _gaussian_kernel(smooth_sigma)
    r = len(kernel) // 2
    patches = _gather_patches(flat, cy, cx, r + 1)       # (M, 2r+3, 2r+3)
    rows = sum(kernel[t] * patches[:, t:t + 3, :] for t in range(2 * r + 1))
    smooth = sum(kernel[t] * rows[:, :, t:t + 3] for t in range(2 * r + 1))
    h, w = flat.shape[1:]
    inside = (cy - 1 - r >= 0) & (cy + 1 + r <= h - 1) & (cx - 1 - r >= 0) & (cx + 1 + r <= w - 1)
    raw = patches[:, r:r + 3, r:r + 3]
    return np.where(inside[:, None, None], smooth, raw)


def _taylor_offsets(stencil: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton step -H^-1 g of log(stencil) at its centre: (M,) x and y offsets in cells.

    A Gaussian's log is an exact quadratic, so one step lands on its centre even when the stencil is not
    centred on the arg-max (border cells). Where the Hessian is not negative definite (flat or odd maps),
    each axis falls back to its own 1-D step; NaN where there is no step (no curvature, peak <= 0).
    """
    floor = np.maximum(peak * LOG_FLOOR, np.finfo(np.float32).tiny)[:, None, None]
    L = np.log(np.maximum(stencil, floor))
    dx = (L[:, 1, 2] - L[:, 1, 0]) / 2
    dy = (L[:, 2, 1] - L[:, 0, 1]) / 2
    dxx = L[:, 1, 2] - 2 * L[:, 1, 1] + L[:, 1, 0]
    dyy = L[:, 2, 1] - 2 * L[:, 1, 1] + L[:, 0, 1]
    dxy = (L[:, 2, 2] - L[:, 2, 0] - L[:, 0, 2] + L[:, 0, 0]) / 4
    det = dxx * dyy - dxy * dxy
    full = (dxx < 0) & (det > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ox = np.where(full, -(dyy * dx - dxy * dy) / det, np.where(dxx < 0, -dx / dxx, np.nan))
        oy = np.where(full, -(dxx * dy - dxy * dx) / det, np.where(dyy < 0, -dy / dyy, np.nan))
    no_peak = ~(peak > 0)
    return np.where(no_peak, np.nan, ox), np.where(no_peak, np.nan, oy)


def _refine(cell: np.ndarray, stencil_centre: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Continuous coordinate along one axis: the fitted peak, kept near the arg-max cell; its centre when
    there is no fit (NaN offset)."""
    fitted = np.clip(stencil_centre + offset, cell - MAX_REFINE_SHIFT, cell + MAX_REFINE_SHIFT)
    return np.where(np.isfinite(offset), fitted, cell) + 0.5


def decode_heatmaps(heatmaps: np.ndarray, smooth_sigma: float = SMOOTH_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peak of every joint heatmap (arg-max + DARK Taylor refinement).

    heatmaps: (N, K, h, w) float (N hands, K joints), h, w >= 3.
    smooth_sigma: Gaussian smoothing (cells) of the arg-max neighbourhood before the fit; 0 = none.
    Returns coords (N, K, 2) float32 (x, y) in heatmap continuous coordinates (cell (row i, col j) has its
    centre at (j + 0.5, i + 0.5)) and peaks (N, K) float32, each map's maximum value (raw, unsmoothed).
    Maps whose maximum is <= 0 (flat, negative) give the arg-max cell's centre unrefined.
    """
    hm = _as_heatmaps(heatmaps)
    n, k, h, w = hm.shape
    flat = hm.reshape(n * k, h, w)
    index = flat.reshape(n * k, h * w).argmax(axis=1)
    iy, ix = np.divmod(index, w)
    peaks = flat.reshape(n * k, h * w)[np.arange(n * k), index].astype(np.float64)
    # A 3x3 stencil needs a neighbour on each side: at a border it slides one cell inwards.
    cy, cx = np.clip(iy, 1, h - 2), np.clip(ix, 1, w - 2)
    ox, oy = _taylor_offsets(_stencils(flat, cy, cx, smooth_sigma), peaks)
    x, y = _refine(ix, cx, ox), _refine(iy, cy, oy)
    coords = np.stack([x, y], axis=-1).reshape(n, k, 2).astype(np.float32)
    return coords, peaks.reshape(n, k).astype(np.float32)


def heatmap_spread(heatmaps: np.ndarray, coords: np.ndarray,
                   threshold: float = SPREAD_THRESHOLD) -> np.ndarray:
    """METHOD.md eq. 12: mean distance (heatmap cells) from each decoded joint to the cells of its map that
    are above ``threshold`` times the map's maximum.

    heatmaps: (N, K, h, w); coords: (N, K, 2) heatmap continuous coordinates (from :func:`decode_heatmaps`).
    Returns (N, K) float32; NaN where a map's maximum is <= 0 (no peak, spread undefined).
    """
    hm = _as_heatmaps(heatmaps)
    pts = _as_points(coords, "coords")
    if pts.shape[:2] != hm.shape[:2]:
        raise ValueError(f"coords must be (N, K, 2) = {hm.shape[:2] + (2,)} to match heatmaps, "
                         f"got shape {pts.shape}")
    n, k, h, w = hm.shape
    peak = hm.reshape(n, k, -1).max(axis=2)
    above = hm > threshold * peak[..., None, None]
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    dx = xs[None, None, None, :] - pts[..., 0, None, None].astype(np.float32)
    dy = ys[None, None, :, None] - pts[..., 1, None, None].astype(np.float32)
    dist = np.sqrt(dx * dx + dy * dy)                     # (N, K, h, w) by broadcasting
    count = above.sum(axis=(2, 3))
    total = np.where(above, dist, 0.0).sum(axis=(2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = total / count
    return np.where((peak > 0) & (count > 0), spread, np.nan).astype(np.float32)


def spread_to_confidence(spread: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Per-joint confidence in 0..1 from spread (cells) and peak value, both (N, K).

    confidence = clip(peak / PEAK_REFERENCE, 0, 1) / (1 + exp((spread - SPREAD_MIDPOINT) / SPREAD_WIDTH)):
    non-increasing in spread, non-decreasing in peak. NaN spread (no peak) gives 0.
    Returns (N, K) float32.
    """
    s = np.asarray(spread, np.float64)
    p = np.asarray(peaks, np.float64)
    if s.shape != p.shape:
        raise ValueError(f"spread and peaks must have the same (N, K) shape, got {s.shape} and {p.shape}")
    peak_term = np.clip(p / PEAK_REFERENCE, 0.0, 1.0)
    with np.errstate(over="ignore"):
        spread_term = 1.0 / (1.0 + np.exp((s - SPREAD_MIDPOINT) / SPREAD_WIDTH))
    conf = np.where(np.isfinite(s) & np.isfinite(p), peak_term * spread_term, 0.0)
    return conf.astype(np.float32)


def heatmap_to_crop(coords: np.ndarray, stride: float) -> np.ndarray:
    """Heatmap continuous coords -> crop pixels: cell j covers crop pixels [j * stride, (j + 1) * stride).

    coords: (..., 2); stride: crop pixels per heatmap cell (crop size / heatmap size). Returns float32.
    """
    if not stride > 0:
        raise ValueError(f"stride must be > 0 (crop pixels per heatmap cell), got {stride}")
    return (np.asarray(coords, np.float32) * np.float32(stride)).astype(np.float32)


def crop_to_frame(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map crop points back to the frame.

    points: (N, K, 2) crop pixels; affines: (N, 2, 3) frame -> crop (preprocess.crop_hands).
    Returns (N, K, 2) float32 frame pixels.
    """
    pts = _as_points(points, "points")
    m = np.asarray(affines, np.float64)
    if m.ndim != 3 or m.shape[1:] != (2, 3) or len(m) != len(pts):
        raise ValueError(f"affines must be (N, 2, 3) = ({len(pts)}, 2, 3) frame->crop matrices, one per "
                         f"hand of points, got shape {m.shape}")
    if len(pts) == 0:
        return np.zeros(pts.shape, np.float32)
    inverse = invert_affine(m)
    return np.stack([apply_affine(inv, p) for inv, p in zip(inverse, pts)]).astype(np.float32)


def decode_joints(heatmaps: np.ndarray, affines: np.ndarray,
                  stride: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage II outputs -> frame keypoints: the one function the runtime calls.

    heatmaps: (N, K, h, w) float; affines: (N, 2, 3) frame -> crop; stride: crop px per heatmap cell.
    Returns keypoints (N, K, 2) float32 frame pixels, confidence (N, K) float32 0..1, spread (N, K)
    float32 heatmap cells.
    """
    coords, peaks = decode_heatmaps(heatmaps)
    spread = heatmap_spread(heatmaps, coords)
    keypoints = crop_to_frame(heatmap_to_crop(coords, stride), affines)
    return keypoints, spread_to_confidence(spread, peaks), spread


# ------------------------------------------------------------------------------------- verification
def hand_scores(box_scores: np.ndarray, mean_confidences: np.ndarray, confidence_weight: float) -> np.ndarray:
    """Stage I's box score and stage II's mean joint confidence as one 0..1 score per hand:
    (box_score + w * mean_confidence) / (1 + w), w = confidence_weight >= 0 (0 = the box score alone).
    box_scores, mean_confidences: (N,) -> (N,) float64."""
    s = np.asarray(box_scores, np.float64).reshape(-1)
    c = np.asarray(mean_confidences, np.float64).reshape(-1)
    if s.shape != c.shape:
        raise ValueError(f"box_scores {s.shape} and mean_confidences {c.shape} must have one value per hand")
    if not confidence_weight >= 0:
        raise ValueError(f"confidence_weight must be >= 0, got {confidence_weight!r}")
    return (s + confidence_weight * c) / (1.0 + confidence_weight)


def verify_hands(box_scores: np.ndarray, mean_confidences: np.ndarray, hand_threshold: float,
                 confidence_weight: float, min_hand_confidence: float = 0.0) -> np.ndarray:
    """Indices (ascending) of the stage-I hands that detect() reports: hand_scores(...) >= hand_threshold and
    mean joint confidence >= min_hand_confidence. Stage II votes with stage I instead of vetoing alone: a
    box stage I is sure of survives the low joint confidences of a hand cut by the frame edge, and a doubtful
    box needs sure joints (benchmarks/fit_box_threshold.py fits the two constants)."""
    c = np.asarray(mean_confidences, np.float64).reshape(-1)
    keep = (hand_scores(box_scores, c, confidence_weight) >= hand_threshold) & (c >= min_hand_confidence)
    return np.flatnonzero(keep)


def joint_nms(keypoints: np.ndarray, confidence: np.ndarray, distance: float,
              rank: np.ndarray | None = None) -> np.ndarray:
    """Indices (ascending) of the hands left when each hand found twice is reported once: hands are taken surest
    first (mean joint confidence; highest ``rank`` (N,) first when given), and a hand whose 21 joints lie, at the
    median, within ``distance`` x a kept hand's size (the longer side of its joints' box) of that hand's joints is
    the same hand and is dropped (OKS NMS in multi-person pose estimation). Two stage-I boxes on one hand (the
    whole hand and its fingers, or the hand with and without its arm) can overlap too little for box NMS, yet
    stage II puts both skeletons on the same fingers; two different hands, even overlapping, have their joints
    apart. keypoints (N, 21, 2) frame pixels, confidence (N, 21) 0..1; distance 0 = off (all kept)."""
    k = np.asarray(keypoints, np.float64)
    c = np.asarray(confidence, np.float64)
    if k.ndim != 3 or k.shape[1:] != (21, 2) or c.shape != k.shape[:2]:
        raise ValueError(f"joint_nms needs keypoints (N, 21, 2) and confidence (N, 21), got {k.shape} and {c.shape}")
    if not 0.0 <= distance <= 1.0:
        raise ValueError(f"joint_nms distance must be a fraction of a hand's size in 0..1 (0 = off), got {distance!r}")
    if distance == 0 or len(k) < 2:
        return np.arange(len(k))
    sizes = np.maximum((k.max(axis=1) - k.min(axis=1)).max(axis=1), 1.0)
    kept: list[int] = []
    first = c.mean(axis=1) if rank is None else np.asarray(rank, np.float64).reshape(-1)
    if first.shape != (len(k),):
        raise ValueError(f"joint_nms rank must be (N,) = ({len(k)},), one per hand, got shape {np.shape(rank)}")
    for i in np.argsort(-first, kind="stable"):
        apart = [np.median(np.linalg.norm(k[i] - k[j], axis=1)) > distance * sizes[j] for j in kept]
        if all(apart):
            kept.append(int(i))
    return np.sort(np.asarray(kept, np.int64))


def refine_boxes(boxes: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, frame_size: tuple[int, int],
                 weight: float, ramp: tuple[float, float]) -> np.ndarray:
    """Stage I's boxes moved towards the box of stage II's joints: each box becomes (1 - t) x box + t x the tight
    box of its 21 joints (clipped to the frame), t = weight x clip((mean joint confidence - lo) / (hi - lo), 0, 1),
    ramp = (lo, hi). A hand whose joints stage II is sure of gets the joints' box at ``weight``; a doubtful one
    keeps stage I's box (its joints may sit on a neighbour hand or, cut by the frame edge, short of it).
    boxes (N, 4) x0, y0, x1, y1 and keypoints (N, 21, 2) frame pixels, confidence (N, 21) 0..1, frame_size
    (width, height) -> (N, 4) float32, clipped to the frame (the labels' boxes are: a tracked hand's box, its
    joints' box enlarged and moved ahead, can reach past the frame edge). weight 0: the boxes, clipped."""
    b = _as_boxes(boxes, "boxes").astype(np.float64)
    k = np.asarray(keypoints, np.float64)
    c = np.asarray(confidence, np.float64)
    if k.shape != (len(b), 21, 2) or c.shape != (len(b), 21):
        raise ValueError(f"refine_boxes needs keypoints ({len(b)}, 21, 2) and confidence ({len(b)}, 21) for "
                         f"{len(b)} boxes, got {k.shape} and {c.shape}")
    lo, hi = ramp
    if not 0.0 <= weight <= 1.0 or not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"refine_boxes needs weight in 0..1 and ramp (lo, hi) with 0 <= lo < hi <= 1, got "
                         f"weight {weight!r}, ramp {ramp!r}")
    width, height = frame_size
    inside = [width, height, width, height]
    if weight == 0 or len(b) == 0:
        return np.clip(b, 0, inside).astype(np.float32)
    joints = np.clip(np.concatenate([k.min(axis=1), k.max(axis=1)], axis=1), 0, inside)
    t = weight * np.clip((c.mean(axis=1) - lo) / (hi - lo), 0.0, 1.0)
    return np.clip((1 - t[:, None]) * b + t[:, None] * joints, 0, inside).astype(np.float32)


# ------------------------------------------------------------------------------------------------ boxes
def _intersections(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated a (N, 4), b (M, 4) -> pairwise intersection areas (N, M), areas of a (N,), areas of b (M,)."""
    a = _as_boxes(a, "a")
    b = _as_boxes(b, "b")
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    return inter, area_a, area_b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every pair: a (N, 4), b (M, 4) x0, y0, x1, y1 -> (N, M) float64 (0 for empty boxes)."""
    inter, area_a, area_b = _intersections(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def box_inside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How much of each b lies inside each a: a (N, 4), b (M, 4) -> (N, M) float64, intersection / area of b
    (0 for an empty b)."""
    inter, _, area_b = _intersections(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area_b[None, :] > 0, inter / area_b[None, :], 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = BOX_NMS_IOU,
        max_keep: int | None = None, nested: float | None = None) -> np.ndarray:
    """Greedy non-maximum suppression: keep the best box, drop those overlapping it by IoU > ``iou``, repeat.

    boxes: (M, 4); scores: (M,); max_keep: stop after this many (None = all). nested: also drop a box of
    which more than this fraction lies inside a better kept one (a knuckle or a finger found inside its own
    hand has a small IoU with it); None = IoU only. Returns kept indices (int64), best score first.
    """
    b = _as_boxes(boxes, "boxes")
    s = np.asarray(scores, np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"scores must be ({len(b)},), one per box, got shape {np.shape(scores)}")
    order = np.argsort(-s, kind="stable")
    overlaps = box_iou(b, b)
    if nested is not None:
        if not 0.0 <= float(nested) <= 1.0:
            raise ValueError(f"nested must be a fraction in 0..1 or None, got {nested!r}")
        # A box inside a better one counts as overlapping it; the better box itself is never dropped by it.
        inside = box_inside(b, b) > float(nested)
        np.fill_diagonal(inside, False)
        overlaps = np.where(inside, np.inf, overlaps)
    keep: list[int] = []
    suppressed = np.zeros(len(b), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        if max_keep is not None and len(keep) >= max_keep:
            break
        suppressed |= overlaps[i] > iou
    return np.asarray(keep, np.int64)


def _check_box_maps(centers: np.ndarray, sizes: np.ndarray, offsets: np.ndarray) -> tuple[int, int]:
    """Validate the localizer outputs; returns (h, w)."""
    c, s, o = (np.asarray(x) for x in (centers, sizes, offsets))
    if c.ndim != 4 or c.shape[:2] != (1, 1):
        raise ValueError(f"centers must be (1, 1, h, w) (one frame, one centre map), got shape {c.shape}")
    h, w = c.shape[2:]
    if s.shape != (1, 2, h, w):
        raise ValueError(f"sizes must be (1, 2, {h}, {w}) (log box width, log box height), got shape {s.shape}")
    if o.shape != (1, 2, h, w):
        raise ValueError(f"offsets must be (1, 2, {h}, {w}) (x, y offsets in cells), got shape {o.shape}")
    return h, w


def decode_boxes(centers: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, stride: float = BOX_STRIDE,
                 threshold: float = BOX_THRESHOLD, max_boxes: int = MAX_BOXES,
                 nms_iou: float = BOX_NMS_IOU, nms_nested: float | None = None,
                 min_size: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Localizer outputs -> hand boxes in localizer INPUT pixels (map them to the frame with Letterbox).

    centers: (1, 1, h, w) hand-centre score in 0..1; sizes: (1, 2, h, w) log(box width), log(box height)
    in input pixels; offsets: (1, 2, h, w) x, y position of the centre inside its cell, 0..1.
    A cell is a candidate when it is a 3x3 local maximum scoring >= ``threshold``; its centre is
    (cell + offset) * stride; a candidate whose box's long side is under ``min_size`` input pixels is
    dropped before NMS. Returns boxes (M, 4) float32 x0, y0, x1, y1 and scores (M,) float32, best first, after NMS at ``nms_iou`` (and ``nms_nested``, see :func:`nms`), M <= ``max_boxes``.
    """
    _check_box_maps(centers, sizes, offsets)
    heat = np.ascontiguousarray(np.asarray(centers, np.float32)[0, 0])
    # A cell equal to the max of its 3x3 neighbourhood is a peak (plateaus give several; NMS merges them).
    local_max = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    rows, cols = np.nonzero((heat >= local_max) & (heat >= threshold))
    log_size = np.asarray(sizes, np.float32)[0]
    if min_size > 0:   # before the candidate cap, so tiny boxes cannot crowd real hands out of it
        large = np.maximum(log_size[0, rows, cols], log_size[1, rows, cols]) >= np.log(min_size)
        rows, cols = rows[large], cols[large]
    scores = heat[rows, cols]
    # NMS is quadratic in the candidates: a noisy map must not make a frame slow, so only the best few go in.
    best = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES_PER_BOX * max_boxes]
    rows, cols, scores = rows[best], cols[best], scores[best]
    off = np.asarray(offsets, np.float32)[0]
    cx = (cols + off[0, rows, cols]) * stride
    cy = (rows + off[1, rows, cols]) * stride
    bw, bh = np.exp(log_size[0, rows, cols]), np.exp(log_size[1, rows, cols])
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).reshape(-1, 4)
    keep = nms(boxes, scores, nms_iou, max_keep=max_boxes, nested=nms_nested)
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32)
