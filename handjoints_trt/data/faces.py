"""Procedural faces: drawn heads as distractors that are not hands (session 31).

Why: on real scenes with people (the COCO-WholeBody, OneHand10K and CMU fixture photos, the portraits bundled with
scikit-image and insightface) both networks took faces for hands: stage I scored faces 0.5-0.84 and stage II read a
hand into them. The training data holds no faces (hagrid_mp crops are tight around the hand, composed frames have
generated backgrounds), and no face photos may be trained on here, so faces are drawn: a skin-toned head with hair,
ears, eyes, brows, nose and mouth, sometimes a beard or glasses, turned a little to either side, with a neck and
shoulders. Everything is drawn with OpenCV primitives into a square tile, then rotated, scaled and blended into
the image through its silhouette's feathered mask.

draw_face(rng, image, centre, height) draws one face in place; add_faces(rng, image, count, ...) draws several at
random places and sizes and returns their boxes (x0, y0, x1, y1), frame pixels.

Real skin (session 37): drawn in one flat tone, a face was taken for a hand on 6 % of faces_eval's drawn faces but on
7 of 40 real ones. With the skin of a real hand photo laid over the drawing (skin_patch: the palm of a hagrid_mp crop;
face_tile(rng, skin=...)), session 36's networks took 10 % of the same drawn faces: real skin is part of what makes a
face look like a hand to them, so the localizer's faces can carry it (ComposeConfig.p_real_skin).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..skeleton import PALM_JOINTS
from .backgrounds import random_skin_color

TILE = 128   # the tile a face is drawn in, pixels; the head is about 0.55 of its height
HAIR_BGR = np.array([(20, 20, 25), (30, 40, 60), (40, 70, 110), (90, 140, 190), (150, 160, 170), (60, 60, 70)],
                    np.float32)


def _color(c) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.clip(c, 0, 255))


def _ellipse(img, centre, axes, color, angle=0.0, start=0, end=360, thickness=-1) -> None:
    cv2.ellipse(img, (int(centre[0]), int(centre[1])), (max(1, int(axes[0])), max(1, int(axes[1]))), float(angle),
                start, end, color, thickness, cv2.LINE_AA)


def _hair(rng, tile, mask, cx, top, rx, ry, color) -> None:
    """Hair behind and on the head: a cap, sometimes long at the sides."""
    if rng.random() < 0.4:   # long hair, behind the head and down the sides
        length = rng.uniform(1.0, 1.9) * ry
        pts = np.array([[cx - rx * 1.15, top + ry * 0.6], [cx + rx * 1.15, top + ry * 0.6],
                        [cx + rx * rng.uniform(1.0, 1.3), top + length + ry * 0.6],
                        [cx - rx * rng.uniform(1.0, 1.3), top + length + ry * 0.6]], np.int32)
        for target, value in ((tile, color), (mask, 255)):
            cv2.fillPoly(target, [pts], value, cv2.LINE_AA)
            _ellipse(target, (cx, top + ry * 0.7), (rx * 1.15, ry * 0.8), value)


def _cap(rng, tile, mask, cx, top, rx, ry, color) -> None:
    """The hair on top of the head (none for a bald head)."""
    if rng.random() < 0.1:
        return
    cover = rng.uniform(0.45, 0.75)
    for target, value in ((tile, color), (mask, 255)):
        _ellipse(target, (cx, top + ry * cover), (rx * 1.06, ry * cover + 2), value, 0, 180, 360)


def _eyes(rng, tile, cx, ey, rx, shift, skin) -> None:
    gap = rx * rng.uniform(0.38, 0.48)
    size = rx * rng.uniform(0.13, 0.2)
    iris = _color(rng.uniform(10, 120, 3))
    brow = _color(skin * rng.uniform(0.2, 0.5))
    closed = rng.random() < 0.15
    for side in (-1, 1):
        x = cx + shift + side * gap * (1 - 0.3 * side * shift / max(rx, 1))
        if closed:
            _ellipse(tile, (x, ey), (size, size * 0.3), _color(skin * 0.5), 0, 0, 180, 1)
        else:
            _ellipse(tile, (x, ey), (size, size * 0.55), (235, 235, 235))
            _ellipse(tile, (x + shift * 0.1, ey), (size * 0.45, size * 0.45), iris)
            _ellipse(tile, (x + shift * 0.1, ey), (size * 0.2, size * 0.2), (10, 10, 10))
        _ellipse(tile, (x, ey - size * 1.2), (size * 1.3, size * 0.5), brow, 0, 200, 340, max(1, int(size * 0.4)))


def _nose_mouth(rng, tile, cx, ey, rx, ry, shift, skin) -> None:
    dark = _color(skin * rng.uniform(0.55, 0.75))
    nose_y = ey + ry * rng.uniform(0.38, 0.48)
    x = cx + shift * 1.2
    cv2.line(tile, (int(x), int(ey + ry * 0.1)), (int(x + shift * 0.2), int(nose_y)), dark, 1, cv2.LINE_AA)
    for side in (-1, 1):
        _ellipse(tile, (x + side * rx * 0.14, nose_y), (rx * 0.07, rx * 0.04), dark)
    mouth_y = nose_y + ry * rng.uniform(0.25, 0.33)
    lips = _color(skin * np.array([0.6, 0.55, 0.95]) * rng.uniform(0.7, 1.0))
    width = rx * rng.uniform(0.3, 0.5)
    if rng.random() < 0.3:   # open: dark inside, maybe teeth
        _ellipse(tile, (x, mouth_y), (width, width * 0.45), lips)
        _ellipse(tile, (x, mouth_y), (width * 0.8, width * 0.3), (40, 30, 60))
        if rng.random() < 0.6:
            _ellipse(tile, (x, mouth_y - width * 0.12), (width * 0.7, width * 0.12), (225, 230, 235))
    else:
        _ellipse(tile, (x, mouth_y), (width, width * rng.uniform(0.15, 0.3)), lips)


def _extras(rng, tile, cx, ey, rx, ry, shift, hair) -> None:
    """A beard or moustache, glasses."""
    if rng.random() < 0.2:
        _ellipse(tile, (cx + shift, ey + ry * 0.95), (rx * 0.85, ry * 0.5), _color(hair), 0, 0, 180)
    elif rng.random() < 0.15:
        _ellipse(tile, (cx + shift * 1.2, ey + ry * 0.62), (rx * 0.35, ry * 0.08), _color(hair))
    if rng.random() < 0.2:
        frame = _color(rng.uniform(0, 90, 3))
        gap = rx * 0.43
        for side in (-1, 1):
            _ellipse(tile, (cx + shift + side * gap, ey), (rx * 0.3, rx * 0.22), frame, 0, 0, 360, 2)
        cv2.line(tile, (int(cx + shift - gap * 0.4), int(ey)), (int(cx + shift + gap * 0.4), int(ey)), frame, 2)


# The box of the palm's joints (skeleton.PALM_JOINTS), shrunk to this share around its centre, is skin with no finger
# edge in it on most hagrid_mp crops.
PALM_SHRINK = 0.7
MIN_SKIN_SIDE = 12   # px: a smaller palm gives no skin patch (a blur, not texture)


def skin_patch(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray | None:
    """A TILE x TILE float32 BGR patch of real skin: the palm of the hand whose 21 ``keypoints`` (frame pixels) lie in
    ``image`` (H, W, 3) uint8 BGR, resized; None when the palm is under MIN_SKIN_SIDE pixels."""
    palm = np.asarray(keypoints, np.float32)[list(PALM_JOINTS)]
    lo, hi = palm.min(axis=0), palm.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * PALM_SHRINK
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(centre - half), 0, [w, h]).astype(int)
    x1, y1 = np.clip(np.ceil(centre + half), 0, [w, h]).astype(int)
    if min(x1 - x0, y1 - y0) < MIN_SKIN_SIDE:
        return None
    return cv2.resize(image[y0:y1, x0:x1], (TILE, TILE), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def hand_skin(image: np.ndarray, hand) -> np.ndarray | None:
    """skin_patch of a labelled hand (a HandLabel in ``image``), or None when a palm joint is not labelled."""
    if not np.asarray(hand.visible)[list(PALM_JOINTS)].all():
        return None
    return skin_patch(image, hand.keypoints)


def palm_skins(records, p_real_skin: float = 1.0):
    """A skins(rng) provider (add_faces, FaceCrops): with probability ``p_real_skin`` the skin of a random labelled
    record's first hand (hand_skin; None where its palm is too small or not labelled), else None (a flat drawn tone).
    records: loaded hagrid_mp-style records (loaders.Record), those without a hand skipped."""
    labelled = [r for r in records if r.hands]
    if not labelled:
        raise ValueError("palm_skins: no record holds a labelled hand; pass hagrid_mp records")

    def skins(rng: np.random.Generator) -> np.ndarray | None:
        # p_real_skin 1 draws nothing for it: faces_eval's and fit_vote's sets stay as they were (session 37)
        if p_real_skin < 1.0 and rng.random() >= p_real_skin:
            return None
        sample = labelled[int(rng.integers(len(labelled)))].load()
        return hand_skin(sample.image, sample.hands[0])

    return skins


def face_tile(rng: np.random.Generator, skin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One face on a TILE x TILE tile: (image (T, T, 3) uint8 BGR, mask (T, T) float32 0..1, feathered); the head's
    top is at about 0.12 T and its chin at 0.67 T, centred left-right. skin: a skin_patch; the face then takes its
    mean colour, and the whole tile its texture (the patch over its mean, so the drawing's shading and features stay);
    None: a random flat skin tone (random_skin_color)."""
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    mask = np.zeros((TILE, TILE), np.uint8)
    if skin is None:
        tone = random_skin_color(rng)
    else:
        tone = np.asarray(skin, np.float32).reshape(-1, 3).mean(axis=0)
    tile, alpha = _drawn_face(rng, tile, mask, tone)
    if skin is not None:
        texture = np.asarray(skin, np.float32) / np.maximum(tone, 1.0)
        tile = np.clip(tile * texture, 0, 255).astype(np.uint8)
    return tile, alpha


def _drawn_face(rng: np.random.Generator, tile: np.ndarray, mask: np.ndarray,
                skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """face_tile's drawing in the flat skin tone ``skin`` (3,) BGR: (tile, feathered mask)."""
    hair = HAIR_BGR[int(rng.integers(len(HAIR_BGR)))] * rng.uniform(0.8, 1.2)
    cx, top = TILE / 2, TILE * 0.12
    ry = TILE * rng.uniform(0.26, 0.29)
    rx = ry * rng.uniform(0.68, 0.82)
    shift = rx * rng.uniform(-0.35, 0.35)   # the features move to the side the head turns to
    if rng.random() < 0.7:                   # shoulders in clothes, then the neck
        clothes = _color(rng.uniform(0, 255, 3))
        for target, value in ((tile, clothes), (mask, 255)):
            _ellipse(target, (cx, TILE * 1.02), (TILE * rng.uniform(0.42, 0.5), TILE * 0.2), value)
    neck = _color(skin * 0.82)
    for target, value in ((tile, neck), (mask, 255)):
        cv2.rectangle(target, (int(cx - rx * 0.5), int(top + ry)), (int(cx + rx * 0.5), int(TILE * 0.9)), value, -1)
    _hair(rng, tile, mask, cx, top, rx, ry, _color(hair))
    for side in (-1, 1):                     # ears, then the head over them
        for target, value in ((tile, _color(skin * 0.9)), (mask, 255)):
            _ellipse(target, (cx + side * rx * 0.98 - shift * 0.3, top + ry * 1.0), (rx * 0.14, ry * 0.2), value)
    for target, value in ((tile, _color(skin)), (mask, 255)):
        _ellipse(target, (cx + shift * 0.15, top + ry), (rx, ry), value)
    # Light from one side: a darker half-moon over the head.
    shade = np.zeros_like(mask)
    _ellipse(shade, (cx + shift * 0.15 + rng.choice([-1, 1]) * rx * 0.9, top + ry), (rx, ry * 1.1), 255)
    head = np.zeros_like(mask)
    _ellipse(head, (cx + shift * 0.15, top + ry), (rx, ry), 255)
    dim = cv2.GaussianBlur((shade & head).astype(np.float32) / 255, (0, 0), rx * 0.3) * rng.uniform(0.1, 0.35)
    tile = np.clip(tile * (1 - dim[..., None]), 0, 255).astype(np.uint8)
    _cap(rng, tile, mask, cx + shift * 0.15, top, rx, ry, _color(hair))
    ey = top + ry * rng.uniform(0.85, 0.95)
    _eyes(rng, tile, cx, ey, rx, shift, skin)
    _nose_mouth(rng, tile, cx, ey, rx, ry, shift, skin)
    _extras(rng, tile, cx, ey, rx, ry, shift, hair)
    noise = rng.normal(0, rng.uniform(2, 8), tile.shape).astype(np.float32)
    tile = np.clip(tile + noise, 0, 255).astype(np.uint8)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.0)
    return tile, alpha


def draw_face(rng: np.random.Generator, image: np.ndarray, centre: tuple[float, float], height: float,
              angle_deg: float = 0.0, skin: np.ndarray | None = None) -> np.ndarray:
    """Draw one face in ``image`` (H, W, 3) uint8 BGR, in place: the head (crown to chin) ``height`` pixels tall,
    centred at ``centre`` (x, y), turned ``angle_deg``, its skin ``skin`` (face_tile). Returns its box (4,) float32
    x0, y0, x1, y1, head only, clipped to the image."""
    tile, alpha = face_tile(rng, skin)
    scale = height / (TILE * 0.56)
    head_centre = np.array([TILE / 2, TILE * 0.4])
    m = cv2.getRotationMatrix2D((float(head_centre[0]), float(head_centre[1])), float(angle_deg), float(scale))
    m[:, 2] += np.asarray(centre, np.float64) - head_centre
    h, w = image.shape[:2]
    warped = cv2.warpAffine(tile, m, (w, h), flags=cv2.INTER_LINEAR)
    a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    image[:] = (image * (1 - a) + warped * a).astype(np.uint8)
    half = np.array([height * 0.4, height * 0.5])
    box = np.concatenate([np.asarray(centre) - half, np.asarray(centre) + half])
    return np.clip(box, 0, [w, h, w, h]).astype(np.float32)


def add_faces(rng: np.random.Generator, image: np.ndarray, count: int,
              height_frac: tuple[float, float] = (0.08, 0.6), max_angle_deg: float = 25.0,
              skins=None) -> list[np.ndarray]:
    """Draw ``count`` faces at random places in ``image`` (in place), each head log-uniform in ``height_frac`` of
    the image's shorter side, turned up to ``max_angle_deg`` either way. skins: None (flat tones), or a callable
    ``skins(rng) -> skin_patch or None`` asked once per face. Returns their boxes."""
    h, w = image.shape[:2]
    low, high = (np.log(f * min(w, h)) for f in height_frac)
    boxes = []
    for _ in range(count):
        height = float(np.exp(rng.uniform(low, high)))
        centre = (rng.uniform(0, w), rng.uniform(0, h))
        angle = rng.uniform(-max_angle_deg, max_angle_deg)
        boxes.append(draw_face(rng, image, centre, height, angle, None if skins is None else skins(rng)))
    return boxes
