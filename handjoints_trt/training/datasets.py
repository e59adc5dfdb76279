"""Training and validation sets of both stages, built from a *data recipe* (stored in every checkpoint).

A recipe is JSON: {"train": [sources], "val": [sources]}, each source {"kind": <loader format | "synthetic" |
"composed">, "weight": float, ...kind options}, and optionally "augment": {AugmentConfig field: value} to
change the training items' photometric augmentation (training.loop.augment_config). Every item is drawn from a seeded generator keyed by (seed, epoch, index), so a run is
deterministic whatever the number of workers or processes. Images pass through preprocess (the one
preprocessing path the runtime uses) and nothing else.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .. import preprocess
from ..skeleton import NUM_JOINTS
from .targets import CENTER_SIGMA, gaussian_heatmaps, localizer_targets


def recipe_hash(recipe: object) -> str:
    """Short stable hash of a recipe (or any JSON-able config): recorded in checkpoints and ONNX metadata."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------- hand sources
class RecordHands:
    """Hands of labelled images on disk: item i -> (image, [(points (21,2), trainable (21,), handedness)]),
    handedness 'left' / 'right' / None (unknown) as the loader gives it."""

    def __init__(self, records: Sequence) -> None:
        self.records = [r for r in records if r.hands]
        if not self.records:
            raise ValueError("RecordHands: the source holds no labelled hand")

    def __len__(self) -> int:
        return len(self.records)

    def item(self, index: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        sample = self.records[index].load()
        return sample.image, [(h.keypoints, h.visible, h.handedness) for h in sample.hands]


class SyntheticCrops:
    """Synthetic single-hand images with exact labels; self-occluded joints are trained too (their position
    is exact), joints outside the image are not."""

    def __init__(self, seed: int, crop_size: int, length: int = 1_000_000) -> None:
        from ..data.synthetic import SyntheticHands

        self.generator = SyntheticHands(seed=seed)
        self.crop_size = crop_size
        self.length = length

    def __len__(self) -> int:
        return self.length

    def item(self, index: int):
        sample, points = self.generator.crop_with_points(index, self.crop_size)
        h, w = sample.image.shape[:2]
        pts = points[0]
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        return sample.image, [(pts, inside, sample.hands[0].handedness)]


class NegativeCrops:
    """Hand-free images (data.backgrounds: textures, shapes, skin-coloured blobs) with a random box: stage I's
    false boxes, for which stage II must learn empty heatmaps (HandCrops trains every joint towards 0).
    item i -> (image, [(points, trainable)]) whose trainable points span the box."""

    negative = True

    def __init__(self, seed: int, length: int = 1_000_000) -> None:
        self.seed, self.length = seed, length

    def __len__(self) -> int:
        return self.length

    def item(self, index: int):
        from ..data.backgrounds import random_background

        rng = np.random.default_rng([self.seed, index])
        width, height = (int(v) for v in rng.integers(96, 321, 2))
        image = random_background(rng, width, height)
        side = rng.uniform(0.3, 0.8) * min(width, height)
        x0, y0 = rng.uniform(0, width - side), rng.uniform(0, height - side)
        aspect = rng.uniform(0.7, 1.4)
        return image, [box_points((x0, y0), (x0 + side, y0 + side * aspect))]


COMPOSED_TRIES = 50   # ComposedHands: frames drawn for one item before the config is called unworkable


class ComposedHands:
    """Hands in composed frames (data.compose: hagrid_mp hands cut out along their joints, pasted at any scale and
    angle on generated backgrounds, over one another, cut by the frame's edge), the frames stage I is trained and
    scored on (session 42): stage II had only read whole photos' hands, and the composed hands the learnt vote drops
    are those it reads unsure of (mean joint confidence 0.27 against 0.88; benchmarks/RESULTS.md section 43).
    item i -> (frame i, [(points (21, 2), visible (21,), handedness)]): a joint under another pasted hand or beyond
    the frame is not trained. config: ComposeConfig fields; frames always hold a hand (p_empty 0)."""

    def __init__(self, records: Sequence, seed: int, config: dict | None = None,
                 length: int = 1_000_000) -> None:
        from ..data.compose import ComposeConfig, ComposedFrames

        self.frames = ComposedFrames(records, ComposeConfig(**{**(config or {}), "p_empty": 0.0}), seed=seed)
        self.length = length

    def __len__(self) -> int:
        return self.length

    def item(self, index: int):
        for attempt in range(COMPOSED_TRIES):   # every placement of a frame can fail (rare): then the next frame
            sample = self.frames.frame(index + attempt * self.length)
            if sample.hands:
                return sample.image, [(h.keypoints, h.visible, h.handedness) for h in sample.hands]
        raise ValueError(f"ComposedHands: {COMPOSED_TRIES} composed frames in a row hold no hand; the ComposeConfig "
                         f"leaves no room to paste one: loosen frame_sizes, min_hand_px, max_iou or min_visible_joints")


def box_points(corner, opposite) -> tuple[np.ndarray, np.ndarray]:
    """A box as a hand-free item's (points, trainable): the first point at ``corner``, the other 20 at the opposite
    corner, all trainable (HandCrops crops the points' box and trains every map towards 0)."""
    points = np.repeat(np.array([corner, opposite], np.float64), [1, NUM_JOINTS - 1], axis=0)
    return points.astype(np.float32), np.ones(NUM_JOINTS, bool)


# A face crop's box: its side as a fraction of the head's height, and how far its centre strays from the head's
# (fractions of the side): stage I's boxes on real faces were 0.9-1.3 times the head, some on its lower half.
FACE_BOX_SIDE = (0.6, 1.4)
FACE_BOX_SHIFT = 0.25


class FaceCrops(NegativeCrops):
    """Drawn faces (data.faces) on hand-free backgrounds with a box on the face, as stage I boxes a face it takes
    for a hand (session 31): trained towards empty heatmaps, as NegativeCrops. skins: None (flat drawn tones), or a
    data.faces.palm_skins provider: faces in the skin of real hands' palms (session 38; the networks took such faces
    for hands about twice as often as flat ones, benchmarks/RESULTS.md section 33).
    item i -> (image, [(points, trainable)]) whose trainable points span the box."""

    def __init__(self, seed: int, length: int = 1_000_000, skins=None) -> None:
        super().__init__(seed, length)
        self.skins = skins

    def item(self, index: int):
        from ..data.backgrounds import random_background
        from ..data.faces import draw_face

        rng = np.random.default_rng([self.seed, index])
        width, height = (int(v) for v in rng.integers(128, 321, 2))
        image = random_background(rng, width, height)
        head = rng.uniform(0.35, 0.7) * min(width, height)
        centre = np.array([width, height]) / 2 + rng.normal(0, 0.05, 2) * min(width, height)
        angle = rng.uniform(-25, 25)
        # asked only when given, so that the flat-toned recipes' items stay exactly as they were
        draw_face(rng, image, tuple(centre), head, angle, None if self.skins is None else self.skins(rng))
        side = rng.uniform(*FACE_BOX_SIDE) * head
        aspect = rng.uniform(0.8, 1.25)
        middle = centre + rng.uniform(-FACE_BOX_SHIFT, FACE_BOX_SHIFT, 2) * side
        half = np.array([side, side * aspect]) / 2
        return image, [box_points(middle - half, middle + half)]


# A part's box side, as a fraction of the hand's size: a finger or the thumb, never most of the hand (a tight or
# cut-off box on a whole hand must still be read as a hand).
PART_SIDE = (0.2, 0.35)
# The widest crop of a part, in its box's sides: the crop's scale (CROP_SCALE) times CropJitter.scale's top, 1.25.
PART_CROP_REACH = 1.25


class PartCrops:
    """Boxes on a part of a real hand (session 30): a square of PART_SIDE times the hand's size around one of its
    joints (a fingertip, a knuckle, the thumb), as stage I boxes a finger or the thumb of a fist close to the camera
    as a hand of its own. Stage II reads a squeezed skeleton into such a crop, sure enough for the vote; trained
    towards empty heatmaps (HandCrops treats it as NegativeCrops), it learns to tell part of a hand from a whole one;
    session 30's fine-tunes also learnt to drop hands cut by the frame's edge (benchmarks/RESULTS.md section 25).
    item i -> (image, [(points, trainable)]) whose trainable points span the part's box."""

    negative = True

    def __init__(self, records: Sequence, seed: int, length: int | None = None) -> None:
        self.records = [r for r in records if r.hands]
        if not self.records:
            raise ValueError("PartCrops: the source holds no labelled hand")
        self.seed, self.length = seed, length or len(self.records)

    def __len__(self) -> int:
        return self.length

    def item(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        sample = self.records[index % len(self.records)].load()
        hand = sample.hands[int(rng.integers(len(sample.hands)))]
        from ..data.compose import hand_size

        points, visible = hand.keypoints, np.asarray(hand.visible, bool)
        size = hand_size(points, visible)
        side = rng.uniform(*PART_SIDE) * size
        # Only parts whose widest training crop lies inside the photo: a part at the photo's border, with grey or a
        # random background beyond it, looks like a whole hand cut by the frame's edge, which must stay a hand.
        height, width = sample.image.shape[:2]
        reach = side * preprocess.CROP_SCALE * PART_CROP_REACH / 2
        inside = (points[:, 0] >= reach) & (points[:, 0] <= width - reach) & \
                 (points[:, 1] >= reach) & (points[:, 1] <= height - reach)
        choices = np.flatnonzero(visible[1:] & inside[1:]) + 1             # any joint but the wrist
        if not len(choices):   # no room around any joint: the smallest part around the joint nearest the centre
            centre = np.array([width, height], np.float32) / 2
            choices = np.array([int(np.linalg.norm(points[1:] - centre, axis=1).argmin()) + 1])
            side = PART_SIDE[0] * size
        joint = int(rng.choice(choices))
        aspect = rng.uniform(0.8, 1.25)
        # The box spanned by a random corner (the first point) and its opposite (the rest): CropJitter.align stands
        # the crop "upright" along that diagonal, so aligned crops of parts come at every angle.
        half = np.array([side, side * aspect]) / 2 * rng.choice([-1.0, 1.0], 2)
        corners = np.array([points[joint] - half, points[joint] + half], np.float32)
        box_points = np.repeat(corners, [1, NUM_JOINTS - 1], axis=0)
        return sample.image, [(box_points, np.ones(NUM_JOINTS, bool))]


def hand_source(spec: dict, crop_size: int):
    """Build one hand source from its recipe entry."""
    kind = spec["kind"]
    if kind == "synthetic":
        return SyntheticCrops(int(spec.get("seed", 0)), crop_size, int(spec.get("length", 1_000_000)))
    if kind == "negatives":
        return NegativeCrops(int(spec.get("seed", 0)), int(spec.get("length", 1_000_000)))
    if kind == "faces":   # {"kind": "faces", "seed"[, "p_real_skin", "root", "split": palms of hagrid_mp]}
        skins = None
        if spec.get("p_real_skin"):
            from ..data.faces import palm_skins
            from ..data.loaders import load_hagrid_mp

            skins = palm_skins(load_hagrid_mp(spec["root"], split=spec.get("split", "train")), spec["p_real_skin"])
        return FaceCrops(int(spec.get("seed", 0)), int(spec.get("length", 1_000_000)), skins)
    from ..data.loaders import load_dataset

    if kind == "composed":   # {"kind": "composed", "root", "split", "seed"[, "config": ComposeConfig fields]}
        return ComposedHands(load_dataset("hagrid_mp", spec["root"], split=spec.get("split", "train")),
                             int(spec.get("seed", 0)), spec.get("config"))
    options = {k: v for k, v in spec.items() if k not in ("kind", "weight", "root", "limit")}
    if kind == "parts":   # {"kind": "parts", "dataset": <loader format>, "root", "split", "seed"}
        dataset, seed = options.pop("dataset"), int(options.pop("seed", 0))
        return PartCrops(load_dataset(dataset, spec["root"], **options), seed)
    records = load_dataset(kind, spec["root"], **options)
    if spec.get("limit"):
        records = records[: int(spec["limit"])]
    return RecordHands(records)


# --------------------------------------------------------------------------------------------- hand crops
@dataclass
class CropJitter:
    """How far training crops stray from the ground-truth box, as stage I's boxes will (fractions of the
    crop side, degrees)."""

    scale: tuple[float, float] = (0.8, 1.25)
    shift: float = 0.08
    rotation: float = 45.0
    p_any_rotation: float = 0.2   # hands can be upside down in a frame: sometimes any angle
    p_flip: float = 0.5
    p_background: float = 0.5     # fill outside a tight crop with a random background (else replicate)
    # Crops turned so that the labelled wrist -> middle knuckle points up (validation crops too), the rotation
    # jitter then around that: what a stage-I orientation output would give the hand network (session 20).
    align: bool = False
    # With align: an orientation ONNX model (the path, or "shipped" for the package's orientation.onnx) that stands
    # each crop upright by its reading of the jittered box's upright crop, as detect() does with DetectorOptions.
    # any_angle, instead of by the labels; the rotation jitter then adds to its error (session 24: the aligned
    # handedness head, trained on label-upright crops, agreed 0.970 with MediaPipe there but 0.925 on the crops the
    # direction network turns, its errors being partly tied to the hand's side).
    align_model: str | None = None
    # A hand cut by the frame's edge, as the runtime crops it (session 30): the photo cut at a line across the hand's
    # box keeping 35-75 % of it, the crop box the kept joints' box (stage I's box is clipped to the frame), the cut-off
    # side replicated as preprocess.crop_hands replicates a frame's border, the joints beyond it not trained.
    p_frame_edge: float = 0.0


class HandCrops:
    """The stage-II dataset: item -> dict of float32 arrays
    image (3, S, S) model input; heatmaps (K, S/stride, S/stride); keypoints (K, 2) heatmap coords;
    trainable (K,) 0/1 (the maps that carry loss); negative () 1 for a hand-free crop (NegativeCrops: all
    maps trained towards 0, no joint positions: the error weighting of eqs. 8 and 10 skips it);
    handedness () 1 a right hand, 0 a left hand, -1 unknown or no hand (as seen in the crop: a mirrored crop
    swaps it)."""

    def __init__(self, sources: Sequence[tuple[object, float]], crop_size: int, stride: int, sigma: float,
                 length: int, seed: int = 0, augment: bool = True, jitter: CropJitter | None = None,
                 photometric=None) -> None:
        self.sources = [s for s, _ in sources]
        weights = np.asarray([w for _, w in sources], np.float64)
        self.weights = weights / weights.sum()
        self.crop_size, self.stride, self.sigma = crop_size, stride, sigma
        self.length, self.seed, self.augment = length, seed, augment
        self.jitter = jitter or CropJitter()
        self.photometric = photometric
        self.epoch = 0
        self._orienter = None   # CropJitter.align_model's session, opened on first use (in each worker)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _pick(self, index: int, rng: np.random.Generator):
        """(source, its item) for ``index``."""
        if not self.augment:  # validation: walk the sources in order, no randomness
            offset = index
            for source in self.sources:
                if offset < len(source):
                    return source, source.item(offset)
                offset -= len(source)
            raise IndexError(index)
        source = self.sources[rng.choice(len(self.sources), p=self.weights)]
        return source, source.item(int(rng.integers(len(source))))

    def _affine(self, box: np.ndarray, rng: np.random.Generator, upright_deg: float = 0.0,
                image: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
        """(crop matrix, whether it mirrors the hand); ``upright_deg``: the turn that stands the hand upright
        (CropJitter.align), the jitter's rotation added to it. With ``image`` (CropJitter.align_model) the turn is
        the orientation network's reading of the jittered box's upright crop instead."""
        if not self.augment:
            if image is not None:
                upright_deg = self._network_angle(image, preprocess.crop_affine(box, self.crop_size))
            return preprocess.crop_affine(box, self.crop_size, rotation_deg=upright_deg), False
        j = self.jitter
        scale = preprocess.CROP_SCALE * float(np.exp(rng.uniform(*np.log(j.scale))))
        jitter = rng.uniform(-180, 180) if rng.random() < j.p_any_rotation else rng.normal(0, j.rotation / 2)
        shift = tuple(rng.uniform(-j.shift, j.shift, 2))
        flip = rng.random() < j.p_flip
        mirror = np.array([[-1, 0, self.crop_size], [0, 1, 0], [0, 0, 1]], np.float64)
        if image is not None:
            # As detect() on the mirror image when flipped: the network reads the (mirrored) upright crop, and a
            # clockwise turn in the mirror is an anticlockwise one in the photo (F R(a) = R(-a) F).
            upright = preprocess.crop_affine(box, self.crop_size, scale, 0.0, shift)
            seen = self._network_angle(image, (mirror @ np.vstack([upright, [0, 0, 1]]))[:2] if flip else upright)
            upright_deg = -seen if flip else seen
        m = preprocess.crop_affine(box, self.crop_size, scale, float(upright_deg + jitter), shift)
        if flip:  # mirror the crop: x -> S - x (joint order stays, handedness flips)
            m = (mirror @ np.vstack([m, [0, 0, 1]]))[:2]
        return m, bool(flip)

    def _network_angle(self, image: np.ndarray, m: np.ndarray) -> float:
        """Degrees clockwise from up that CropJitter.align_model reads the hand turned in the crop ``m`` of
        ``image`` (detector.HandJointDetector._directions' reading, on the crop detect() would give it)."""
        if self._orienter is None:
            from ..backends import load_backend
            from ..models_registry import default_model_path

            path = self.jitter.align_model
            self._orienter = load_backend(default_model_path("orientation", "fp32") if path == "shipped" else path,
                                          "onnxruntime", threads=1)
        from ..detector import crop_side, direction_degrees

        side = crop_side(self._orienter, self.crop_size)
        # the same crop at the network's own side (a uniform scale leaves the direction as it is)
        m = np.asarray(m, np.float64) * (side / self.crop_size)
        crop = preprocess.warp(image, m, (side, side), border=preprocess.CROP_BORDER)
        return float(direction_degrees(self._orienter.infer({"crops": preprocess.normalize(crop)})["direction"][0]))

    def __getstate__(self) -> dict:
        # an ONNX Runtime session does not pickle: each data-loader worker opens its own
        return {**self.__dict__, "_orienter": None}

    def _warp(self, image: np.ndarray, m: np.ndarray, rng: np.random.Generator, background: bool = True) -> np.ndarray:
        """The crop ``m`` of ``image``; beyond the image a random background (CropJitter.p_background, training only,
        and only with ``background``), else the image's edge replicated as the runtime crops a frame's border."""
        size = (self.crop_size, self.crop_size)
        if background and self.augment and rng.random() < self.jitter.p_background:
            from ..data.backgrounds import random_background

            canvas = random_background(rng, self.crop_size, self.crop_size)
            return cv2.warpAffine(image, preprocess.to_cv2_matrix(m), size, dst=canvas,
                                  flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
        return preprocess.warp(image, m, size, border=preprocess.CROP_BORDER)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        source, (image, hands) = self._pick(index, rng)
        hand = hands[int(rng.integers(len(hands)))] if self.augment else hands[0]
        points, trainable = hand[0], hand[1]
        negative = getattr(source, "negative", False)
        at_edge = self.augment and not negative and rng.random() < self.jitter.p_frame_edge
        if at_edge:
            image, points, trainable = cut_at_frame_edge(image, points, trainable, rng)
        box = preprocess_box(points, trainable)
        by_network = self.jitter.align and self.jitter.align_model and not negative
        m, flipped = self._affine(box, rng, upright_angle(points, trainable) if self.jitter.align else 0.0,
                                  image if by_network else None)
        crop = self._warp(image, m, rng, background=not at_edge)
        if self.augment and self.photometric is not None:
            crop = self.photometric(crop, rng)
        n = self.crop_size // self.stride
        if negative:   # no hand: every map is trained towards zero
            return {"image": preprocess.normalize(crop)[0],
                    "heatmaps": np.zeros((NUM_JOINTS, n, n), np.float32),
                    "keypoints": np.zeros((NUM_JOINTS, 2), np.float32),
                    "trainable": np.ones(NUM_JOINTS, np.float32),
                    "negative": np.float32(1.0),
                    "handedness": np.float32(-1.0)}
        crop_pts = preprocess.apply_affine(m, points)
        inside = (crop_pts >= 0).all(1) & (crop_pts < self.crop_size).all(1)
        ok = np.asarray(trainable, bool) & inside
        hm_pts = crop_pts / self.stride
        return {
            "image": preprocess.normalize(crop)[0],
            "heatmaps": gaussian_heatmaps(hm_pts, ok, (n, n), self.sigma),
            "keypoints": hm_pts.astype(np.float32),
            "trainable": ok.astype(np.float32),
            "negative": np.float32(0.0),
            "handedness": handedness_target(hand[2] if len(hand) > 2 else None, flipped),
        }


def cut_at_frame_edge(image: np.ndarray, points: np.ndarray, trainable: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CropJitter.p_frame_edge: ``image`` cut at a random side through the trainable joints' box, 35-75 % of the box
    kept, at least three joints with it; returns (the kept image, the points in its pixels, trainable less the joints
    cut off). Unchanged when no cut keeps three joints."""
    ok = np.asarray(trainable, bool)
    lo, hi = points[ok].min(0), points[ok].max(0)
    axis, keep_low = int(rng.integers(2)), bool(rng.integers(2))
    cut = lo[axis] + (hi[axis] - lo[axis]) * (rng.uniform(0.35, 0.75) if keep_low else rng.uniform(0.25, 0.65))
    cut = int(round(cut))
    kept = ok & ((points[:, axis] < cut) if keep_low else (points[:, axis] >= cut))
    if kept.sum() < 3 or not 0 < cut < image.shape[1 - axis]:
        return image, points, trainable
    if keep_low:
        image = image[:, :cut] if axis == 0 else image[:cut]
        return image, points, kept
    image = image[:, cut:] if axis == 0 else image[cut:]
    shifted = np.asarray(points, np.float32).copy()
    shifted[:, axis] -= cut
    return image, shifted, kept


def upright_angle(points: np.ndarray, trainable: np.ndarray) -> float:
    """Degrees the hand is turned clockwise from pointing up (wrist -> middle finger's knuckle, as
    detector.hand_angles), 0 when either joint is unlabelled: crop_affine turning it by this stands it upright."""
    from ..detector import hand_angles

    if not (trainable[0] and trainable[9]):
        return 0.0
    return float(hand_angles(np.asarray(points, np.float64)[None])[0])


def handedness_target(handedness: str | None, flipped: bool) -> np.float32:
    """1 a right hand, 0 a left hand, -1 unknown, as the crop shows it (a mirrored crop shows the other hand)."""
    if handedness not in ("left", "right"):
        return np.float32(-1.0)
    return np.float32((handedness == "right") != flipped)


def preprocess_box(points: np.ndarray, trainable: np.ndarray) -> np.ndarray:
    """The ground-truth hand box the crop is built on: tight box of the labelled joints."""
    pts = np.asarray(points, np.float32)[np.asarray(trainable, bool)]
    if len(pts) == 0:
        raise ValueError("a hand with no labelled joint cannot be cropped")
    return np.concatenate([pts.min(0), pts.max(0)])


# --------------------------------------------------------------------------------------------- localizer
class LocalizerFrames:
    """The stage-I dataset: whole frames letterboxed to the localizer input; item -> dict of float32 arrays
    image (3, H, W); centers (1, h, w); sizes (2, h, w); offsets (2, h, w); mask (1, h, w); plus boxes
    (max_objects, 4) input pixels padded with -1 (for validation). p_turn: in training, the probability that a
    frame is turned by a quarter turn (90, 180 or 270 degrees, equally likely; compose.turned_sample), hands,
    arms and faces with it: the photos and most pasted hands are upright, hands in front of cameras are not.
    center_sigma: the centre peaks' width (targets.center_radius)."""

    max_objects = 16

    def __init__(self, frames, input_size: tuple[int, int], stride: int, length: int, seed: int = 0,
                 augment: bool = True, photometric=None, runtime_scale: bool = False,
                 model_long_side: int | None = None, p_turn: float = 0.0,
                 center_sigma: float = CENTER_SIGMA) -> None:
        if not 0.0 <= p_turn <= 1.0:
            raise ValueError(f"LocalizerFrames: p_turn must be in [0, 1], got {p_turn!r}")
        self.frames, self.input_size, self.stride = frames, tuple(input_size), stride
        self.p_turn, self.center_sigma = float(p_turn), float(center_sigma)
        self.length, self.seed, self.augment = length, seed, augment
        self.photometric = photometric
        # runtime_scale: training items are input-sized windows of frames at the runtime's scale; validation
        # items are whole frames at that scale, top-left on an input-sized canvas (input_size = the largest
        # runtime input, e.g. 640x640), so val recall measures what detect() does. model_long_side: the
        # model's own long side (default: input_size's).
        self.runtime_scale = runtime_scale
        self.model_long_side = int(model_long_side or max(self.input_size))
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        frame_index = index + (self.epoch * self.length if self.augment else 0)
        sample = self.frames.frame(frame_index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        # Drawn only when turns are asked for, so that older recipes' items stay exactly as they were.
        if self.augment and self.p_turn > 0 and rng.random() < self.p_turn:
            from ..data.compose import turned_sample

            sample = turned_sample(sample, int(rng.integers(1, 4)))
        boxes = np.asarray([h.box for h in sample.hands], np.float32).reshape(-1, 4)
        if self.runtime_scale and self.augment:
            image, boxes = runtime_scale_window(sample.image, boxes, self.input_size, rng)
        elif self.runtime_scale:
            image, boxes = runtime_scale_canvas(sample.image, boxes, self.input_size, self.model_long_side)
        else:
            image, lb = preprocess.letterbox_image(sample.image, self.input_size)
            boxes = (boxes.reshape(-1, 2, 2) * [lb.scale_x, lb.scale_y] + [lb.pad_x, lb.pad_y]).reshape(-1, 4)
        if self.augment and self.photometric is not None:
            image = self.photometric(image, rng)
        out = localizer_targets(boxes, self.input_size, self.stride, self.max_objects, self.center_sigma)
        padded = np.full((self.max_objects, 4), -1, np.float32)
        padded[: len(boxes)] = boxes[: self.max_objects]
        out.update(image=preprocess.normalize(image)[0], boxes=padded)
        return out


MIN_KEPT_AREA = 0.4   # a hand cut by the training window keeps its (clipped) box if this much of it is inside


def runtime_scale_window(image: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int],
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A frame at the scale the runtime gives stage I (detector.auto_long_side: HD frames at long side 640),
    then a random ``input_size`` window of it, so that training sees hands at the sizes detect() feeds the
    localizer while batches keep one shape. boxes: (M, 4) frame pixels -> (K, 4) window pixels, clipped to it;
    a hand with less than MIN_KEPT_AREA of its box inside is dropped. Frames that fit are letterboxed as usual."""
    frame_size = (image.shape[1], image.shape[0])
    size = _runtime_input_size(frame_size, max(input_size))
    iw, ih = input_size
    if size[0] <= iw and size[1] <= ih:   # fits: the usual letterbox into the input
        return preprocess.letterbox_image(image, input_size)[0], _letterboxed(boxes, frame_size, input_size)
    scaled, _ = preprocess.letterbox_image(image, size)
    b = _letterboxed(boxes, frame_size, size)
    x0 = int(rng.integers(0, max(size[0] - iw, 0) + 1))
    y0 = int(rng.integers(0, max(size[1] - ih, 0) + 1))
    window = np.full((ih, iw, 3), preprocess.LETTERBOX_FILL, np.uint8)
    part = scaled[y0:y0 + ih, x0:x0 + iw]
    window[:part.shape[0], :part.shape[1]] = part
    b = b - [x0, y0, x0, y0]
    clipped = np.clip(b, 0, [part.shape[1], part.shape[0]] * 2)
    area = lambda r: np.maximum(r[:, 2] - r[:, 0], 0) * np.maximum(r[:, 3] - r[:, 1], 0)  # noqa: E731
    keep = area(clipped) >= MIN_KEPT_AREA * np.maximum(area(b), 1e-6)
    return window, clipped[keep].astype(np.float32).reshape(-1, 4)


def runtime_scale_canvas(image: np.ndarray, boxes: np.ndarray, canvas_size: tuple[int, int],
                         model_long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole frame letterboxed exactly as detect() gives it to stage I, top-left on a ``canvas_size`` grey
    canvas (one shape per batch); boxes (M, 4) frame pixels -> canvas pixels."""
    frame_size = (image.shape[1], image.shape[0])
    size = _runtime_input_size(frame_size, model_long_side)
    if size[0] > canvas_size[0] or size[1] > canvas_size[1]:
        raise ValueError(f"the runtime input {size} of a {frame_size} frame exceeds the canvas {canvas_size}")
    scaled, _ = preprocess.letterbox_image(image, size)
    canvas = np.full((canvas_size[1], canvas_size[0], 3), preprocess.LETTERBOX_FILL, np.uint8)
    canvas[:size[1], :size[0]] = scaled
    return canvas, _letterboxed(boxes, frame_size, size).astype(np.float32)


def _runtime_input_size(frame_size: tuple[int, int], model_long_side: int) -> tuple[int, int]:
    """The localizer input detect() uses for this frame (detector.localizer_input_size with auto_long_side)."""
    from ..detector import auto_long_side, localizer_input_size

    return localizer_input_size(frame_size, auto_long_side(frame_size, model_long_side))


def _letterboxed(boxes: np.ndarray, frame_size, input_size) -> np.ndarray:
    lb = preprocess.letterbox_transform(frame_size, input_size)
    return (boxes.reshape(-1, 2, 2) * [lb.scale_x, lb.scale_y] + [lb.pad_x, lb.pad_y]).reshape(-1, 4)


def load_recipe(path: str | Path) -> dict:
    """Read a JSON recipe file."""
    return json.loads(Path(path).read_text())


__all__ = ["HandCrops", "LocalizerFrames", "CropJitter", "RecordHands", "SyntheticCrops", "hand_source",
           "recipe_hash", "load_recipe", "NUM_JOINTS"]
