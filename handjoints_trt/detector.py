"""HandJointDetector: the two-stage pipeline of ARCHITECTURE.md on any backend.

    frame -> letterbox -> localizer -> decode_boxes -> crop_hands (one batch) -> hand network
          -> decode_joints -> [Hand]

Frames are H x W x 3 uint8 BGR (OpenCV's order). Grayscale (H, W) / (H, W, 1) and BGRA (H, W, 4) uint8
frames are converted to BGR. Float frames are refused with the exact conversion to use, because 0..1 and
0..255 floats cannot be told apart safely (a dark 0..255 image looks like a 0..1 one). RGB frames cannot
be detected: convert them with cv2.cvtColor(frame, cv2.COLOR_RGB2BGR).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .backends.base import Backend, load_backend, resolve_kind
from .models_registry import WEIGHTS_DIR, default_model_path, orientation_precision
from .postprocess import (BOX_STRIDE, decode_boxes, decode_joints, hand_scores, joint_nms, refine_boxes,
                          verify_hands)
from .preprocess import Letterbox, crop_hands, letterbox
from .types import BOX_REFINE_RAMP, DetectorOptions, Hand
from .vote import VOTE_FILENAME, LearnedVote, load_vote

LOCALIZER_MULTIPLE = 32          # the localizer reaches stride 32: its input sides are multiples of 32
LOCALIZER_MIN_SIDE = 128         # the exported localizer's dynamic range is 128..1280 per side
RETRY_MIN_SIDE = LOCALIZER_MIN_SIDE   # DetectorOptions.retry_scale's second look is skipped below this
LOCALIZER_MAX_SIDE = 1280
DEFAULT_LOCALIZER_LONG_SIDE = 384
# The automatic localizer size (DetectorOptions.localizer_size=None): the model's own long side (384) for
# frames up to AUTO_FROM_FRAME_SIDE px, AUTO_HD_LONG_SIDE above. Why: at 384 a 1280x720 frame is seen at 0.3x, a
# 32 px hand becomes 10 input px and stage I misses most of them (composed val frames: recall 0.77 -> 0.92 at
# 1280x720, 0.77 -> 0.89 at 960x540, 0.81 -> 0.84 at 720x576; benchmarks/results/localizer_size.md);
# frames up to 640 px keep 384 and the 15 ms budget at 640x480 (640x480 at 512: recall +6 points, ~1.8x stage I).
AUTO_FROM_FRAME_SIDE = 640
AUTO_HD_LONG_SIDE = 640
# Small frames are enlarged at most this much for stage I. Why: a 112 px photo of one hand blown up to 384 holds a
# hand larger and blurrier than any the localizer learnt, and it fires on knuckles and rings or on nothing (real
# val photos through detect(), session-4 localizer: recall 0.78 -> 0.94; the session-6 one, trained at the
# runtime's scale, 0.943 -> 0.950, with stage I 7x faster on them: benchmarks/localizer_size.py --photos). The
# timed frame sizes (320 px and up) are untouched: 320 x 1.5 > 384.
AUTO_MAX_UPSCALE = 1.5
TIMING_KEYS = ("localizer", "crop", "orientation", "hands", "decode", "total")


# ------------------------------------------------------------------------------------------ the frame
def as_bgr_frame(frame) -> np.ndarray:
    """Validate a frame and return it as (H, W, 3) uint8 BGR, C-contiguous (a view when already so).

    Accepts (H, W, 3) BGR, (H, W) or (H, W, 1) grayscale and (H, W, 4) BGRA, all uint8. Raises TypeError
    for None, a path, a non-array or a non-uint8 array; ValueError for a wrong rank, channel count or an
    empty frame. Each message names the problem and the fix.
    """
    import cv2

    if frame is None:
        raise TypeError("frame is None: the image was not read (cv2.imread returns None for a missing or "
                        "unreadable file, VideoCapture.read at the end of a video); check the source")
    if isinstance(frame, (str, Path, bytes)):
        raise TypeError(f"frame is a path ({str(frame)!r}), not an image: read it first with "
                        f"frame = cv2.imread(path)")
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}; for a "
                        f"PIL image use cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)")
    if frame.ndim not in (2, 3):
        raise ValueError(f"frame must be (H, W, 3) uint8 BGR (or (H, W) grayscale), got shape {frame.shape}; "
                         f"for a batch call detect() once per frame")
    if frame.size == 0:
        raise ValueError(f"frame is empty (shape {frame.shape}); check the image source")
    if frame.dtype != np.uint8:
        raise TypeError(_dtype_fix(frame))
    channels = 1 if frame.ndim == 2 else frame.shape[2]
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(frame.reshape(frame.shape[:2])), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGRA2BGR)
    if channels != 3:
        raise ValueError(f"frame must have 1 (gray), 3 (BGR) or 4 (BGRA) channels, got shape {frame.shape}")
    return np.ascontiguousarray(frame)


def _dtype_fix(frame: np.ndarray) -> str:
    """The error message for a non-uint8 frame, with the conversion that fits its values."""
    kind = f"frame must be uint8 (0..255 BGR), got {frame.dtype}"
    if frame.dtype == np.bool_:
        return f"{kind}; for a mask use frame.astype(np.uint8) * 255"
    if np.issubdtype(frame.dtype, np.floating):
        high = float(np.nanmax(frame)) if frame.size else 0.0
        if high <= 1.0:
            return f"{kind} with values in 0..1; convert with (frame * 255).round().astype(np.uint8)"
        return f"{kind} with values up to {high:g}; convert with np.clip(frame, 0, 255).round().astype(np.uint8)"
    if frame.dtype == np.uint16:
        return f"{kind}; for a 16-bit image convert with (frame >> 8).astype(np.uint8)"
    return f"{kind}; convert with np.clip(frame, 0, 255).astype(np.uint8)"


def as_boxes(boxes, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Caller's boxes -> (N, 4) float64 x0, y0, x1, y1 frame pixels; ValueError for a malformed box."""
    try:
        b = np.asarray(boxes, np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"boxes must be (N, 4) numbers x0, y0, x1, y1 in frame pixels: {exc}") from exc
    if b.size == 0:
        return b.reshape(0, 4)
    if b.ndim == 1 and b.shape[0] == 4:
        raise ValueError("boxes must be (N, 4), one row per hand; for one box pass [box]")
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) x0, y0, x1, y1 in frame pixels, got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError("boxes contain NaN or inf; pass finite frame-pixel coordinates")
    bad = np.nonzero((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1]))[0]
    if len(bad):
        raise ValueError(f"box {int(bad[0])} {b[bad[0]].tolist()} has x1 <= x0 or y1 <= y0; boxes are "
                         f"(x0, y0, x1, y1) corners, not (x, y, w, h)")
    return b


# ------------------------------------------------------------------------------------------ the sizes
def _round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple - 1e-9)) * multiple


def auto_long_side(frame_size: tuple[int, int], model_long_side: int = DEFAULT_LOCALIZER_LONG_SIDE) -> int:
    """The localizer's long side for a (width, height) frame when none is set: ``model_long_side`` for frames
    whose long side is at most AUTO_FROM_FRAME_SIDE, else AUTO_HD_LONG_SIDE (never less than the model's):
    640x480 -> 384, 720x576 and 1280x720 -> 640. Small frames are enlarged at most AUTO_MAX_UPSCALE times
    (rounded up to a multiple of 32, at least LOCALIZER_MIN_SIDE): 150x112 -> 256, not 384."""
    long_side = max(frame_size)
    if long_side > AUTO_FROM_FRAME_SIDE:
        return int(max(model_long_side, AUTO_HD_LONG_SIDE))
    capped = _round_up(long_side * AUTO_MAX_UPSCALE, LOCALIZER_MULTIPLE)
    return int(min(model_long_side, max(LOCALIZER_MIN_SIDE, capped)))


def localizer_input_size(frame_size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(width, height) of the localizer input for a (width, height) frame: the long side is ``long_side``,
    the short side follows the frame's aspect ratio, rounded up to a multiple of 32 (1280x720 at 384 ->
    384x224), clamped to 128..long_side (detect() picks long_side with auto_long_side unless it is set)."""
    fw, fh = frame_size
    short = fh * long_side / fw if fw >= fh else fw * long_side / fh
    short = min(long_side, max(LOCALIZER_MIN_SIDE, _round_up(short, LOCALIZER_MULTIPLE)))
    return (long_side, short) if fw >= fh else (short, long_side)


def _parse_size(text: str | None) -> tuple[int, int] | None:
    """Metadata "384x384" (or "384") -> (384, 384); None when absent or unreadable."""
    if not text:
        return None
    try:
        parts = [int(v) for v in str(text).lower().split("x")]
    except ValueError:
        return None
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def retry_side(first_long_side: int, scale: float) -> int | None:
    """The localizer's long side for the second look (DetectorOptions.retry_scale): ``scale`` x the first look's,
    rounded to a multiple of 32; None when scale is 0, or when that is under RETRY_MIN_SIDE or not smaller."""
    side = int(round(first_long_side * scale / LOCALIZER_MULTIPLE)) * LOCALIZER_MULTIPLE
    return side if scale and RETRY_MIN_SIDE <= side < first_long_side else None


def decode_localizer(outputs: dict, lb: Letterbox, stride: float, threshold: float, max_hands: int,
                     nms_iou: float, nms_nested: float | None = None,
                     min_box_size: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Localizer outputs (centers, sizes, offsets) of a letterboxed frame -> boxes (N, 4) float32 in frame
    pixels and scores (N,) float32, best first, N <= max_hands (postprocess.decode_boxes + the letterbox's
    inverse); boxes with a long side under ``min_box_size`` frame pixels are dropped."""
    boxes, scores = decode_boxes(outputs["centers"], outputs["sizes"], outputs["offsets"], stride=stride,
                                 threshold=threshold, max_boxes=max_hands, nms_iou=nms_iou,
                                 nms_nested=nms_nested, min_size=min_box_size * min(lb.scale_x, lb.scale_y))
    return lb.boxes_to_frame(boxes).astype(np.float32), scores


def same_hand_once(hands: list[Hand], distance: float) -> list[Hand]:
    """The hands, in their order, less each one that repeats a surer hand's joints (postprocess.joint_nms at
    ``distance``, DetectorOptions.joint_nms)."""
    if len(hands) < 2:
        return hands
    keep = joint_nms(np.array([h.keypoints for h in hands]), np.array([h.confidence for h in hands]), distance)
    return [hands[i] for i in keep]


# ------------------------------------------------------------------------------------------ the detector
class HandJointDetector:
    """Hand joints in frames: ``detect(frame) -> [Hand]``; ``track(frame)`` for video.

    HandJointDetector(options=None, **overrides): overrides are DetectorOptions fields (backend='torch',
    max_hands=2, ...). Models: options.localizer_model / hand_model, else the shipped ones
    (models_registry). Use as a context manager or call close().
    After each call, ``last_timings`` holds the time per stage in ms: localizer, crop, hands, decode, total.
    ``crops_read`` counts the hand crops detect(), estimate() and track() have had stage II read since the
    detector was made, second readings (the quarter-turn recheck, the plain network, the upright pass) included:
    its difference across a call says how much stage-II work a frame took.
    ``has_handedness`` says whether the hand model names each hand left or right (Hand.handedness; the shipped
    one does, a model without the handedness head gives None).
    """

    def __init__(self, options: DetectorOptions | None = None, **overrides):
        self.options = _merge_options(options, overrides).resolved()
        self.backend_kind = resolve_kind(self.options.backend)
        self.last_timings: dict[str, float] = {}
        self.crops_read = 0
        self.last_crop_rotations, self.last_upright_lost = np.zeros(0), np.zeros(0, bool)
        self._tracker = None
        self.hand_backend: Backend | None = None
        self.localizer_backend: Backend | None = None
        self.orientation_backend: Backend | None = None
        self.aligned_backend: Backend | None = None   # any_angle's hand network
        self._fitted_vote: LearnedVote | None = None  # vote.json as fitted, read once (DetectorOptions.vote)
        localizer_path, hand_path = self._model_paths()
        try:
            self.hand_backend = load_backend(hand_path, self.backend_kind, **self._backend_options())
            self.localizer_backend = load_backend(localizer_path, self.backend_kind, **self._backend_options())
            self._read_models(localizer_path, hand_path)
            if self.options.any_angle:
                self._load_any_angle()
            self._fitted_vote = self._load_vote() if self.options.vote == "learned" else None
        except BaseException:
            self.close()
            raise

    # -- set-up
    def _model_paths(self) -> tuple[Path, Path]:
        o = self.options
        precision = o.precision
        localizer = Path(o.localizer_model) if o.localizer_model else default_model_path("localizer", precision)
        hand = Path(o.hand_model) if o.hand_model else default_model_path("hand", precision)
        return localizer, hand

    def _aligned_path(self) -> Path:
        o = self.options
        return Path(o.aligned_model) if o.aligned_model else default_model_path("hand_aligned", o.precision)

    def _load_any_angle(self) -> None:
        """DetectorOptions.any_angle's networks: the aligned hand network and the hand-direction network, beside the
        plain hand network (which reads the hands the aligned one is unsure of); both must read its crops."""
        o = self.options
        path = self._aligned_path()
        self.aligned_backend = load_backend(path, self.backend_kind, **self._backend_options())
        _expect(self.aligned_backend, "aligned_model", path, "crops", ("heatmaps",))
        self._check_crop_side(self.aligned_backend, "aligned_model", path)
        if self.aligned_backend.max_batch:
            self.max_batch = min(v for v in (self.max_batch, self.aligned_backend.max_batch) if v)
        path = Path(o.orientation_model) if o.orientation_model else \
            default_model_path("orientation", orientation_precision(o.precision))
        self.orientation_backend = load_backend(path, self.backend_kind, **self._backend_options())
        _expect(self.orientation_backend, "orientation_model", path, "crops", ("direction",))
        self._check_crop_side(self.orientation_backend, "orientation_model", path)

    def _load_vote(self) -> LearnedVote:
        """The shipped vote file, as fitted; refused for other networks, which it was not fitted for."""
        if not self.options._shipped_vote():
            raise ValueError("vote='learned' was fitted for the shipped localizer, hand and any_angle networks (with "
                             "any_angle=True); with other networks use vote='linear' (hand_threshold), or fit a vote "
                             "for them with benchmarks/fit_vote.py")
        return load_vote(WEIGHTS_DIR / VOTE_FILENAME)

    @property
    def learned_vote(self) -> LearnedVote | None:
        """DetectorOptions.vote "learned": the fitted vote with its thresholds moved by vote_threshold (read from
        the options at each call, which benchmarks swap); None for the linear vote."""
        o = self.options
        if o.vote != "learned":
            return None
        if self._fitted_vote is None:
            self._fitted_vote = self._load_vote()
        vote = self._fitted_vote
        if o.vote_threshold is None:
            return vote
        shift = o.vote_threshold - vote.threshold
        return replace(vote, threshold=o.vote_threshold,
                       track_threshold=float(np.clip(vote.track_threshold + shift, 0.0, 1.0)))

    def _check_crop_side(self, backend: Backend, option: str, path: Path) -> None:
        side = crop_side(backend, self.crop_size)
        if side != self.crop_size:
            raise ValueError(f"{option} {path} reads {side} px crops but the hand model's are {self.crop_size} px; "
                             f"use the any_angle networks trained for this hand model")

    def _backend_options(self) -> dict:
        o = self.options
        per_kind = {
            "onnxruntime": {"threads": o.threads},
            "torch": {"threads": o.threads, "device": o.device},
            "tensorrt": {"precision": o.precision},
        }[self.backend_kind]
        if self.backend_kind == "tensorrt":
            if o.max_batch:
                per_kind["max_batch"] = o.max_batch
            if o.engine_cache is not None:
                per_kind["engine_cache"] = Path(o.engine_cache)
        return {**per_kind, **o.extra}

    def _read_models(self, localizer_path: Path, hand_path: Path) -> None:
        """Check each model is the stage it is given as; read crop size, strides and input sizes."""
        hand, loc = self.hand_backend, self.localizer_backend
        _expect(hand, "hand_model", hand_path, "crops", ("heatmaps",))
        _expect(loc, "localizer_model", localizer_path, "frame", ("centers", "sizes", "offsets"))
        crop_spec = hand.inputs[0]
        heat_spec = next(s for s in hand.outputs if s.name == "heatmaps")
        # The optional second output, P(right hand) (B, 1): models trained with the handedness head have it.
        self.has_handedness = any(s.name == "handedness" for s in hand.outputs)
        self.crop_size = crop_spec.shape[2] if crop_spec.shape[2] > 0 else int(hand.metadata["input_size"])
        heat_side = heat_spec.shape[2] if heat_spec.shape[2] > 0 else \
            self.crop_size // int(hand.metadata.get("stride", 4))
        self.heatmap_stride = self.crop_size / heat_side
        self.box_stride = float(loc.metadata.get("stride", BOX_STRIDE))
        model_size = _parse_size(loc.metadata.get("input_size"))
        self.localizer_long_side = max(model_size) if model_size else DEFAULT_LOCALIZER_LONG_SIDE
        # The smaller of the user's limit and the backend's (a TensorRT profile's maximum); 0 = no limit.
        limits = [v for v in (self.options.max_batch, hand.max_batch) if v]
        self.max_batch = min(limits) if limits else 0

    # -- life cycle
    def close(self) -> None:
        """Free the backends; idempotent."""
        for backend in {id(b): b for b in (self.hand_backend, self.localizer_backend, self.orientation_backend,
                                           self.aligned_backend) if b is not None}.values():
            backend.close()
        self.hand_backend = self.localizer_backend = self.orientation_backend = self.aligned_backend = None

    def __enter__(self) -> "HandJointDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _live(self) -> None:
        if self.hand_backend is None:
            raise RuntimeError("this HandJointDetector was closed; make a new one")

    # -- stages
    def localizer_input_size(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        """(width, height) of the localizer input for a (width, height) frame (see DetectorOptions)."""
        size = self.options.localizer_size
        if isinstance(size, (tuple, list)):
            return int(size[0]), int(size[1])
        long_side = int(size) if size else auto_long_side(frame_size, self.localizer_long_side)
        return localizer_input_size(frame_size, long_side)

    def retry_long_side(self, frame_size: tuple[int, int]) -> int | None:
        """The localizer's long side for DetectorOptions.retry_scale's second look at a (width, height) frame:
        retry_scale x the first look's long side, rounded to a multiple of 32; None when off, or when that is under
        RETRY_MIN_SIDE or not smaller than the first look."""
        return retry_side(max(self.localizer_input_size(frame_size)), self.options.retry_scale)

    def localize(self, frame: np.ndarray, long_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Stage I on a BGR frame: boxes (N, 4) float32 frame pixels and scores (N,) float32, best first,
        N <= max_hands. long_side: the localizer input's long side (None: as DetectorOptions.localizer_size says)."""
        self._live()
        image = as_bgr_frame(frame)
        o = self.options
        size = (image.shape[1], image.shape[0])
        shape = self.localizer_input_size(size) if long_side is None else localizer_input_size(size, int(long_side))
        tensor, lb = letterbox(image, shape)
        out = self.localizer_backend.infer({"frame": tensor})
        return decode_localizer(out, lb, self.box_stride, o.box_threshold, o.max_hands, o.nms_iou,
                                o.nms_nested, o.min_box_size)

    def detect_crops(self, crops: np.ndarray) -> np.ndarray:
        """Stage II inference: crops (B, 3, S, S) float32 (preprocess.crop_hands) -> heatmaps (B, 21, h, w)
        float32 (hand_stage gives the handedness too)."""
        return self.hand_stage(crops)[0]

    def hand_stage(self, crops: np.ndarray, aligned: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Stage II inference: crops (B, 3, S, S) float32 (preprocess.crop_hands) -> (heatmaps (B, 21, h, w)
        float32, P(right hand) (B,) float32 as the crops show it, or None when the model has no handedness
        output), in chunks of max_batch when set; with options.flip_test, the mean of the crops' and their
        mirror images' outputs, the mirror's maps mirrored back and its handedness swapped. aligned: run
        any_angle's hand network (crops stood upright by hand_directions) instead of the plain one."""
        self._live()
        backend = self.aligned_backend if aligned else self.hand_backend
        if backend is None:
            raise ValueError("aligned=True needs DetectorOptions.any_angle (True or 'track')")
        if not self.options.flip_test:
            return self._infer_crops(crops, backend)
        # the mirrored crops ride in the same batch
        heatmaps, right = self._infer_crops(np.concatenate([crops, crops[..., ::-1]]), backend)
        n = len(crops)
        heatmaps = (heatmaps[:n] + heatmaps[n:, :, :, ::-1]) / np.float32(2)
        return heatmaps, None if right is None else (right[:n] + (1 - right[n:])) / np.float32(2)

    def _infer_crops(self, crops: np.ndarray, backend: Backend) -> tuple[np.ndarray, np.ndarray | None]:
        out = self._in_chunks(backend, crops)
        return out["heatmaps"], out["handedness"].reshape(-1) if "handedness" in out else None

    def _in_chunks(self, backend: Backend, crops: np.ndarray) -> dict[str, np.ndarray]:
        """A crop model's outputs on (B, 3, S, S) crops, run in chunks of max_batch when set, joined per output."""
        step = self.max_batch or len(crops)
        parts = [backend.infer({"crops": np.ascontiguousarray(crops[i:i + step])})
                 for i in range(0, len(crops), step)]
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def _hands(self, crops: np.ndarray, aligned: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """hand_stage on the plain or the aligned network; the plain call keeps its one-argument form (benchmarks
        wrap hand_stage to record what it returns); counts the crops in crops_read."""
        self.crops_read += len(crops)
        return self.hand_stage(crops, aligned=True) if aligned else self.hand_stage(crops)

    def _joints_at(self, image: np.ndarray, boxes: np.ndarray, rotations: np.ndarray,
                   aligned: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Stage II once more on the boxes' crops turned by ``rotations`` degrees: frame keypoints (N, 21, 2),
        confidence (N, 21) and P(right hand) (N,) or None."""
        crops, affines = crop_hands(image, boxes, self.crop_size, rotations_deg=rotations)
        heatmaps, right = self._hands(crops, aligned)
        points, sure, _ = decode_joints(heatmaps, affines, self.heatmap_stride)
        return points, sure, right

    def hand_directions(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """DetectorOptions.any_angle: (N,) degrees each hand is turned clockwise from pointing up (as hand_angles
        measures it), read by the orientation network from the hands' upright crops (boxes (N, 4) frame pixels)."""
        self._live()
        if self.orientation_backend is None:
            raise ValueError("hand_directions needs the direction network: make the detector with any_angle=True or "
                             "'track'")
        return self._directions(as_bgr_frame(image), as_boxes(boxes, np.shape(image)))

    def _directions(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """hand_directions on a checked BGR frame and (N, 4) float64 boxes."""
        if len(boxes) == 0:
            return np.zeros(0)
        crops, _ = crop_hands(image, boxes, self.crop_size)
        direction = self._in_chunks(self.orientation_backend, crops)["direction"]
        # the crop is the frame scaled and shifted, not turned: a direction in it is the direction in the frame
        return direction_degrees(direction).astype(np.float64)

    def estimate(self, frame: np.ndarray, boxes, scores: Sequence[float] | None = None,
                 rotations_deg=None, upright_pass=None, aligned=None, reread=None) -> list[Hand]:
        """Stage II for given boxes: one Hand per box, in the boxes' order. score = scores[i] when given,
        else the hand's mean joint confidence. rotations_deg: None, or (N,) degrees each hand is believed turned
        clockwise from pointing up (hand_angles; the tracker passes the last frame's): its crop is turned back by
        that much. upright_pass: run DetectorOptions.upright_pass's second pass: None as the options say for
        detect(), a bool, or (N,) bools per box (track() passes its own). Records crop/hands/decode timings; in
        ``last_crop_rotations`` the (N,) degrees each returned hand's crop was turned (the upright pass may change
        them) and in ``last_upright_lost`` (N,) whether a hand took the pass and its plain crop stayed surer.
        aligned: DetectorOptions.any_angle's path (None: as the options say for detect(); the tracker passes its
        own): the orientation network gives the rotation of every hand when rotations_deg is None, and of the hands
        whose entry is NaN (the tracker's new hands; hand_directions, timed as "orientation"), and the aligned
        hand network reads the crops. reread: None, or (N,) bools: which of those hands any_angle may read again
        when unsure (the quarter-turn recheck, the plain network); detect() and the tracker pass the stage-I boxes
        worth it (worth_rereading)."""
        image = as_bgr_frame(frame)
        b = as_boxes(boxes, image.shape)
        timings = {"crop": 0.0, "orientation": 0.0, "hands": 0.0, "decode": 0.0}
        ask = self.options.any_angle_in(tracking=False) if aligned is None else bool(aligned)
        if ask and self.orientation_backend is None:
            raise ValueError("aligned=True needs DetectorOptions.any_angle (True or 'track')")
        rotations = np.full(len(b), np.nan if ask else 0.0) if rotations_deg is None else \
            _rotations(rotations_deg, len(b), nan_allowed=ask)
        unknown = np.flatnonzero(np.isnan(rotations))
        if len(unknown):
            t0 = time.perf_counter()
            rotations[unknown] = self._directions(image, b[unknown])
            timings["orientation"] = (time.perf_counter() - t0) * 1e3
        self.last_crop_rotations, self.last_upright_lost = rotations.copy(), np.zeros(len(b), bool)
        allowed = _per_box(self.options.upright_pass_in(tracking=False) if upright_pass is None else upright_pass,
                           len(b), "upright_pass")
        if len(b) == 0:
            self.last_timings.update(timings)
            return []
        t0 = time.perf_counter()
        crops, affines = crop_hands(image, b, self.crop_size, rotations_deg=rotations)
        t1 = time.perf_counter()
        heatmaps, right = self._hands(crops, ask)
        t2 = time.perf_counter()
        keypoints, confidence, _ = decode_joints(heatmaps, affines, self.heatmap_stride)
        t3 = time.perf_counter()
        if reread is not None:
            unknown = unknown[_per_box(reread, len(b), "reread")[unknown]]
        if len(unknown):   # a turn the direction network gave (not one the caller or the tracker carried)
            self._recheck_turns(image, b, keypoints, confidence, right, rotations, unknown)
            self._plain_fallback(image, b, keypoints, confidence, right, rotations, unknown)
        if allowed.any():
            self.last_upright_lost = self._upright_pass(image, b, keypoints, confidence, right, rotations, allowed,
                                                        ask)
        t4 = time.perf_counter()   # second readings (their crops and decoding too) count as stage II
        if right is not None and self.options.mirrored:   # a mirror image shows the other hand
            right = 1 - right
        hands = [Hand(tuple(float(v) for v in b[i]),
                      float(scores[i]) if scores is not None else float(confidence[i].mean()),
                      keypoints[i], confidence[i], -1,
                      *Hand.handedness_of(None if right is None else right[i])) for i in range(len(b))]
        t5 = time.perf_counter()
        timings.update(crop=(t1 - t0) * 1e3, hands=(t2 - t1 + t4 - t3) * 1e3, decode=(t3 - t2 + t5 - t4) * 1e3)
        self.last_timings.update(timings)
        self.last_crop_rotations = rotations
        return hands

    def _recheck_turns(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray,
                       right: np.ndarray | None, rotations: np.ndarray, asked: np.ndarray) -> None:
        """any_angle, in place: a hand among ``asked`` (turned by the direction network) whose aligned joints' mean
        confidence is under RECHECK_BELOW (the network may have read it upside down or sideways) runs the aligned
        network once more on its crop turned a further 90, 180 and 270 degrees (one batch); the surest of the four
        crops gives its joints, left / right and rotation. On 100 val photos at each quarter turn PCK@0.2 0.90-0.93
        -> 0.95, 8 % of hands rechecked (RESULTS.md section 15). A tracked hand's carried turn is not rechecked: it
        came from the aligned joints themselves, and hands cut by the frame's edge would pay for it every frame."""
        low = asked[confidence[asked].mean(1) < RECHECK_BELOW]
        if len(low) == 0:
            return
        turns = np.repeat(rotations[low], len(RECHECK_TURNS)) + np.tile(RECHECK_TURNS, len(low))
        points, sure, again = self._joints_at(image, np.repeat(boxes[low], len(RECHECK_TURNS), 0), turns, True)
        for j, i in enumerate(low):
            rows = slice(j * len(RECHECK_TURNS), (j + 1) * len(RECHECK_TURNS))
            best = j * len(RECHECK_TURNS) + int(np.argmax(sure[rows].mean(1)))
            if sure[best].mean() > confidence[i].mean():
                keypoints[i], confidence[i], rotations[i] = points[best], sure[best], turns[best]
                if right is not None:
                    right[i] = again[best]

    def _plain_fallback(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray,
                        right: np.ndarray | None, rotations: np.ndarray, asked: np.ndarray) -> None:
        """any_angle, in place: a hand among ``asked`` whose aligned joints are still unsure after _recheck_turns
        (mean confidence under PLAIN_BELOW) is read by the plain hand network on its upright crop too, and the surer
        of the two kept: the direction network's errors cost upright hands (a 20-degree error on a curled hand), and
        the plain network learnt the gestures held sideways as they are. On the first 300 val photos PCK@0.2 upright
        0.946 -> 0.957 (5 % of the hands read twice), on the next 600 0.963 -> 0.969 (3 %), turned as before
        (RESULTS.md section 16)."""
        low = asked[confidence[asked].mean(1) < PLAIN_BELOW]
        if len(low) == 0:
            return
        points, sure, again = self._joints_at(image, boxes[low], np.zeros(len(low)), False)
        for j, i in enumerate(low):
            if sure[j].mean() > confidence[i].mean():
                keypoints[i], confidence[i], rotations[i] = points[j], sure[j], 0.0
                if right is not None and again is not None:
                    right[i] = again[j]

    def _upright_pass(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray,
                      right: np.ndarray | None, rotations: np.ndarray, allowed: np.ndarray,
                      aligned: bool = False) -> np.ndarray:
        """DetectorOptions.upright_pass, in place: each hand pointing over UPRIGHT_MIN_TURN degrees away from up
        in its crop (its angle less the crop's rotation) runs stage II again on a crop turned so that its wrist ->
        middle knuckle points up; that pass's joints, confidence and crop rotation replace the first's where its
        mean confidence is higher. Such a hand's P(right hand) is the mean of both passes': the upright crop names
        turned hands better, the plain crop the gestures held sideways that the network learnt as they are (600
        val photos, RESULTS.md section 14: upright 0.957 against 0.953 for the winner's alone, turned 90 / 180 / 270
        0.855 / 0.813 / 0.862 against 0.845 / 0.800 / 0.852). Only hands ``allowed`` take it; returns (N,) whether
        each took it and kept its first pass's joints."""
        angles = hand_angles(keypoints)
        in_crop = (angles - rotations + 180.0) % 360.0 - 180.0
        turned = np.flatnonzero((np.abs(in_crop) >= UPRIGHT_MIN_TURN) & allowed)
        lost = np.zeros(len(boxes), bool)
        if len(turned) == 0:
            return lost
        # crop_hands turns each hand counter-clockwise by its rotation: by its clockwise angle, it points up
        points, sure, again = self._joints_at(image, boxes[turned], angles[turned], aligned)
        for j, i in enumerate(turned):
            if sure[j].mean() > confidence[i].mean():
                keypoints[i], confidence[i], rotations[i] = points[j], sure[j], angles[i]
            else:
                lost[i] = True
            if right is not None:
                right[i] = (right[i] + again[j]) / np.float32(2)
        return lost

    def detect(self, frame: np.ndarray, boxes=None) -> list[Hand]:
        """Hands in one frame.

        frame: (H, W, 3) uint8 BGR (grayscale and BGRA are converted). boxes: None to find the hands
        (stage I), or (N, 4) x0, y0, x1, y1 frame pixels to skip stage I: then exactly one Hand per box
        comes back, in the boxes' order, score = mean joint confidence. A frame without hands gives []. When stage
        I's boxes give no hand, stage I looks once more at a coarser scale (DetectorOptions.retry_scale: a hand close
        to the camera); last_timings then adds both looks up.
        """
        self._live()
        start = time.perf_counter()
        image = as_bgr_frame(frame)
        self.last_timings = {"localizer": 0.0}
        if boxes is not None:   # given boxes: one hand each, never dropped
            hands = self.estimate(image, boxes)
        else:
            hands = self._found_hands(image, None)
            retry = None if hands else self.retry_long_side((image.shape[1], image.shape[0]))
            if retry is not None:   # nothing at the first look: a hand close to the camera shows at a coarser one
                first, self.last_timings = self.last_timings, {"localizer": 0.0}
                hands = self._found_hands(image, retry)
                self.last_timings = {k: self.last_timings.get(k, 0.0) + first.get(k, 0.0)
                                     for k in {*first, *self.last_timings}}
        self.last_timings["total"] = (time.perf_counter() - start) * 1e3
        return hands

    def _found_hands(self, image: np.ndarray, long_side: int | None) -> list[Hand]:
        """Stage I at ``long_side`` (None: the default input), then stage II on its boxes, confirmed by the vote
        (vote_passes), each hand once (joint_nms), boxes refined; adds the stage-I time to last_timings."""
        o = self.options
        start = time.perf_counter()
        boxes, scores = self.localize(image, long_side)
        self.last_timings["localizer"] = self.last_timings.get("localizer", 0.0) + (time.perf_counter() - start) * 1e3
        size = (image.shape[1], image.shape[0])
        hands = self.estimate(image, boxes, scores, reread=self.worth_rereading(scores))
        if not hands:
            return []
        keep = self.vote_passes(scores, hands, size)
        return self.refine(image, same_hand_once([hands[i] for i in keep], o.joint_nms))

    def vote_passes(self, box_scores, hands: Sequence[Hand], frame_size: tuple[int, int],
                    tracking: bool = False) -> np.ndarray:
        """Indices (ascending) of the hands stage II confirms (DetectorOptions.vote): box_scores (N,) stage I's
        scores of the boxes estimate() read the N hands in (Hand.box still stage I's box), frame_size (width,
        height); ``tracking``: at track()'s threshold (tracking.TRACK_VOTE_MARGIN lower for the linear vote)."""
        o = self.options
        if not len(hands):
            return np.zeros(0, np.int64)
        vote = self.learned_vote
        if vote is None:
            return verify_hands(box_scores, [h.mean_confidence for h in hands], self._linear_threshold(tracking),
                                o.confidence_weight, o.min_hand_confidence)
        return vote.passes(box_scores, [h.box for h in hands], [h.keypoints for h in hands],
                           [h.confidence for h in hands], frame_size, tracking)

    def worth_rereading(self, box_scores, tracking: bool = False) -> np.ndarray:
        """(N,) bools: the stage-I boxes (their scores) worth any_angle's second readings: with the linear vote those
        it could still pass if stage II read them at REREAD_REACH, with the learnt one those from its reread score
        (the linear vote's reach at the defaults); ``tracking``: at track()'s thresholds."""
        vote = self.learned_vote
        if vote is None:
            return vote_reachable(box_scores, self._linear_threshold(tracking), self.options.confidence_weight)
        return vote.reachable(box_scores, tracking)

    def _linear_threshold(self, tracking: bool) -> float:
        """The linear vote's hand_threshold, tracking.TRACK_VOTE_MARGIN lower in track()."""
        from .tracking import TRACK_VOTE_MARGIN

        return self.options.hand_threshold - (TRACK_VOTE_MARGIN if tracking else 0.0)

    def refine(self, frame: np.ndarray, hands: list[Hand]) -> list[Hand]:
        """The hands with each box moved towards the box of its joints by options.box_refine, the more the surer
        the joints, and clipped to the frame (postprocess.refine_boxes); the rest of each Hand unchanged."""
        if not hands:
            return []
        boxes = refine_boxes(np.array([h.box for h in hands]), np.array([h.keypoints for h in hands]),
                             np.array([h.confidence for h in hands]), (frame.shape[1], frame.shape[0]),
                             self.options.box_refine, BOX_REFINE_RAMP)
        return [replace(h, box=tuple(float(v) for v in b)) for h, b in zip(hands, boxes)]

    # -- video
    def track(self, frame: np.ndarray, timestamp: float | None = None) -> list[Hand]:
        """Hands in the next frame of a video, with stable track_id (tracking.HandTracker over this
        detector, made on first use; reset_tracking() starts over)."""
        if self._tracker is None:
            from .tracking import HandTracker

            self._tracker = HandTracker(self)
        return self._tracker.update(frame, timestamp)

    def reset_tracking(self) -> None:
        """Forget all tracks (call between videos)."""
        self._tracker = None

    def __repr__(self) -> str:
        return (f"<HandJointDetector backend={self.backend_kind} crop={getattr(self, 'crop_size', '?')} "
                f"max_hands={self.options.max_hands}{' (closed)' if self.hand_backend is None else ''}>")


# DetectorOptions.any_angle: a stage-I box is read again when unsure (recheck, plain network) only if stage II's
# vote could still pass it at this mean joint confidence (vote_reachable). Why: since session 23 stage I proposes
# boxes from 0.15 (turned hands score low), and a doubtful box that needs sure joints costs up to five readings;
# on the fit set (benchmarks/fit_box_threshold.py's 100 frames x 6 sizes, 600 photos, 600 turned) stage-II crops per
# frame 3.74 (every box) -> 3.07 (reach 0.9) -> 2.77 (0.8) -> 2.57 (0.7) against 2.26 at session 22's point, F1
# 0.9387 / 0.9385 / 0.9381 / 0.9380; at 0.7 upright photos lose 0.3 points of recall (runs/ replay, RESULTS.md
# section 17).
REREAD_REACH = 0.8
# DetectorOptions.upright_pass: hands turned further than this from pointing up get the second, upright pass
UPRIGHT_MIN_TURN = 30.0
# DetectorOptions.any_angle: a hand whose aligned joints' mean confidence is under RECHECK_BELOW is read again on its
# crop turned these many degrees further, the surest crop kept (detector._recheck_turns). 100 val photos per quarter
# turn, session 21: PCK@0.2 0.914 / 0.925 / 0.899 / 0.912 -> 0.949 / 0.950 / 0.950 / 0.947 at 0.6 (8 % rechecked);
# 0.942 / 0.948 / 0.950 / 0.940 at 0.5 (6 %); the 180-degree crop alone gave 0.939 / 0.944 / 0.918 / 0.931.
RECHECK_BELOW = 0.6
RECHECK_TURNS = np.array([90.0, 180.0, 270.0])
# DetectorOptions.any_angle: a hand whose aligned joints' mean confidence is still under PLAIN_BELOW after the recheck
# is read by the plain hand network on its upright crop too, the surer kept (detector._plain_fallback). Session 22,
# the first 300 val photos' labelled boxes, upright / turned 90-270 PCK@0.2 (share read twice): 0.946 / 0.943-0.946
# without; 0.951 / 0.943-0.947 (2 %) at 0.6; 0.957 / 0.944-0.947 (5 %) at 0.7; 0.957-0.958 (6-9 %) at 0.75-0.85;
# every hand read by both 0.968 / 0.940-0.947 (runs/aa_choose.py, a one-off).
PLAIN_BELOW = 0.7


def hand_angles(keypoints: np.ndarray) -> np.ndarray:
    """(N, 21, 2) frame keypoints -> (N,) degrees each hand is turned clockwise from pointing up (wrist -> middle
    finger's knuckle; y grows downwards), in (-180, 180]."""
    return direction_degrees(keypoints[:, 9] - keypoints[:, 0])


def direction_degrees(vectors: np.ndarray) -> np.ndarray:
    """(..., 2) x, y image vectors (y grows downwards) -> (...) degrees clockwise from pointing up, in (-180, 180]."""
    vectors = np.asarray(vectors)
    return np.degrees(np.arctan2(vectors[..., 0], -vectors[..., 1]))


def crop_side(backend: Backend, default: int) -> int:
    """The side of the square crops a crop model reads: its input's fixed axis, else its input_size metadata, else
    ``default``."""
    side = backend.inputs[0].shape[2]
    return side if side > 0 else int(backend.metadata.get("input_size", default))


def vote_reachable(box_scores, hand_threshold: float, confidence_weight: float,
                   reach: float = REREAD_REACH) -> np.ndarray:
    """(N,) bools: the stage-I boxes whose vote (postprocess.hand_scores) would pass ``hand_threshold`` if stage II
    read their joints at mean confidence ``reach``: the ones worth any_angle's second readings."""
    scores = np.asarray(box_scores, np.float64).reshape(-1)
    return hand_scores(scores, np.full(len(scores), reach), confidence_weight) >= hand_threshold


def _per_box(flags, count: int, name: str) -> np.ndarray:
    """estimate()'s per-box switches (upright_pass, reread: a bool or (count,) bools) as a (count,) bool array."""
    if isinstance(flags, (bool, np.bool_)):
        return np.full(count, bool(flags))
    allowed = np.asarray(flags)
    if allowed.dtype != bool or allowed.shape != (count,):
        raise ValueError(f"{name} must be None or a bool or one bool per box ({count} boxes), got {flags!r}")
    return allowed


def _rotations(rotations_deg, count: int, nan_allowed: bool = False) -> np.ndarray:
    """estimate()'s rotations_deg as a fresh (count,) float64 array (NaN kept where ``nan_allowed``: the orientation
    network's to fill), or a ValueError naming the fix."""
    rotations = np.array(rotations_deg, np.float64).reshape(-1)
    finite = np.isfinite(rotations) | (np.isnan(rotations) if nan_allowed else False)
    if rotations.shape != (count,) or not finite.all():
        raise ValueError(f"rotations_deg must hold one finite angle (degrees) per box{' or NaN' if nan_allowed else ''}"
                         f": {count} boxes, got {np.shape(rotations_deg)}; pass None for "
                         f"{'the orientation network' if nan_allowed else 'upright crops'}")
    return rotations


def _merge_options(options: DetectorOptions | None, overrides: dict) -> DetectorOptions:
    if options is not None and not isinstance(options, DetectorOptions):
        raise TypeError(f"options must be a DetectorOptions (or None), got {type(options).__name__}; pass "
                        f"single settings as keywords: HandJointDetector(max_hands=2)")
    unknown = sorted(set(overrides) - set(DetectorOptions.field_names()))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; DetectorOptions fields are "
                        f"{list(DetectorOptions.field_names())}")
    return replace(options or DetectorOptions(), **overrides).validate()


def _expect(backend: Backend, option: str, path: Path, input_name: str, output_names: tuple[str, ...]) -> None:
    """ValueError when a model does not have the stage's tensor names (e.g. the two files swapped)."""
    inputs = [s.name for s in backend.inputs]
    outputs = [s.name for s in backend.outputs]
    if inputs != [input_name] or not set(output_names) <= set(outputs):
        raise ValueError(f"{option} {path} has inputs {inputs} and outputs {outputs}; a {option.split('_')[0]} "
                         f"model has input {input_name!r} and outputs {list(output_names)} (are the hand and "
                         f"localizer models swapped?)")
    spec = backend.inputs[0]
    if len(spec.shape) != 4 or spec.shape[1] not in (3, -1):
        raise ValueError(f"{option} {path}: input {spec.describe()} is not (N, 3, H, W)")
