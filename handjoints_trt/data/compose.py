"""Composed multi-hand frames for the stage-I localizer, pasted from real single-hand crops.

Sources such as hagrid_mp hold tight crops of one hand each (median 73 px). The localizer needs whole
frames with several hands of any size, so :class:`ComposedFrames` cuts each hand out along a soft mask
(:func:`cutout`) and pastes 1..max_hands of them onto a random background at random scales, rotations,
positions and mirrorings, with a random colour shift.

Label conventions of a composed frame (on top of data/sample.py's):
- keypoints are the source joints mapped through the paste affine, in frame pixels (continuous
  coordinates). A joint is visible when it was labelled in the source, lands inside the frame
  (0 <= x < W, 0 <= y < H) and is not covered by a later paste (that paste's alpha <= 0.5 there).
  Invisible joints hold 0 (HandLabel's rule).
- box: the tight box around *all* pasted joints that were labelled in the source (including those
  outside the frame or covered by a later hand), clipped to the frame. It is the extent of the hand in
  the frame, not of its visible joints, so a hand cut by the frame edge keeps a box that reaches the edge.
- handedness: the source's label, swapped when the paste mirrored the hand.

Frames are returned at their own size (drawn from ComposeConfig.frame_sizes); the caller letterboxes.
Every frame is a pure function of (seed, index). Nothing big is cached: each paste re-reads its source
JPEG (Record.load()), which for a 3 KB crop takes well under a millisecond.

To regenerate docs/images/composed_examples.png (self-drawn hands only, never photos of people)::

    python -m handjoints_trt.data.compose docs/images/composed_examples.png
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..preprocess import apply_affine, letterbox_image, warp
from ..skeleton import BONES, FINGERS, NUM_JOINTS, joint_color, mirror_handedness
from .sample import HandLabel, Record, Sample, keypoint_box

MASK_SHAPES = ("hull", "bones")


@dataclass(frozen=True)
class ComposeConfig:
    """How composed frames are drawn. Sizes are pixels, angles degrees, probabilities per frame/hand.

    frame_sizes: (width, height) pairs; each frame takes one at random.
    max_hands: at most this many hands per frame (uniform 1..max_hands, fewer when placements fail).
    p_empty: fraction of hand-free frames (background only, ``hands == []``).
    p_synthetic: fraction of frames taken from the ``synthetic`` source (when one is given).
    p_photo: fraction of frames that are one whole source photo, scaled to fit inside the frame
        (photo_zoom times the fitting scale) at a random place, its edge pixels replicated to the frame's
        border (no hard rectangle), with every labelled hand of it: real context around the hand (arm,
        face, room) and hands filling a third to most of the frame, which cut-outs never show.
    photo_zoom: (low, high) range of that zoom (1 = the photo touches two sides of the frame).
    p_photo_turn: probability that such a whole photo is turned by a quarter turn (90, 180 or 270 degrees,
        equally likely; exact), arm and face with it: cut-outs alone never show a turned hand in its context.
    min_hand_px, max_hand_frac: the pasted hand's box (longer side, before clipping) is log-uniform in
        [min_hand_px, max_hand_frac * min(width, height)].
    p_upright, rotation_sigma_deg: with probability p_upright the rotation is N(0, sigma) (hands stay
        near their source orientation, mostly upright); otherwise uniform in [-180, 180).
    p_flip: probability of mirroring a hand left-right (handedness swapped).
    max_iou: a placement whose box IoU with an earlier box exceeds this is rejected.
    min_visible_joints: a placement must leave at least this many visible joints on the new hand *and*
        on every earlier hand (so no hand ends up hidden under another or outside the frame).
    placement_tries: placements tried per hand before it is skipped.
    min_source_joints: source hands with fewer labelled joints are never used.
    grow_frac, feather_frac: (low, high) ranges, as fractions of the source hand size (longer side of its
        keypoint box): how far the mask grows past the joints (finger width, palm edge, finger pads) and
        the sigma of its Gaussian feather.
    mask_shape: 'bones' (convex hull of the palm joints plus a thick line per bone: keeps little of the
        source's background between spread fingers) or 'hull' (convex hull of all joints).
    brightness_sigma, channel_sigma, bias_sigma: photometric shift of each pasted hand: gain
        exp(N(0, brightness_sigma)) * exp(N(0, channel_sigma)) per channel, plus N(0, bias_sigma) grey levels.
    p_blur, blur_sigma: probability and sigma range (pixels) of a Gaussian blur of the whole composed frame,
        which also softens the seams between pasted hands and background.
    p_faces: probability that a background (of a cut-out or hand-free frame) gets 1..max_faces drawn faces
        (data.faces) before the hands are pasted over it, their heads face_height_frac (log-uniform) of the
        frame's shorter side: faces are not hands (session 31: stage I took real faces for hands).
    p_real_skin: probability that a drawn face takes the skin of a real hand: the palm of a random source record
        (faces.skin_patch), its colour and texture; else a flat drawn tone (session 37).
    """

    frame_sizes: tuple[tuple[int, int], ...] = ((320, 320), (368, 368), (640, 480), (1280, 720),
                                                (720, 576), (960, 540))
    max_hands: int = 4
    p_empty: float = 0.1
    p_synthetic: float = 0.2
    p_photo: float = 0.0
    photo_zoom: tuple[float, float] = (0.35, 1.0)
    p_photo_turn: float = 0.0
    min_hand_px: float = 24.0
    max_hand_frac: float = 0.8
    p_upright: float = 0.75
    rotation_sigma_deg: float = 30.0
    p_flip: float = 0.5
    max_iou: float = 0.3
    min_visible_joints: int = 6
    placement_tries: int = 8
    min_source_joints: int = 21
    grow_frac: tuple[float, float] = (0.08, 0.14)
    feather_frac: tuple[float, float] = (0.02, 0.03)
    mask_shape: str = "bones"
    brightness_sigma: float = 0.2
    channel_sigma: float = 0.06
    bias_sigma: float = 8.0
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    p_faces: float = 0.0
    max_faces: int = 2
    face_height_frac: tuple[float, float] = (0.08, 0.6)
    p_real_skin: float = 0.0

    def __post_init__(self) -> None:
        if not self.frame_sizes or any(len(s) != 2 or int(s[0]) < 8 or int(s[1]) < 8 for s in self.frame_sizes):
            raise ValueError(f"ComposeConfig.frame_sizes must be a non-empty list of (width, height) >= 8 px, "
                             f"got {self.frame_sizes!r}")
        if self.max_hands < 1:
            raise ValueError(f"ComposeConfig.max_hands must be >= 1, got {self.max_hands} "
                             "(use p_empty for hand-free frames)")
        for name in ("p_empty", "p_synthetic", "p_photo", "p_photo_turn", "p_upright", "p_flip", "p_blur", "max_iou",
                     "p_faces", "p_real_skin"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"ComposeConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.p_empty + self.p_synthetic + self.p_photo > 1.0:
            raise ValueError(f"ComposeConfig.p_empty + p_synthetic + p_photo must be <= 1, got "
                             f"{self.p_empty} + {self.p_synthetic} + {self.p_photo}")
        if not 0.0 < self.photo_zoom[0] <= self.photo_zoom[1] <= 1.0:
            raise ValueError(f"ComposeConfig.photo_zoom must be (low, high) with 0 < low <= high <= 1, got "
                             f"{self.photo_zoom}")
        if not (self.min_hand_px > 0 and 0 < self.max_hand_frac <= 1.0):
            raise ValueError(f"ComposeConfig.min_hand_px must be > 0 and max_hand_frac in (0, 1], got "
                             f"{self.min_hand_px}, {self.max_hand_frac}")
        if not 1 <= self.min_visible_joints <= NUM_JOINTS or not 3 <= self.min_source_joints <= NUM_JOINTS:
            raise ValueError(f"ComposeConfig.min_visible_joints must be in 1..21 and min_source_joints in 3..21, "
                             f"got {self.min_visible_joints}, {self.min_source_joints}")
        if self.mask_shape not in MASK_SHAPES:
            raise ValueError(f"ComposeConfig.mask_shape must be one of {MASK_SHAPES}, got {self.mask_shape!r}")
        if self.placement_tries < 1:
            raise ValueError(f"ComposeConfig.placement_tries must be >= 1, got {self.placement_tries}")
        if self.max_faces < 1 or not 0.0 < self.face_height_frac[0] <= self.face_height_frac[1] <= 1.0:
            raise ValueError(f"ComposeConfig.max_faces must be >= 1 and face_height_frac (low, high) with "
                             f"0 < low <= high <= 1, got {self.max_faces}, {self.face_height_frac}")


# ----------------------------------------------------------------------------------------------------------
# Cut-out


def _check_image(image: np.ndarray, name: str = "image") -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"{name} must be an (H, W, 3) uint8 BGR array, got shape {shape} dtype {dtype} "
                         "(read it with cv2.imread, or convert with cv2.cvtColor / astype(np.uint8))")


def hand_size(keypoints: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Longer side (pixels) of the tight box around the (visible) keypoints."""
    box = keypoint_box(keypoints, visible)
    return float(max(box[2] - box[0], box[3] - box[1]))


def _draw_mask(shape: tuple[int, int], points: np.ndarray, grow: float, mask_shape: str) -> np.ndarray:
    """(H, W) uint8 0/255: the joints' hull (or palm + bones) grown by ``grow`` pixels, clipped to the image."""
    mask = np.zeros(shape, np.uint8)
    shift = 4  # cv2 draws at 1/16 px precision; cv2 pixel centres sit at integers, ours at +0.5
    fixed = np.round((points - 0.5) * (1 << shift)).astype(np.int32)
    thickness = max(1, int(round(2 * grow)))
    if mask_shape == "hull":
        hull = cv2.convexHull(fixed)
        cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_8, shift)
        # A thick outline grows the hull by `grow` px all around (round joins), cheaper than cv2.dilate.
        cv2.polylines(mask, [hull], True, 255, thickness, cv2.LINE_8, shift)
        return mask
    palm = cv2.convexHull(fixed[[0, 1, 2, 5, 9, 13, 17]])
    cv2.fillConvexPoly(mask, palm, 255, cv2.LINE_8, shift)
    cv2.polylines(mask, [palm], True, 255, thickness, cv2.LINE_8, shift)
    for parent, child in BONES:
        cv2.line(mask, tuple(fixed[parent]), tuple(fixed[child]), 255, thickness, cv2.LINE_8, shift)
    return mask


def cutout(image: np.ndarray, hand: HandLabel, rng: np.random.Generator,
           grow_frac: tuple[float, float] = (0.08, 0.14), feather_frac: tuple[float, float] = (0.02, 0.03),
           mask_shape: str = "bones") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut one hand out of ``image`` along a soft mask.

    image: (H, W, 3) uint8 BGR; hand: its label in image pixels (>= 3 labelled joints).
    The mask ('bones': the convex hull of the palm joints (wrist, thumb CMC/MCP, finger MCPs) plus one
    line per bone; 'hull': the convex hull of all labelled joints, also used for hands with unlabelled
    joints) is grown by U(grow_frac) * hand size (fingers have width, the palm and finger pads extend past the joints), clipped
    to the image (source crops often cut the wrist or fingers), then feathered by a Gaussian of sigma
    U(feather_frac) * hand size. The blur treats outside the image as 0, so edges where the image cut the
    hand fade out too: a pasted hand never shows a hard straight edge.
    Returns (patch (h, w, 3) uint8 BGR, alpha (h, w) float32 in [0, 1], keypoints (21, 2) float32 in patch
    pixels); the patch is the part of the image where alpha > 0. Invisible joints stay at 0.
    """
    _check_image(image)
    if hand.visible.sum() < 3:
        raise ValueError(f"cutout: hand.visible has {int(hand.visible.sum())} labelled joints; a mask needs >= 3")
    if mask_shape not in MASK_SHAPES:
        raise ValueError(f"cutout: mask_shape must be one of {MASK_SHAPES}, got {mask_shape!r}")
    points = hand.keypoints.copy()
    if mask_shape == "bones" and not hand.visible.all():
        mask_shape = "hull"  # bone lines need every joint; the hull of the labelled ones still works
    size = max(hand_size(points, hand.visible), 4.0)
    grow = rng.uniform(*grow_frac) * size
    sigma = max(rng.uniform(*feather_frac) * size, 0.5)
    mask = _draw_mask(image.shape[:2], points[hand.visible] if mask_shape == "hull" else points, grow, mask_shape)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) * (1.0 / 255.0), (0, 0), sigma,
                             borderType=cv2.BORDER_CONSTANT)
    ys, xs = np.nonzero(alpha > 1e-3)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    keypoints = np.where(hand.visible[:, None], points - np.array([x0, y0], np.float32), 0).astype(np.float32)
    return image[y0:y1, x0:x1].copy(), np.clip(alpha[y0:y1, x0:x1], 0.0, 1.0), keypoints


# ----------------------------------------------------------------------------------------------------------
# Pasting


@dataclass
class _Pasted:
    """A hand pasted into the frame (frame pixels)."""

    keypoints: np.ndarray   # (21, 2) float32, all labelled joints, even outside the frame
    labelled: np.ndarray    # (21,) bool, labelled in the source
    visible: np.ndarray     # (21,) bool, labelled, inside the frame, not covered
    box: np.ndarray         # (4,) float32 box of the labelled joints clipped to the frame
    handedness: str | None


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _rotation_deg(rng: np.random.Generator, cfg: ComposeConfig) -> float:
    """Mostly near the source's orientation (hands are usually upright), sometimes any angle."""
    if rng.random() < cfg.p_upright:
        return float(np.clip(rng.normal(0.0, cfg.rotation_sigma_deg), -180.0, 180.0))
    return float(rng.uniform(-180.0, 180.0))


def _paste_affine(rng: np.random.Generator, cfg: ComposeConfig, keypoints: np.ndarray, labelled: np.ndarray,
                  patch_width: int, frame_size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """(2, 3) affine patch -> frame pixels (flip, rotate, scale, place) and whether it mirrors.

    The scale makes the pasted joints' box (longer side) log-uniform in [min_hand_px, max_hand_frac * short
    side]; the box centre lands uniformly in the frame, so a hand may stick out of the frame by up to half.
    """
    width, height = frame_size
    flip = bool(rng.random() < cfg.p_flip)
    lin = np.eye(2)
    offset = np.zeros(2)
    if flip:  # continuous coordinates: x -> patch_width - x
        lin = np.array([[-1.0, 0.0], [0.0, 1.0]])
        offset = np.array([patch_width, 0.0])
    a = np.deg2rad(_rotation_deg(rng, cfg))
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    lin, offset = rot @ lin, rot @ offset
    turned = keypoints[labelled] @ lin.T + offset
    lo, hi = turned.min(axis=0), turned.max(axis=0)
    hi_px = max(cfg.max_hand_frac * min(width, height), cfg.min_hand_px)
    target = float(np.exp(rng.uniform(np.log(cfg.min_hand_px), np.log(hi_px))))
    scale = target / max(float((hi - lo).max()), 1.0)
    centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    m = np.empty((2, 3))
    m[:, :2] = scale * lin
    m[:, 2] = scale * (offset - (lo + hi) / 2) + centre
    return m, flip


def quarter_turn(shape: tuple[int, ...], quarters: int) -> np.ndarray:
    """(2, 3) affine turning an image of ``shape`` (H, W, ...) clockwise by ``quarters`` x 90 degrees onto its
    turned canvas, exactly (continuous coordinates: a 90-degree turn sends (x, y) to (H - y, x))."""
    h, w = shape[:2]
    return {0: np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
            1: np.array([[0.0, -1.0, h], [1.0, 0.0, 0.0]]),
            2: np.array([[-1.0, 0.0, w], [0.0, -1.0, h]]),
            3: np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w]])}[quarters % 4]


def turned_image(image: np.ndarray, quarters: int) -> np.ndarray:
    """``image`` turned clockwise by ``quarters`` x 90 degrees (exact: cv2.rotate; a copy at 0)."""
    if quarters % 4 == 0:
        return image.copy()
    turns = (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return cv2.rotate(image, turns[quarters % 4 - 1])


def turned_box(box, shape: tuple[int, ...], quarters: int) -> np.ndarray:
    """(4,) float32 box of an image of ``shape`` moved with turned_image(image, quarters)."""
    corners = apply_affine(quarter_turn(shape, quarters), np.asarray(box, np.float32).reshape(2, 2))
    return np.concatenate([corners.min(axis=0), corners.max(axis=0)]).astype(np.float32)


def turned_sample(sample: Sample, quarters: int) -> Sample:
    """``sample`` turned clockwise by ``quarters`` x 90 degrees, exactly, with its hands' joints and boxes moved
    with it (unlabelled joints stay 0; a turn keeps each hand's handedness)."""
    m = quarter_turn(sample.image.shape, quarters)
    hands = []
    for hand in sample.hands:
        keypoints = np.where(hand.visible[:, None], apply_affine(m, hand.keypoints), 0).astype(np.float32)
        hands.append(HandLabel(keypoints, hand.visible.copy(), turned_box(hand.box, sample.image.shape, quarters),
                               hand.handedness))
    return Sample(turned_image(sample.image, quarters), hands, f"{sample.source}:turned{90 * (quarters % 4)}")


def _photometric(rng: np.random.Generator, cfg: ComposeConfig, patch: np.ndarray) -> np.ndarray:
    """Random brightness, per-channel colour gain and offset of a hand patch (uint8 in, uint8 out)."""
    gain = np.exp(rng.normal(0.0, cfg.brightness_sigma) + rng.normal(0.0, cfg.channel_sigma, 3))
    bias = rng.normal(0.0, cfg.bias_sigma)
    out = patch.astype(np.float32) * gain.astype(np.float32) + np.float32(bias)
    return np.clip(out, 0, 255).astype(np.uint8)


def _inside(points: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    width, height = frame_size
    return (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)


def _warp_roi(patch: np.ndarray, alpha: np.ndarray, m: np.ndarray, frame_size: tuple[int, int]
              ) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Warp patch and alpha into the part of the frame they cover.

    Returns ((x0, y0, x1, y1) integer ROI, warped (h, w, 3) uint8, warped alpha (h, w) float32), or None
    when the patch misses the frame. Shrinking by more than 2x first resizes with INTER_AREA (no aliasing).
    """
    ph, pw = alpha.shape
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        size = (max(1, round(pw * scale)), max(1, round(ph * scale)))
        # cv2.resize maps continuous coordinates exactly by the size ratio on each axis.
        pre = np.diag([pw / size[0], ph / size[1]])
        m = np.concatenate([m[:, :2] @ pre, m[:, 2:]], axis=1)
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        ph, pw = alpha.shape
    corners = apply_affine(m, np.array([[0, 0], [pw, 0], [0, ph], [pw, ph]], np.float32))
    width, height = frame_size
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int), [width, height])
    if x1 <= x0 or y1 <= y0:
        return None
    local = m.copy()
    local[:, 2] -= (x0, y0)
    size = (int(x1 - x0), int(y1 - y0))
    return (int(x0), int(y0), int(x1), int(y1)), warp(patch, local, size), warp(alpha, local, size)


def _covered(pasted: _Pasted, roi: tuple[int, int, int, int], alpha: np.ndarray) -> np.ndarray:
    """(21,) bool: visible joints of an earlier hand where the new paste's alpha > 0.5."""
    x0, y0, x1, y1 = roi
    pts = pasted.keypoints
    ix, iy = np.floor(pts[:, 0]).astype(int) - x0, np.floor(pts[:, 1]).astype(int) - y0
    hit = pasted.visible & (ix >= 0) & (ix < x1 - x0) & (iy >= 0) & (iy < y1 - y0)
    covered = np.zeros(NUM_JOINTS, bool)
    covered[hit] = alpha[iy[hit], ix[hit]] > 0.5
    return covered


def _blend(frame: np.ndarray, roi: tuple[int, int, int, int], warped: np.ndarray, alpha: np.ndarray) -> None:
    """frame[roi] = alpha * warped + (1 - alpha) * frame[roi], in place."""
    x0, y0, x1, y1 = roi
    view = frame[y0:y1, x0:x1]
    a = alpha[..., None]
    base = view.astype(np.float32)
    base += a * (warped.astype(np.float32) - base)
    np.rint(base, out=base)
    view[...] = base.astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------
# Frames


def _local_background(rng: np.random.Generator, width: int, height: int,
                      images: Sequence[np.ndarray] | None) -> np.ndarray:
    """A random background from data.backgrounds, or a plain random gradient when that module is absent."""
    try:
        from .backgrounds import random_background
    except ImportError:  # data/backgrounds.py is optional for composing
        grid = rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)
        return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    return random_background(rng, width, height, images=images)


class ComposedFrames:
    """Frames with 0..max_hands real hands pasted on random backgrounds (see the module docstring).

    records: labelled images (e.g. load_hagrid_mp(...)); their hands with >= config.min_source_joints
        labelled joints are the paste sources. Images are read only when pasted.
    synthetic: optional object with ``.frame(index) -> Sample`` (e.g. SyntheticHands); a fraction
        config.p_synthetic of the frames is its ``frame(index)``, unchanged.
    backgrounds: optional (H, W, 3) uint8 BGR images handed to data.backgrounds.random_background.
    ``frame(index)`` (also ``self[index]``) is deterministic for (seed, index).
    """

    def __init__(self, records: Sequence[Record], config: ComposeConfig = ComposeConfig(), seed: int = 0,
                 synthetic=None, backgrounds: Sequence[np.ndarray] | None = None):
        if synthetic is not None and not callable(getattr(synthetic, "frame", None)):
            raise TypeError(f"ComposedFrames: synthetic must have a .frame(index) -> Sample method, got "
                            f"{type(synthetic).__name__}")
        self.records = records
        self.config = config
        self.seed = int(seed)
        self.synthetic = synthetic
        self.backgrounds = backgrounds
        # (record index, hand index) of every usable source hand: labels only, images stay on disk.
        self.sources = [(r, h) for r, record in enumerate(records) for h, hand in enumerate(record.hands)
                        if int(np.count_nonzero(hand.visible)) >= config.min_source_joints]
        if not self.sources:
            raise ValueError(f"ComposedFrames: records holds no hand with >= {config.min_source_joints} labelled "
                             f"joints ({len(records)} records); pass records with hands, or lower "
                             "ComposeConfig.min_source_joints")

    def __getitem__(self, index: int) -> Sample:
        return self.frame(index)

    def _real_skin(self, rng: np.random.Generator) -> np.ndarray | None:
        """A drawn face's skin (ComposeConfig.p_real_skin): the palm of a random source hand, or None (a flat tone)
        when the draw says so or that hand's palm joints are not all labelled."""
        from .faces import hand_skin

        if rng.random() >= self.config.p_real_skin:
            return None
        r, h = self.sources[int(rng.integers(len(self.sources)))]
        sample = self.records[r].load()
        return hand_skin(sample.image, sample.hands[h])

    def frame(self, index: int) -> Sample:
        """Sample (H, W, 3) uint8 BGR at a size from config.frame_sizes, with its pasted hands' labels."""
        if index < 0:
            raise IndexError(f"ComposedFrames.frame: index must be >= 0, got {index}")
        cfg = self.config
        rng = np.random.default_rng([self.seed, int(index)])
        kind = rng.random()
        if self.synthetic is not None and cfg.p_empty <= kind < cfg.p_empty + cfg.p_synthetic:
            return self.synthetic.frame(index)
        width, height = (int(v) for v in cfg.frame_sizes[int(rng.integers(len(cfg.frame_sizes)))])
        photo_from = cfg.p_empty + cfg.p_synthetic
        if photo_from <= kind < photo_from + cfg.p_photo:
            return self._photo_frame(rng, width, height, f"photo:seed={self.seed}:index={index}")
        image = _local_background(rng, width, height, self.backgrounds)
        # Drawn only when faces are asked for, so that older recipes' frames stay exactly as they were.
        if cfg.p_faces > 0 and rng.random() < cfg.p_faces:
            from .faces import add_faces

            add_faces(rng, image, int(rng.integers(1, cfg.max_faces + 1)), cfg.face_height_frac,
                      skins=self._real_skin if cfg.p_real_skin > 0 else None)
        source = f"composed:seed={self.seed}:index={index}"
        if kind < cfg.p_empty:
            return Sample(image, [], source)
        pasted: list[_Pasted] = []
        for _ in range(int(rng.integers(1, cfg.max_hands + 1))):
            self._paste_one(rng, image, pasted)
        if rng.random() < cfg.p_blur:
            image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
        hands = [HandLabel(p.keypoints, p.visible, p.box, p.handedness) for p in pasted]
        return Sample(image, hands, source)

    def _photo_frame(self, rng: np.random.Generator, width: int, height: int, source: str) -> Sample:
        """A whole source photo inside a (width, height) frame, mirrored half the time, with its hands."""
        cfg = self.config
        record = self.records[self.sources[int(rng.integers(len(self.sources)))][0]]
        sample = record.load()
        # Drawn only when turns are asked for, so that older recipes' frames stay exactly as they were.
        quarters = int(rng.integers(1, 4)) if cfg.p_photo_turn > 0 and rng.random() < cfg.p_photo_turn else 0
        turn = quarter_turn(sample.image.shape, quarters)
        ph, pw = sample.image.shape[:2] if quarters % 2 == 0 else sample.image.shape[1::-1]
        scale = min(width / pw, height / ph) * float(rng.uniform(*cfg.photo_zoom))
        flip = bool(rng.random() < cfg.p_flip)
        # Continuous coordinates: frame = scale * turned photo (mirrored: pw - x) + a random shift keeping it inside.
        shift = np.array([rng.uniform(0.0, width - scale * pw), rng.uniform(0.0, height - scale * ph)])
        place = np.array([[-scale if flip else scale, 0.0, (scale * pw if flip else 0.0) + shift[0]],
                          [0.0, scale, shift[1]], [0.0, 0.0, 1.0]])
        m = (place @ np.vstack([turn, [0.0, 0.0, 1.0]]))[:2]
        # Replicated edges, not a constant fill: a hard-edged rectangle around the hand must not be a cue.
        image = warp(_photometric(rng, cfg, sample.image), m, (width, height), border=cv2.BORDER_REPLICATE)
        if rng.random() < cfg.p_blur:
            image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(*cfg.blur_sigma)))
        hands = []
        for hand in sample.hands:
            mapped = apply_affine(m, hand.keypoints)
            visible = hand.visible & _inside(mapped, (width, height))
            if not visible.any():
                continue
            box = np.clip(keypoint_box(mapped, hand.visible), 0, [width, height, width, height]).astype(np.float32)
            handedness = mirror_handedness(hand.handedness) if flip else hand.handedness
            hands.append(HandLabel(np.where(visible[:, None], mapped, 0).astype(np.float32), visible, box,
                                   handedness))
        return Sample(image, hands, source)

    def _paste_one(self, rng: np.random.Generator, image: np.ndarray, pasted: list[_Pasted]) -> None:
        """Cut a random source hand and paste it at the first acceptable of a few random placements."""
        cfg = self.config
        r, h = self.sources[int(rng.integers(len(self.sources)))]
        sample = self.records[r].load()
        hand = sample.hands[h]
        patch, alpha, keypoints = cutout(sample.image, hand, rng, cfg.grow_frac, cfg.feather_frac, cfg.mask_shape)
        patch = _photometric(rng, cfg, patch)
        frame_size = (image.shape[1], image.shape[0])
        for _ in range(cfg.placement_tries):
            m, flip = _paste_affine(rng, cfg, keypoints, hand.visible, patch.shape[1], frame_size)
            placed = self._place(m, keypoints, hand, flip, frame_size, pasted)
            if placed is None:
                continue
            warped = _warp_roi(patch, alpha, m, frame_size)
            if warped is None:
                continue
            roi, colour, soft = warped
            covered = [_covered(p, roi, soft) for p in pasted]
            if any(np.count_nonzero(p.visible & ~c) < cfg.min_visible_joints for p, c in zip(pasted, covered)):
                continue  # would hide an earlier hand
            for p, c in zip(pasted, covered):
                p.visible &= ~c
            _blend(image, roi, colour, soft)
            pasted.append(placed)
            return

    def _place(self, m: np.ndarray, keypoints: np.ndarray, hand: HandLabel, flip: bool,
               frame_size: tuple[int, int], pasted: list[_Pasted]) -> _Pasted | None:
        """The label of a placement, or None when too few joints land in the frame or it overlaps a box."""
        width, height = frame_size
        mapped = apply_affine(m, keypoints)
        visible = hand.visible & _inside(mapped, frame_size)
        if np.count_nonzero(visible) < self.config.min_visible_joints:
            return None
        box = keypoint_box(mapped, hand.visible)
        box = np.clip(box, 0, [width, height, width, height]).astype(np.float32)
        if any(box_iou(box, p.box) > self.config.max_iou for p in pasted):
            return None
        handedness = mirror_handedness(hand.handedness) if flip else hand.handedness
        return _Pasted(mapped, hand.visible.copy(), visible, box, handedness)


# ----------------------------------------------------------------------------------------------------------
# Pictures: self-drawn hands (for docs and tests, never photos of people) and a preview grid


def draw_hand_crop(rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, HandLabel]:
    """A self-drawn hand on a textured backdrop, as a stand-in for a photo crop (docs, tests).

    Returns ((size * 1.25, size, 3) uint8 BGR image, HandLabel with all 21 joints at the drawn joint centres).
    Fingers point up with random spread and curl; the wrist sits near the bottom edge like in hagrid crops.
    """
    height = int(round(size * 1.25))
    backdrop = rng.integers(60, 230, (2, 2, 3), dtype=np.uint8)
    image = cv2.resize(backdrop, (size, height), interpolation=cv2.INTER_LINEAR)
    skin = tuple(float(c) for c in rng.uniform([60, 90, 130], [190, 210, 250]))
    keypoints = _hand_pose(rng, size, height)
    fixed = np.round((keypoints - 0.5) * 16).astype(np.int32)
    palm = cv2.convexHull(fixed[[0, 1, 2, 5, 9, 13, 17]])
    width_px = max(2, int(size * 0.11))
    cv2.fillConvexPoly(image, palm, skin, cv2.LINE_AA, 4)
    cv2.polylines(image, [palm], True, skin, width_px, cv2.LINE_AA, 4)
    shade = tuple(c * 0.8 for c in skin)
    for parent, child in BONES:
        cv2.line(image, tuple(fixed[parent]), tuple(fixed[child]), shade, width_px + 2, cv2.LINE_AA, 4)
        cv2.line(image, tuple(fixed[parent]), tuple(fixed[child]), skin, width_px, cv2.LINE_AA, 4)
    return image, HandLabel(keypoints, np.ones(NUM_JOINTS, bool), None, str(rng.choice(["left", "right"])))


def _hand_pose(rng: np.random.Generator, size: int, height: int) -> np.ndarray:
    """(21, 2) float32 joints of an upright hand (fingers up, thumb out left) inside a (size, height) crop."""
    kp = np.zeros((NUM_JOINTS, 2), np.float32)
    wrist = np.array([size * 0.5, height * 0.93])
    kp[0] = wrist
    spread = rng.uniform(0.3, 1.5)
    for i, joints in enumerate(FINGERS.values()):
        if i == 0:  # thumb: from the side of the wrist, outwards
            base = wrist + height * np.array([-0.09, -0.08])
            angle, lengths = np.deg2rad(-45 - 20 * spread), np.array([0.10, 0.08, 0.07])
        else:
            base = wrist + height * np.array([-0.17 + 0.1 * i, -0.36 + 0.03 * abs(i - 2.2)])
            angle = np.deg2rad(spread * (-21 + 9 * i))
            lengths = np.array([0.12, 0.08, 0.06]) * (1.1, 1.15, 1.05, 0.85)[i - 1]
        # A curled finger points towards the camera: in the image its phalanges look shorter.
        curl = rng.uniform(0.2, 0.8) if rng.random() < 0.3 else 1.0
        direction = np.array([np.sin(angle), -np.cos(angle)])
        kp[joints[0]] = base
        for k in range(3):
            kp[joints[k + 1]] = kp[joints[k]] + lengths[k] * curl * height * direction
    return np.clip(kp, 1, [size - 1, height - 1]).astype(np.float32)


def draw_labels(image: np.ndarray, hands: Sequence[HandLabel], m: np.ndarray | None = None) -> np.ndarray:
    """Draw boxes, bones and visible joints (skeleton colours) on a copy of ``image``; ``m`` maps labels in."""
    out = image.copy()
    m = np.array([[1.0, 0, 0], [0, 1.0, 0]]) if m is None else m
    for hand in hands:
        box = apply_affine(m, hand.box.reshape(2, 2)).reshape(4)
        cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (255, 255, 255), 1)
        pts = apply_affine(m, hand.keypoints)
        for a, b in BONES:
            if hand.visible[a] and hand.visible[b]:
                cv2.line(out, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), joint_color(b), 1,
                         cv2.LINE_AA)
        for j in np.flatnonzero(hand.visible):
            cv2.circle(out, tuple(int(v) for v in pts[j]), 2, joint_color(j), -1, cv2.LINE_AA)
    return out


def preview_grid(samples: Sequence[Sample], tile: tuple[int, int] = (320, 240), columns: int = 3) -> np.ndarray:
    """Letterbox each sample into a (width, height) tile, draw its labels, and tile them row by row."""
    tiles = []
    for sample in samples:
        boxed, lb = letterbox_image(sample.image, tile)
        tiles.append(draw_labels(boxed, sample.hands, lb.matrix))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def _self_drawn_records(folder: str, count: int, seed: int = 0) -> list[Record]:
    """Write ``count`` self-drawn hand crops as JPEGs into ``folder`` and return their Records."""
    import os

    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        image, hand = draw_hand_crop(rng, int(rng.integers(64, 128)))
        path = os.path.join(folder, f"hand_{i:03d}.jpg")
        cv2.imwrite(path, image)
        records.append(Record(path, [hand], image.shape[1], image.shape[0]))
    return records


def main(argv: Sequence[str] | None = None) -> None:
    """Write a grid of composed frames made from self-drawn hands: ``python -m ...compose OUT.png``."""
    import sys
    import tempfile

    args = list(sys.argv[1:] if argv is None else argv)
    out = args[0] if args else "composed_examples.png"
    with tempfile.TemporaryDirectory() as folder:
        frames = ComposedFrames(_self_drawn_records(folder, 24), ComposeConfig(p_empty=0.0, p_synthetic=0.0),
                                seed=3)
        grid = preview_grid([frames.frame(i) for i in range(6)], tile=(240, 180))
    cv2.imwrite(out, grid, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")


if __name__ == "__main__":
    main()
