"""track() against detect() on labelled video: camera pans across composed multi-hand val frames.

    python benchmarks/track_eval.py [--sequences 20 --frames 60 --track "" lost_confidence=0.2 new_hand_interval=2]
    python benchmarks/track_eval.py --motion hands ...     # a static camera, moving hands (the webcam case)
    python benchmarks/track_eval.py --motion still --camera-noise 3 ...   # hands held still: how much joints jitter

No labelled video exists here, so each sequence is made from one composed hagrid_mp val frame (model_eval.py's
composition, another seed) drawn at ``--scale`` times the view size: a ``--view`` window pans across it and back
(``--frames`` frames, a straight line between two random corners of the canvas and back, up to ~11 px per
frame at the defaults), so hands leave the view, come back and sit cut by its edge, with exact labels. The hands
do not move against each other: this measures what the camera's motion does to track(), not hand motion.

With ``--motion photo-pan`` the window pans across a real val photo instead (taken from the last backwards),
enlarged to fill 40-90 % of the canvas's height and pasted on its own blurred border: one or two real hands with
their arm, face and room, the kind of frames MediaPipe's palm detector was made for (``--peer``). With
``--motion photo-still`` the window stays on the canvas's centre (with ``--camera-noise``: the joints' jitter on
real hands).

With ``--motion hands`` the camera is still and the hands move instead: 1-3 val hands cut out (compose.py's soft
masks) over a generated background, each drifting 0-4 px per frame, swinging to and fro (10-60 px, periods of
12-40 frames) and turning (+-20 deg), so they change direction, cross, leave and re-enter the view. With ``--motion
still`` the same hands are held still (a sway of a few pixels): with ``--camera-noise`` (fresh sensor noise on
every frame, as a real camera gives) this shows how much the joints jitter where the hand does not move.

A hand counts in a frame when at least MIN_JOINTS of its labelled joints are inside the view (compose.py's rule);
its box is its joints' box clipped to the view. A hand with fewer joints in view is neither required nor a
false hand when reported. Per mode (detect() on every frame; track() with each ``--track`` set of DetectorOptions
tracking settings, "" = the defaults):
recall and precision at IoU 0.5 pooled over all frames, pipeline PCK@0.2 (a missed hand counts as all joints
missed), the found hands' mean joint error and jitter (how much that error changes from one frame to the next,
evaluation.error_jitter; both in fractions of the hand's size), the frames stage I ran on, identity switches (a
labelled hand matched to a track id other than the one it had when last matched) and the median time per frame.
Writes track_eval.json, track_eval.md and track_eval.png (recall per frame index, averaged over the sequences;
track_eval_hands.* with --motion hands, track_eval_photos.* with --motion photo-pan, track_eval_photo_still.* with
--motion photo-still, track_eval_still.* with --motion still) into --out.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import VAL_SEED, composed_frames, shared_data  # noqa: E402

from handjoints_trt import DetectorOptions, HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import PCKAccumulator, error_jitter, hand_size  # noqa: E402
from handjoints_trt.data.compose import ComposeConfig, _inside  # noqa: E402
from handjoints_trt.postprocess import box_iou  # noqa: E402

TRACK_SEED = VAL_SEED + 31     # not model_eval's nor fit_box_threshold's frames
MIN_JOINTS = ComposeConfig().min_visible_joints    # compose.py's rule: fewer and the hand is not required
IGNORE_IOU = 0.3               # a reported box this close to a not-required hand is not a false hand


@dataclass
class ViewLabels:
    """The labels of one view: required hands' boxes (G, 4), keypoints (G, 21, 2), visible (G, 21) and ids (G,)
    (their index in the canvas), and the boxes (I, 4) of hands too little in view to be required; handedness (G,)
    'left' / 'right' / None per required hand."""

    boxes: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    ids: np.ndarray
    ignored: np.ndarray
    handedness: tuple = ()


def pan_offsets(canvas: tuple[int, int], view: tuple[int, int], frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, 2) integer top-left corners of the view: from one random corner of the canvas's free range to the
    opposite one over the first half of the frames, and back."""
    free = np.array([canvas[0] - view[0], canvas[1] - view[1]], np.float64)
    start = free * rng.integers(0, 2, size=2)
    end = free - start
    half = max(frames // 2, 1)
    t = np.concatenate([np.linspace(0, 1, half, endpoint=False), np.linspace(1, 0, frames - half)])
    return np.rint(start + t[:, None] * (end - start)).astype(int)


def view_labels(hands, offset: np.ndarray, view: tuple[int, int]) -> ViewLabels:
    """The canvas's hands as seen through the view at ``offset`` (x, y)."""
    width, height = view
    boxes, keypoints, visible, ids, ignored, handedness = [], [], [], [], [], []
    for index, hand in enumerate(hands):
        kp = hand.keypoints - offset
        inside = hand.visible & _inside(kp, view)
        box = np.clip(hand.box - np.tile(offset, 2), 0, [width, height, width, height])
        if np.count_nonzero(inside) >= MIN_JOINTS:
            boxes.append(box), keypoints.append(kp), visible.append(inside), ids.append(index)
            handedness.append(hand.handedness)
        elif inside.any() and box[2] > box[0] and box[3] > box[1]:
            ignored.append(box)
    return ViewLabels(np.array(boxes, np.float32).reshape(-1, 4), np.array(keypoints, np.float32).reshape(-1, 21, 2),
                      np.array(visible, bool).reshape(-1, 21), np.array(ids, int),
                      np.array(ignored, np.float32).reshape(-1, 4), tuple(handedness))


def match_view(pred_boxes: np.ndarray, pred_scores: np.ndarray, labels: ViewLabels, iou_min: float = 0.5):
    """Greedy matching, best score first: each reported box takes the unmatched required hand it overlaps most at
    IoU >= iou_min. Returns (matched: (G,) index of the box matched to each required hand or -1, false boxes:
    the count of unmatched boxes not near an ignored hand)."""
    matched = np.full(len(labels.boxes), -1)
    false = 0
    iou = box_iou(pred_boxes, labels.boxes) if len(pred_boxes) and len(labels.boxes) else \
        np.zeros((len(pred_boxes), len(labels.boxes)))
    near_ignored = (box_iou(pred_boxes, labels.ignored).max(axis=1) >= IGNORE_IOU) \
        if len(pred_boxes) and len(labels.ignored) else np.zeros(len(pred_boxes), bool)
    for p in np.argsort(-np.asarray(pred_scores, np.float64), kind="stable"):
        free = np.flatnonzero(matched < 0)
        best = free[np.argmax(iou[p, free])] if len(free) else -1
        if best >= 0 and iou[p, best] >= iou_min:
            matched[best] = p
        elif not near_ignored[p]:
            false += 1
    return matched, false


def _recall_precision(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return tp / max(tp + fn, 1), tp / max(tp + fp, 1)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


class ModeScore:
    """Running figures of one mode over all sequences."""

    def __init__(self, frames: int, knows_stage1: bool = True):
        self.tp = self.fp = self.fn = self.switches = self.stage1 = self.frames = 0
        self.knows_stage1 = knows_stage1   # False for a peer that does not say when its detector ran
        # handedness: agreement of found hands with their label; flips = a labelled hand named otherwise than on
        # the last frame it was found (a track's running value should flip less than detect()'s per-frame one)
        self.hand_agree = self.hand_named = self.hand_flips = 0
        self.pck = PCKAccumulator()
        # per found hand: its joints' mean error, and (found on the frame before too) its jitter, both in phi
        self.errors: list[float] = []
        self.jitters: list[float] = []
        self.ms: list[float] = []
        self.found_by_index = np.zeros(frames)
        self.hands_by_index = np.zeros(frames)
        self.per_sequence: list[dict] = []   # end_sequence(): each sequence's own figures, to find the outliers
        self._sequence_start = self._counts()

    def add(self, index: int, hands, labels: ViewLabels, ms: float, ran_stage1: bool, last_ids: dict) -> None:
        boxes = np.array([h.box for h in hands], np.float32).reshape(-1, 4)
        matched, false = match_view(boxes, np.array([h.score for h in hands]), labels)
        self.tp += int((matched >= 0).sum())
        self.fn += int((matched < 0).sum())
        self.fp += false
        self.frames += 1
        self.stage1 += int(ran_stage1)
        self.ms.append(ms)
        self.found_by_index[index] += (matched >= 0).sum()
        self.hands_by_index[index] += len(matched)
        for g, p in enumerate(matched):
            pred = hands[p].keypoints if p >= 0 else np.full((21, 2), np.nan, np.float32)
            self.pck.add(pred[None], labels.keypoints[g][None], labels.visible[g][None])
            self._handedness(hands[p] if p >= 0 else None, labels, g, last_ids)
            if p >= 0:
                self._steadiness(index, hands[p].keypoints, labels, g, last_ids)
            if p >= 0 and hands[p].track_id >= 0:
                hand_id = int(labels.ids[g])
                if hand_id in last_ids and last_ids[hand_id] != hands[p].track_id:
                    self.switches += 1
                last_ids[hand_id] = hands[p].track_id

    def _counts(self) -> tuple[int, int, int, int, int]:
        return self.tp, self.fp, self.fn, len(self.errors), len(self.jitters)

    def end_sequence(self) -> None:
        """Close one sequence: its own recall, precision, joint error and jitter (as result() defines them, over this
        sequence's frames only) go to per_sequence."""
        tp0, fp0, fn0, e0, j0 = self._sequence_start
        recall, precision = _recall_precision(self.tp - tp0, self.fp - fp0, self.fn - fn0)
        self.per_sequence.append({"recall": recall, "precision": precision,
                                  "joint_error": _mean(self.errors[e0:]), "jitter": _mean(self.jitters[j0:])})
        self._sequence_start = self._counts()

    def _handedness(self, hand, labels: ViewLabels, g: int, last_ids: dict) -> None:
        named = getattr(hand, "handedness", None)
        if named is None:
            return
        label = labels.handedness[g] if g < len(labels.handedness) else None
        if label is not None:
            self.hand_named += 1
            self.hand_agree += named == label
        key = ("handedness", int(labels.ids[g]))
        self.hand_flips += key in last_ids and last_ids[key] != named
        last_ids[key] = named

    def _steadiness(self, index: int, keypoints: np.ndarray, labels: ViewLabels, g: int, last_ids: dict) -> None:
        """The found hand's mean joint error and, when it was found on the frame before too, its jitter
        (evaluation.error_jitter), both as fractions of its size phi."""
        gt, visible = labels.keypoints[g], labels.visible[g]
        phi = float(hand_size(gt[None], visible[None])[0])
        if phi <= 0:
            return
        self.errors.append(float(np.linalg.norm(keypoints[visible] - gt[visible], axis=1).mean() / phi))
        key = ("pose", int(labels.ids[g]))
        if key in last_ids and last_ids[key][0] == index - 1:
            _, prev_pred, prev_gt, prev_visible = last_ids[key]
            jitter = error_jitter(prev_pred, prev_gt, keypoints, gt, visible & prev_visible)
            if np.isfinite(jitter):
                self.jitters.append(jitter)
        last_ids[key] = (index, np.asarray(keypoints, np.float64), gt, visible)

    def result(self) -> dict:
        recall, precision = _recall_precision(self.tp, self.fp, self.fn)
        pck = self.pck.result()
        return {"recall": recall, "precision": precision,
                "f1": 2 * recall * precision / (recall + precision) if recall + precision else 0.0,
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "pck@0.2": float(pck.pck[1]),
                "stage1_frames": self.stage1 if self.knows_stage1 else None, "frames": self.frames,
                "id_switches": self.switches,
                "handedness_agreement": self.hand_agree / self.hand_named if self.hand_named else None,
                "handedness_flips": self.hand_flips,
                "joint_error": _mean(self.errors), "jitter": _mean(self.jitters),
                "jitter_p90": float(np.percentile(self.jitters, 90)) if self.jitters else None,
                "median_ms": float(np.median(self.ms)) if self.ms else float("nan"),
                "recall_by_index": (self.found_by_index / np.maximum(self.hands_by_index, 1)).tolist(),
                "per_sequence": self.per_sequence}


# DetectorOptions that choose the models a detector loads: modes that differ in them get detectors of their own
MODEL_OPTIONS = ("backend", "precision", "localizer_model", "hand_model", "any_angle", "orientation_model",
                 "aligned_model")


def run_sequence(detector, frames: list[np.ndarray], labels: list[ViewLabels], mode: str, score: ModeScore) -> None:
    """One sequence through detect() (mode 'detect') or a fresh tracker (any other mode)."""
    detector.reset_tracking()
    last_ids: dict[int, int] = {}
    for index, (frame, label) in enumerate(zip(frames, labels)):
        start = time.perf_counter()
        hands = detector.detect(frame) if mode == "detect" else detector.track(frame)
        ms = (time.perf_counter() - start) * 1e3
        ran = True if mode == "detect" else detector._tracker.last_ran_localizer
        score.add(index, hands, label, ms, ran, last_ids)
    score.end_sequence()


PEER_MODE = "MediaPipe Hands (video mode)"


def peer_hands_module():
    """mediapipe.solutions.hands with this process pinned to one CPU (both pipelines then run on one core, as
    benchmarks/peer_mediapipe.py times them), or None after printing how to install it."""
    from peer_mediapipe import MediaPipeMissing, import_hands_module, pin_to_one_cpu

    try:
        module = import_hands_module()
    except MediaPipeMissing as exc:
        print(exc, file=sys.stderr)
        return None
    pin_to_one_cpu(-1)
    return module


def run_peer_sequence(hands_module, frames: list[np.ndarray], labels: list[ViewLabels], score: ModeScore) -> None:
    """One sequence through MediaPipe Hands in its own tracking mode (peer_mediapipe.MediaPipeHands(video=True)), a
    fresh graph per sequence as our tracker is fresh per sequence. It reports no track ids, nor when its palm
    detector ran: those columns stay empty."""
    from peer_mediapipe import MediaPipeHands

    last_ids: dict[int, int] = {}
    with MediaPipeHands(hands_module, max_hands=DetectorOptions().max_hands, video=True) as peer:
        for index, (frame, label) in enumerate(zip(frames, labels)):
            start = time.perf_counter()
            hands = peer.detect(frame)
            score.add(index, hands, label, (time.perf_counter() - start) * 1e3, False, last_ids)
    score.end_sequence()


def photo_canvases(records, canvas: tuple[int, int], seed: int = TRACK_SEED):
    """index -> Sample: the labelled val photo ``index`` (in order, from the last one backwards: model_eval's photos are
    the first) enlarged to fill 40-90 % of a (width, height) canvas's height and pasted in its centre on its own
    blurred border (peer_mediapipe.paste_centred): a real hand with its arm, face and room, for --motion photo-pan."""
    from peer_mediapipe import paste_centred

    labelled = [r for r in records if r.hands][::-1]

    def frame(index: int):
        sample = labelled[index % len(labelled)].load()
        fill = np.random.default_rng((seed, index)).uniform(0.4, 0.9)
        return paste_centred(sample, canvas, upscale=fill * canvas[1] / sample.image.shape[0], max_fill=0.95)
    return frame


def sequences(records, count: int, frames: int, view: tuple[int, int], scale: float, seed: int = TRACK_SEED,
              photos: bool = False, still: bool = False):
    """Yield (frames, labels) per sequence: pans across composed canvases with at least one hand, or with ``photos``
    across real val photos enlarged into the canvas (photo_canvases); with ``still`` the view stays on the canvas's
    centre (a still camera: with camera noise, the joints' jitter on a real hand)."""
    canvas = (int(round(view[0] * scale)), int(round(view[1] * scale)))
    frame_at = photo_canvases(records, canvas, seed) if photos else composed_frames(canvas, records, seed=seed).frame
    rng = np.random.default_rng(seed)
    index = 0
    while count:
        sample = frame_at(index)
        index += 1
        if not sample.hands:
            continue
        offsets = pan_offsets(canvas, view, frames, rng)
        if still:
            offsets = np.tile([(canvas[0] - view[0]) // 2, (canvas[1] - view[1]) // 2], (frames, 1))
        yield ([np.ascontiguousarray(sample.image[y:y + view[1], x:x + view[0]]) for x, y in offsets],
               [view_labels(sample.hands, np.array([x, y], np.float32), view) for x, y in offsets])
        count -= 1


def with_camera_noise(frames: list[np.ndarray], sigma: float, rng: np.random.Generator) -> list[np.ndarray]:
    """The frames with fresh Gaussian sensor noise (standard deviation ``sigma`` grey levels) on each, as a camera
    gives even of a still scene; the frames unchanged at sigma 0."""
    if sigma <= 0:
        return frames
    return [np.clip(f + rng.normal(0.0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def _number_or_word(value: str):
    try:
        return float(value)
    except ValueError:
        return value


def parse_settings(spec: str) -> dict:
    """"lost_confidence=0.2,new_hand_interval=2" -> {'lost_confidence': 0.2, 'new_hand_interval': 2}."""
    from handjoints_trt.types import DetectorOptions

    out, defaults = {}, DetectorOptions()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, _, value = item.partition("=")
        if not hasattr(defaults, key) or not value:
            raise ValueError(f"--track {spec!r}: {item!r} is not KEY=VALUE with KEY a DetectorOptions field")
        kind = type(getattr(defaults, key))
        if key in ("upright_pass", "any_angle") and value == "track":      # True, False or "track"
            out[key] = value
        elif key.endswith("_model"):   # a model file (default None)
            out[key] = value
        elif kind is bool or key == "any_angle":   # bool("false") is True: read the word (any_angle's default is None)
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"--track {spec!r}: {key} takes true or false, got {value!r}")
            out[key] = value.lower() in ("true", "1")
        elif getattr(defaults, key) is None:   # optional (vote, vote_threshold, nms_nested): none, a number or a word
            out[key] = None if value.lower() == "none" else _number_or_word(value)
        else:
            out[key] = kind(value)
    return out


def _moving_paste(rng: np.random.Generator, record, view: tuple[int, int], frames: int, any_angle: bool = False,
                  still: bool = False):
    """One source hand cut out, and its (2, 3) patch -> frame affine on every frame: a straight drift (0-4 px per
    frame) plus a to-and-fro swing (amplitude 10-60 px, period 12-40 frames) and a turning wrist (+-20 deg);
    with ``any_angle`` the whole hand is also turned by a random angle (any, uniform), as held sideways or down.
    With ``still`` the hand is held still instead: no drift, a slow sway of 0.5-4 px (period 30-90 frames) and the
    wrist turning +-1 deg."""
    from handjoints_trt.data.compose import cutout

    sample = record.load()
    hand = max(sample.hands, key=lambda h: int(h.visible.sum()))
    patch, alpha, keypoints = cutout(sample.image, hand, rng)
    labelled = hand.visible
    lo, hi = keypoints[labelled].min(axis=0), keypoints[labelled].max(axis=0)
    size = float(np.exp(rng.uniform(np.log(32), np.log(0.5 * min(view)))))
    scale = size / max(float((hi - lo).max()), 1.0)
    start = rng.uniform([0.1 * view[0], 0.1 * view[1]], [0.9 * view[0], 0.9 * view[1]])
    drift = rng.uniform(0, 4) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
    swing = rng.uniform(10, 60) * np.array([np.cos(b := rng.uniform(0, 2 * np.pi)), np.sin(b)])
    period, phase, turn = rng.uniform(12, 40), rng.uniform(0, 2 * np.pi), rng.uniform(-20, 20)
    base = rng.uniform(-180, 180) if any_angle else 0.0   # drawn only then: the upright sequences stay as they were
    if still:   # drawn only then too, after the moving hand's draws
        drift, swing = np.zeros(2), swing / np.linalg.norm(swing) * rng.uniform(0.5, 4)
        period, turn = rng.uniform(30, 90), rng.uniform(-1, 1)
    affines = []
    for t in range(frames):
        angle = np.deg2rad(base + turn * np.sin(2 * np.pi * t / period + phase))
        rot = scale * np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        centre = start + drift * t + swing * np.sin(2 * np.pi * t / period + phase)
        affines.append(np.concatenate([rot, (centre - rot @ ((lo + hi) / 2))[:, None]], axis=1))
    return patch, alpha, keypoints, labelled, affines


def moving_hand_sequences(records, count: int, frames: int, view: tuple[int, int], seed: int = TRACK_SEED + 1,
                          any_angle: bool = False, still: bool = False):
    """Yield (frames, labels) per sequence: 1-3 real val hands cut out and moving over a fixed background (a static
    camera: hands drift, swing to and fro, turn, leave and re-enter the view; with ``any_angle`` each held at a
    random angle; with ``still`` held still, _moving_paste)."""
    from handjoints_trt.data.compose import _blend, _covered, _local_background, _Pasted, _warp_roi
    from handjoints_trt.preprocess import apply_affine
    from handjoints_trt.data.sample import HandLabel, keypoint_box

    rng = np.random.default_rng(seed)
    sources = [r for r in records if any(int(h.visible.sum()) == 21 for h in r.hands)]
    for _ in range(count):
        background = _local_background(rng, view[0], view[1], None)
        pastes = [_moving_paste(rng, sources[int(rng.integers(len(sources)))], view, frames, any_angle, still)
                  for _ in range(int(rng.integers(1, 4)))]
        images, labels = [], []
        for t in range(frames):
            image, placed = background.copy(), []
            for patch, alpha, keypoints, labelled, affines in pastes:
                mapped = apply_affine(affines[t], keypoints)
                warped = _warp_roi(patch, alpha, affines[t], view)
                if warped is not None:
                    roi, colour, soft = warped
                    for p in placed:                          # a later hand hides the joints it covers
                        p.visible &= ~_covered(p, roi, soft)
                    _blend(image, roi, colour, soft)
                box = np.clip(keypoint_box(mapped, labelled), 0, [view[0], view[1]] * 2).astype(np.float32)
                placed.append(_Pasted(mapped, labelled.copy(), labelled.copy(), box, None))
            hands = [HandLabel(p.keypoints, p.visible, p.box) for p in placed]
            images.append(image)
            labels.append(view_labels(hands, np.zeros(2, np.float32), view))
        yield images, labels


def worst_sequences(mode_result: dict, count: int = 3) -> list[tuple[int, float]]:
    """The ``count`` sequences of one mode with the largest joint error, as (sequence number, error), worst first."""
    errors = [(i, r["joint_error"]) for i, r in enumerate(mode_result.get("per_sequence", []))
              if r["joint_error"] is not None]
    return sorted(errors, key=lambda item: -item[1])[:count]


def markdown(results: dict) -> str:
    kind = results.get("motion", "pan")
    motion = {"pan": "camera pans", "photo-pan": "camera pans over real photos",
              "photo-still": "real photos seen by a still camera",
              "still": "hands held still"}.get(kind, "moving hands")
    lines = [f"# track() vs detect() on {motion} ({results['date']})", "", f"Command: `{results['command']}`", "",
             f"{results['sequences']} sequences of {results['frames']} frames, view {results['view']}, "
             + (f"canvas {results['scale']}x (a camera pan"
                + (" over a real val photo)" if kind == "photo-pan" else ", still, on a real val photo)"
                   if kind == "photo-still" else ")") if kind not in ("hands", "still")
                else "static camera, " + ("hands held still" if kind == "still" else "moving hands")
                + (", each held at a random angle" if results.get("any_angle") else ""))
             + (f", camera noise sigma {results['camera_noise']:g}" if results.get("camera_noise") else "")
             + f"; {results['hands']} labelled hand-frames"
             + (f"; every mode from DetectorOptions {results['base']}" if results.get("base") else "") + ".", "",
             "| mode | recall | precision | F1 | pipeline PCK@0.2 | joint error % | jitter % (p90) | stage I frames "
             "| id switches | L-R agreement | L-R flips | median ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["modes"].items():
        agree = r.get("handedness_agreement")
        peer = r["stage1_frames"] is None   # MediaPipe: it tells neither when its palm detector ran nor track ids
        stage1 = "-" if peer else f"{r['stage1_frames']}/{r['frames']}"
        error, jitter = r.get("joint_error"), r.get("jitter")
        steady = "-" if jitter is None else f"{100 * jitter:.2f} ({100 * r['jitter_p90']:.2f})"
        lines.append(f"| {name} | {r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} | {r['pck@0.2']:.3f} | "
                     f"{'-' if error is None else f'{100 * error:.2f}'} | {steady} | "
                     f"{stage1} | {'-' if peer else r['id_switches']} | "
                     f"{'-' if agree is None else f'{agree:.3f}'} | {r.get('handedness_flips', '-')} | "
                     f"{r['median_ms']:.1f} |")
    ranked = {name: worst_sequences(r) for name, r in results["modes"].items()}
    worst = [f"{name}: " + ", ".join(f"#{i} {100 * e:.1f}" for i, e in seqs) for name, seqs in ranked.items() if seqs]
    if worst:
        lines += ["", "The sequences with the largest joint error (their number from 0, and the error in %; each "
                  "sequence's own figures are in the JSON's per_sequence): " + "; ".join(worst) + "."]
    lines += ["", "Joint error: a found hand's mean joint error, in % of its size (the longer side of its visible "
              "joints' box), averaged over found hand-frames; jitter: how much that error moves between consecutive "
              "frames (evaluation.error_jitter: noise, not motion that is followed), mean and 90th percentile.",
              "", "L-R agreement: found hands whose handedness matches the label (real hands: MediaPipe's, swapped to "
              "the person's hand; generated hands: exact, where the hand network is at chance); L-R flips: a "
              "labelled hand named otherwise than on the last frame it was found."]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, r in results["modes"].items():
        ax.plot(r["recall_by_index"], label=f"{name} (recall {r['recall']:.3f})")
    kind = results.get("motion", "pan")
    pan = kind in ("pan", "photo-pan")
    what = {"pan": "a camera pan", "photo-pan": "a camera pan", "photo-still": "a real photo, still camera",
            "still": "hands held still, static camera"}.get(kind, "moving hands, static camera")
    ax.set(xlabel="frame index" + (" (the pan turns back at the middle)" if pan else ""), ylabel="recall (IoU 0.5)",
           title=f"Hands found per frame of {what}\n(averaged over the sequences)", ylim=(0.5, 1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence (there and back)")
    parser.add_argument("--view", default="640x480", help="the camera's frame, WIDTHxHEIGHT")
    parser.add_argument("--scale", type=float, default=1.5, help="canvas size / view size (> 1; --motion pan)")
    parser.add_argument("--motion", choices=("pan", "photo-pan", "photo-still", "hands", "still"), default="pan",
                        help="pan: the camera pans across a composed frame; photo-pan: across a real val photo "
                             "enlarged; photo-still: a still view of it; hands: a static camera, hands moving; "
                             "still: a static camera, hands held still (for jitter, with --camera-noise)")
    parser.add_argument("--camera-noise", type=float, default=0.0, metavar="SIGMA",
                        help="Gaussian sensor noise of this standard deviation (grey levels) drawn afresh on every "
                             "frame (default 0: the generated frames as they are)")
    parser.add_argument("--track", nargs="+", default=[""], metavar="KEY=VALUE[,KEY=VALUE]",
                        help='track() settings to compare, each a comma-separated list of DetectorOptions tracking '
                             'fields ("" = the defaults), e.g. lost_confidence=0.2,new_hand_interval=2')
    parser.add_argument("--any-angle", action="store_true",
                        help="--motion hands / still: each hand held at a random angle (sideways, down), not "
                             "upright")
    parser.add_argument("--base", default="", metavar="KEY=VALUE[,KEY=VALUE]",
                        help="DetectorOptions every mode starts from, detect() included (e.g. upright_pass=true)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0,
                        help="another set of sequences (a check set for settings fitted on the default 0)")
    parser.add_argument("--peer", action="store_true",
                        help="also MediaPipe Hands in its video mode, the whole run pinned to one CPU (run with the "
                             "Python that has mediapipe: benchmarks/peer_mediapipe.py's docstring)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    view = tuple(int(v) for v in args.view.lower().split("x"))
    hands_module = peer_hands_module() if args.peer else None
    if args.peer and hands_module is None:
        return 2
    if len(view) != 2 or args.scale <= 1:
        parser.error("--view must be WIDTHxHEIGHT and --scale > 1")
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    settings = {"detect": None, **{f"track {spec}".strip() if spec else "track (defaults)": parse_settings(spec)
                                   for spec in args.track}}
    scores = {m: ModeScore(args.frames) for m in settings}
    if args.peer:
        scores[PEER_MODE] = ModeScore(args.frames, knows_stage1=False)
    hands = 0
    from contextlib import ExitStack

    with ExitStack() as stack:
        defaults = replace(DetectorOptions(backend="onnxruntime", threads=args.threads),
                           **parse_settings(args.base)).validate()
        detectors: dict = {}   # one per set of models (any_angle loads two more); the settings are swapped per mode
        source = moving_hand_sequences(records, args.sequences, args.frames, view, TRACK_SEED + 1 + 1000 * args.seed,
                                       any_angle=args.any_angle, still=args.motion == "still") \
            if args.motion in ("hands", "still") else \
            sequences(records, args.sequences, args.frames, view, args.scale, TRACK_SEED + 1000 * args.seed,
                      photos=args.motion.startswith("photo"), still=args.motion == "photo-still")
        noise = np.random.default_rng((TRACK_SEED, 7, args.seed))
        for n, (frames, labels) in enumerate(source):
            frames = with_camera_noise(frames, args.camera_noise, noise)
            hands += sum(len(lb.boxes) for lb in labels)
            for mode, overrides in settings.items():
                # A fresh tracker per sequence reads the detector's options; each mode starts from the defaults.
                options = replace(defaults, **(overrides or {})).validate().resolved()   # any_angle decided
                key = tuple(str(getattr(options, k)) for k in MODEL_OPTIONS)
                if key not in detectors:
                    detectors[key] = stack.enter_context(HandJointDetector(options=options))
                detector = detectors[key]
                detector.options = options
                run_sequence(detector, frames, labels, mode, scores[mode])
            if hands_module is not None:
                run_peer_sequence(hands_module, frames, labels, scores[PEER_MODE])
            print(f"[track_eval] sequence {n + 1}/{args.sequences}", file=sys.stderr, flush=True)
    command = "python benchmarks/track_eval.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    results = {"date": str(date.today()), "command": command, "sequences": args.sequences, "frames": args.frames,
               "view": args.view, "scale": args.scale, "motion": args.motion, "any_angle": args.any_angle,
               "camera_noise": args.camera_noise, "seed": args.seed,
               "base": args.base, "hands": hands,
               "modes": {m: s.result() for m, s in scores.items()}}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = {"pan": "track_eval", "photo-pan": "track_eval_photos", "photo-still": "track_eval_photo_still",
            "hands": "track_eval_hands", "still": "track_eval_still"}[args.motion]
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1))
    text = markdown(results)
    (args.out / f"{stem}.md").write_text(text + "\n")
    plot(results, args.out / f"{stem}.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
