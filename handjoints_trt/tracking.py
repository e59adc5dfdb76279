"""Video: reuse last frame's hands instead of running stage I on every frame, with stable track ids.

Each tracked hand's next box is the box of its joints, enlarged (DetectorOptions.track_box_scale) and moved
by the hand's velocity (constant-velocity prediction of the box centre). Stage I runs again:
  - when no hand is tracked, or a hand was lost (its mean joint confidence fell below lost_confidence): on that same
    frame, for the hands away from the followed ones (DetectorOptions.refind_lost; else on the next frame);
  - every redetect_interval frames;
  - every new_hand_interval frames while fewer than max_hands are tracked (a new hand may have entered).
Stage-I boxes are matched to the tracks' *predicted* boxes (greedy on centre distance, in box sides, plus how
much the sizes differ), so two hands that cross keep their ids: after the crossing each prediction is nearer its own
hand, and a small box on a hand's palm or finger does not take the hand's track. A track's box reaches past the
frame's edge by at most half its side inside the frame (OUTSIDE_FRAME_MAX), so a hand cut by the edge, whose joints
are read beyond it, does not drag its crop away. A stage-I box
that starts a new track must also pass detect()'s vote (HandJointDetector.vote_passes), so a video's first frame
reports no hand that detect() would not. On every frame where stage I runs and scores a tracked hand, the same
vote decides whether it lives (so track() with redetect_interval=1 reports what detect() reports, with ids); a
hand the vote keeps while its joints are under lost_confidence (a hand cut by the frame edge, say) gets stage I
again on the next frame. On the other frames stage II alone follows a hand while its joints stay sure
(lost_confidence; on a stage-I frame whose boxes missed it, or a frame whose look around it with stage I missed it,
track_window, unseen_confidence), and reads it again around its joints when they lie off its crop's centre
(track_recrop). A lost track is remembered LOST_TRACK_MEMORY frames: stage I
finding a hand near its last box gives it its id back (and if the vote refuses it there, it is remembered again).
On a stage-I frame where no hand is followed and stage I finds none, it looks once more at a coarser scale, as
detect() does (DetectorOptions.retry_scale: a hand close to the camera).
Each track's handedness is a running mean of the hand network's P(right hand) (HANDEDNESS_GAIN per frame), so one
doubtful frame (an edge-on hand) does not flip it. One-Euro smoothing of the joints per track (Casiez et
al. 2012; DetectorOptions.smoothing, on by default since session 27), its cut-off set by the whole hand's speed in
hand sizes per second. Each returned Hand.box is refined as
detect()'s (HandJointDetector.refine: moved towards the box of its joints), whether stage I or the track made it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .postprocess import box_iou, joint_nms
from .preprocess import LETTERBOX_FILL, apply_affine, crop_affine, invert_affine, warp
from .types import Hand

# A detection farther than this from a track's prediction (in the predicted box's mean side) starts a
# new track instead.
MAX_MATCH_DISTANCE = 1.0
# Weight of the newest centre step in the velocity estimate (1 = last step only).
VELOCITY_GAIN = 0.6
# Two tracks whose boxes overlap more than this follow the same hand: the younger one is dropped.
DUPLICATE_IOU = 0.8
# A lost track is remembered this many frames: a stage-I box near its last box takes its id back instead of a
# new one, so a hand that stage I or stage II loses for a moment keeps its id (benchmarks/track_eval.py).
LOST_TRACK_MEMORY = 30
# Weight of the newest frame in a track's running P(right hand): about the last ten frames count, so a single
# edge-on frame cannot flip a hand while a track that jumped to another hand recovers within a second.
HANDEDNESS_GAIN = 0.1
# track() votes on stage-I frames at hand_threshold less this. Why: in video a false track is put to the vote again
# on the next stage-I frames, while a hand the vote misses is unseen until stage I runs again; at session 23's
# hand_threshold (0.44, fitted on single frames) track() started the tracks of hands entering the view cut by its
# edge later (camera pans: F1 0.859 -> 0.848, PCK@0.2 0.722 -> 0.700 against 0.30 / 0.41). At 0.41 in track() only:
# 0.863 / 0.720, moving hands at any angle and upright within 0.3 points (benchmarks/track_eval.py, RESULTS.md 17).
TRACK_VOTE_MARGIN = 0.03
# DetectorOptions.refind_lost: a stage-I box that a followed hand's box (its joints' box, track_box_scale) overlaps by
# FOLLOWED_IOU or more is that hand, already read on this frame; the others are read as hands stage I found.
FOLLOWED_IOU = 0.3
# DetectorOptions.track_window: on a frame stage I skips, stage I runs on a window this many times a followed hand's
# predicted box's longer side, centred on it, and its box there that overlaps the prediction at IoU >= WINDOW_IOU is
# the hand's crop. Why: a crop cut from the last frame's joints (their extremes, the noisiest joints) moves and grows
# with their noise, and the next reading moves with its crop; stage I's box does not depend on the last frame. Session
# 27, a runs/ sweep on real val photos held still (track_eval.py --motion photo-still, 8 sequences): windows of 128 /
# 192 px at 3 / 2.5 times the box, IoU 0.1 / 0.3 / 0.5: 192 px, 2.5x, IoU 0.5 cut the jitter most (6.67 -> 2.92 %).
# Session 28: the window is cut as the crops are (crop_affine, continuous coordinates) and grey outside the frame as
# the letterbox is; on by default. The crop is WINDOW_BLEND of the way from the prediction (the last joints' box) to
# the window's box: stage I's box alone is steadier, but it frames a hand as detect() does, and left / right was read
# 1.6-7.1 points worse from it on 4 of 6 labelled sets; the mean keeps most of the steadiness and left / right as it
# was, and raised PCK@0.2 on 8 of 10 sets, lowering it on none (fitted on 2 sets of real photos; RESULTS.md 23).
# Session 39: WINDOW_IOU 0.5 -> 0.3. A crop cut from joints read on something beside a small hand drifts off it
# 12-50 px a frame, and after a frame or two overlaps stage I's window box under 0.5, which then no longer pulled it
# back; at 0.3 it does so a frame or two longer. track() on the ten labelled video sets: F1 higher on 7, level on 1,
# lower on 2 by at most 0.33 points (mean +0.69; composed hands held still +2.45), PCK@0.2 +0.47, id switches
# 87 -> 85, jitter -0.44 to +0.34 points (RESULTS.md section 38).
WINDOW_FACTOR = 2.5
WINDOW_IOU = 0.3
WINDOW_BLEND = 0.5
# A followed hand that track_window's stage I does not find (no box at IoU >= WINDOW_IOU with its prediction) is, on
# that frame, held to unseen_confidence as on a frame stage I ran (False: lost_confidence alone). Why: stage II reads
# plain background at a mean joint confidence of 0.45-0.7, above lost_confidence, so a crop that left an unsure hand
# ran on to the frame's edge, 30-50 px a frame, until stage I ran again (session 40, fit_still sequence 19), while the
# window's stage I had already seen no hand there. On the ten labelled video sets track() F1 +0.62 points (higher on
# 7, lower on 2 by 0.1), precision higher on 8, id switches 85 -> 80, for stage I on 2.9 % more frames (RESULTS.md
# section 39).
WINDOW_UNSEEN = True
# DetectorOptions.track_hold: on a frame stage I skips, a followed hand's last crop box is kept while the new one's
# centre moves under HOLD_SHIFT of its side and its side changes under HOLD_SIZE, and the crop's angle (any_angle)
# while the joints turn it under HOLD_ANGLE degrees; past either, the new one is taken and kept from then on. Why: a
# crop that follows the last joints never settles on a still hand (RESULTS.md section 23: jitter 2.24 % with no sensor
# noise, detect() 0.00 %). Tried and dropped (RESULTS.md section 24): holding only hands whose joints were sure (mean
# confidence >= 0.5), letting go every 15 / 30 frames or on stage-I frames, and the box alone.
HOLD_SHIFT, HOLD_SIZE, HOLD_ANGLE = 0.03, 0.05, 5.0
# A followed hand's box reaches past the frame's edge by at most this fraction of its side inside the frame (per
# axis); None: unbounded. Why: a hand cut by the frame's edge has joints read beyond it, its next crop then takes in
# more of the grey beyond, the joints are read farther out again, and the box ran away from the hand within four
# frames (real photos panned: a box 1,400 px tall above a 480 px frame); stage I then found the hand far from the
# track's prediction and gave it a new id (session 38, RESULTS.md section 34).
OUTSIDE_FRAME_MAX: float | None = 0.5
# match_boxes takes pairs in the order of their centre distance plus this times |ln(detected box's mean side /
# predicted box's)|; whether a pair may match at all is still its centre distance alone (MAX_MATCH_DISTANCE). Why: a
# small stage-I box inside a hand (a finger, the palm) has its centre near the hand's and, taken first, took the hand's
# track; the vote refused it, the track ended, and the hand's own box started a new one (session 38). As a part of the
# gate too, it pushed small fast hands' matches past it (their joints' box and stage I's differ in shape): id switches
# on moving composed hands 22 -> 38 (track_eval.py --motion hands --camera-noise 3, 30 sequences).
SIZE_MATCH_WEIGHT = 1.0
# A remembered lost track that stage I gives its id back and the vote then refuses is remembered again (False: it was
# forgotten, and the hand's next box, on the coarser second look or a later frame, started a new id; session 38).
REMEMBER_REVIVED = True
# A followed hand that stage I does not find at its predicted box may also take a stage-I box at the box where stage I
# last saw it (Track.seen_box, at most LOST_TRACK_MEMORY frames old), after the predicted boxes have matched. Why:
# between stage-I frames a crop can drift off a still hand onto something beside it that stage II reads surely (a
# composed hand beside a blue square read at 0.8 on the square); stage I then finds the hand far from the drifted
# prediction and gave it a new id, and the two ids took turns on one hand (fit_still sequence 15: 12 id switches). A
# lost track comes back by its last box, then by its seen box. Over the ten labelled video sets id switches 83 -> 40,
# F1 level (session 41, benchmarks/RESULTS.md section 42). False: the predicted box and the last box only.
MATCH_SEEN_BOX = True


class OneEuroFilter:
    """One-Euro low-pass filter of an array signal: smooth when slow, responsive when fast.

    min_cutoff: Hz, cut-off at rest (lower = smoother, more lag); beta: cut-off increase per unit of speed
    (units/s, the units divided by ``scale`` of each call); d_cutoff: Hz, cut-off of the speed estimate. Timestamps in
    seconds. Each element has a cut-off of its own from its own speed; with ``shared_speed`` one cut-off serves the
    whole array, from the mean speed of its rows (points: (K, 2) joints -> the hand's speed). Why shared for a hand:
    one joint's speed estimate is as noisy as its position, so noise raises its own cut-off and passes through; the
    mean over 21 joints is steady, and a hand that moves moves all of them (benchmarks/RESULTS.md section 22).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, shared_speed: bool = False):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"OneEuroFilter needs min_cutoff > 0, d_cutoff > 0, beta >= 0; got "
                             f"{min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.shared_speed = bool(shared_speed)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        """Filter one sample x (any shape, the same every call) at time t (s), its speed measured in units of
        ``scale`` (> 0: a hand's size in pixels makes beta the same for near and far hands); returns float64 like x."""
        x = np.asarray(x, np.float64)
        if self._x is None or self._t is None or t <= self._t:
            # First sample (or a non-increasing clock): nothing to filter against yet.
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self._dx
        if self.shared_speed:
            speed = np.linalg.norm(dx_hat.reshape(len(dx_hat), -1), axis=1).mean() if dx_hat.ndim else abs(dx_hat)
        else:
            speed = np.abs(dx_hat)
        a = self._alpha(self.min_cutoff + self.beta * speed / max(float(scale), 1e-9), dt)
        x_hat = a * x + (1 - a) * self._x
        self._x, self._dx, self._t = x_hat, dx_hat, float(t)
        return x_hat.copy()


# ------------------------------------------------------------------------------------------ matching
def box_centers(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) -> (N, 2) centres."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return (b[:, :2] + b[:, 2:]) / 2


def _mean_sides(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(((boxes[:, 2] - boxes[:, 0]) + (boxes[:, 3] - boxes[:, 1])) / 2, 1e-6)


def match_boxes(predicted: np.ndarray, detected: np.ndarray,
                max_distance: float = MAX_MATCH_DISTANCE) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of predicted track boxes to detected boxes.

    predicted: (T, 4), detected: (D, 4) frame pixels. Cost = centre distance / mean side of the predicted
    box; pairs with cost <= max_distance are taken in the order of cost + SIZE_MATCH_WEIGHT * |ln(the mean sides'
    ratio)|, each track and each detection once. Returns [(track index, detection index)].
    """
    p = np.asarray(predicted, np.float64).reshape(-1, 4)
    d = np.asarray(detected, np.float64).reshape(-1, 4)
    if not len(p) or not len(d):
        return []
    side, detected_side = _mean_sides(p), _mean_sides(d)
    cost = np.linalg.norm(box_centers(p)[:, None] - box_centers(d)[None], axis=2) / side[:, None]
    rank = cost + SIZE_MATCH_WEIGHT * np.abs(np.log(detected_side[None] / side[:, None]))
    pairs, used_t, used_d = [], set(), set()
    for flat in np.argsort(rank, axis=None, kind="stable"):
        t, j = divmod(int(flat), len(d))
        if cost[t, j] > max_distance or t in used_t or j in used_d:
            continue
        pairs.append((t, j))
        used_t.add(t)
        used_d.add(j)
    return pairs


def joints_box(keypoints: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(21, 2) joints -> (4,) their tight box enlarged by ``scale`` about its centre (at least 1 px)."""
    k = np.asarray(keypoints, np.float64)
    lo, hi = k.min(axis=0), k.max(axis=0)
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) * scale / 2, 0.5)
    return np.concatenate([centre - half, centre + half])


def frame_bounded(box: np.ndarray, frame_size: tuple[int, int], outside: float | None) -> np.ndarray:
    """(4,) box (frame px) with each side past the (width, height) frame's edge cut to ``outside`` times the box's
    extent inside the frame on that axis (at least 1 px); None: the box as it is. An axis on which the box lies
    wholly beyond the frame is left as it is (the hand is gone; its track will be lost)."""
    box = np.asarray(box, np.float64).copy()
    if outside is None:
        return box
    for axis, size in enumerate(frame_size):
        lo, hi = box[axis], box[axis + 2]
        if hi <= 0 or lo >= size:
            continue
        inside = max(min(hi, size) - max(lo, 0.0), 1.0)
        box[axis], box[axis + 2] = max(lo, -outside * inside), min(hi, size + outside * inside)
    return box


def _map_box(affine: np.ndarray, box: np.ndarray) -> np.ndarray:
    """An (x0, y0, x1, y1) box through an affine that only scales and moves (no turn), as (4,) float32."""
    return apply_affine(affine, np.asarray(box, np.float64).reshape(2, 2)).reshape(4)


def _held_box(track: "Track", box: np.ndarray) -> np.ndarray:
    """DetectorOptions.track_hold: the crop box for a followed hand on a frame stage I skips: its held box while
    ``box`` is within HOLD_SHIFT / HOLD_SIZE of it, else ``box``, which becomes the held one."""
    held = track.held_box
    if held is not None:
        side = max(float((held[2:] - held[:2]).max()), 1.0)
        shift = float(np.abs((box[:2] + box[2:]) / 2 - (held[:2] + held[2:]) / 2).max()) / side
        if shift < HOLD_SHIFT and abs(float((box[2:] - box[:2]).max()) / side - 1) < HOLD_SIZE:
            return held
    track.held_box = np.asarray(box, np.float64).copy()
    return track.held_box


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(rb - lt, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)
    return inter / union if union > 0 else 0.0


# ------------------------------------------------------------------------------------------ tracks
@dataclass
class Track:
    """One followed hand: its id, last box (frame px), centre velocity (px/frame), joint filter, running
    P(right hand) (None until a frame gave one) and the degrees its next crop is turned (non-zero only with
    DetectorOptions.upright_pass, once a crop turned upright gave the surer joints, or with any_angle: the hand's
    angle on the last frame)."""

    track_id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hits: int = 0
    smoother: OneEuroFilter | None = None
    right: float | None = None
    rotation: float = 0.0
    upright_retry: int = 0   # the frame index from which the upright pass may run again for this hand
    angle_known: bool = False   # DetectorOptions.any_angle: rotation is the hand's angle on the last frame
    held_box: np.ndarray | None = None    # the crop box HOLD_SHIFT / HOLD_SIZE keep (frame px)
    held_angle: float | None = None       # the crop angle HOLD_ANGLE keeps (degrees)
    seen_box: np.ndarray | None = None    # the box where stage I (or the window) last saw the hand (frame px)
    seen_frame: int = 0                   # TrackSet.frame when it did

    def observe_handedness(self, right: float) -> float:
        """Fold one frame's P(right hand) into the track's running value; returns the new value."""
        self.right = right if self.right is None else self.right + HANDEDNESS_GAIN * (right - self.right)
        return self.right

    def predicted_box(self) -> np.ndarray:
        """The box one frame ahead under constant velocity."""
        return self.box + np.tile(self.velocity, 2)

    def observe(self, box: np.ndarray) -> None:
        """A new box for this hand: update the velocity from the centre's step, then the box."""
        step = box_centers(box)[0] - box_centers(self.box)[0]
        # The first observation replaces the box the track was made with (a stage-I box, whose centre
        # differs from the joints' box by definition, not by motion): no velocity from it.
        if self.hits == 1:
            self.velocity = step
        elif self.hits > 1:
            self.velocity = VELOCITY_GAIN * step + (1 - VELOCITY_GAIN) * self.velocity
        self.box = np.asarray(box, np.float64).copy()
        self.hits += 1


class TrackSet:
    """The tracks of one video and their ids; no detector needed (testable with given boxes)."""

    def __init__(self, max_distance: float = MAX_MATCH_DISTANCE, memory: int = LOST_TRACK_MEMORY):
        self.max_distance, self.memory = max_distance, int(memory)
        self.tracks: list[Track] = []
        self.lost: list[tuple[Track, int]] = []     # (track, frames since it was lost), newest last
        self._next_id = 0
        self.frame = 0                                # tick() counts the frames

    def __len__(self) -> int:
        return len(self.tracks)

    def get(self, track_id: int) -> Track:
        return next(t for t in self.tracks if t.track_id == track_id)

    def predicted_boxes(self) -> np.ndarray:
        """(T, 4) every track's box one frame ahead, in track order."""
        return np.array([t.predicted_box() for t in self.tracks]).reshape(-1, 4)

    def associate(self, boxes: np.ndarray, max_new: int | None = None) -> list[int | None]:
        """Track id for each detected box: a matched track's id (by its predicted box, then MATCH_SEEN_BOX's seen
        box), a revived lost track's, or a new track's (made with that box). Unmatched boxes beyond ``max_new`` new
        tracks get None. Every track given a box was seen there (saw()). Matched tracks are not moved: call
        observe() with the box the hand finally has."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids: list[int | None] = [None] * len(boxes)
        for t, d in match_boxes(self.predicted_boxes(), boxes, self.max_distance):
            ids[d] = self.tracks[t].track_id
        if MATCH_SEEN_BOX:
            self._match_seen(boxes, ids)
        budget = len(boxes) if max_new is None else max_new
        # A lost track comes back at its last box, or (MATCH_SEEN_BOX) where stage I last saw it.
        for where in ("box", "seen_box") if MATCH_SEEN_BOX else ("box",):
            lost = [t for t, _ in self.lost if where == "box" or self._seen_lately(t)]
            for t, d in self._match_free(np.array([getattr(t, where) for t in lost]), boxes, ids):
                if budget > 0:
                    ids[d] = self.revive(lost[t].track_id, boxes[d])
                    budget -= 1
        for d in range(len(boxes)):
            if ids[d] is None and budget > 0:
                ids[d] = self.add(boxes[d])
                budget -= 1
        for d, track_id in enumerate(ids):
            if track_id is not None:
                self.saw(track_id, boxes[d])
        return ids

    def _match_seen(self, boxes: np.ndarray, ids: list[int | None]) -> None:
        """In place: the boxes no track's prediction matched, matched to the tracks left without a box by the box
        where stage I last saw them (MATCH_SEEN_BOX), if that was at most ``memory`` frames ago."""
        taken = set(ids)
        waiting = [t for t in self.tracks if t.track_id not in taken and self._seen_lately(t)]
        for t, d in self._match_free(np.array([t.seen_box for t in waiting]), boxes, ids):
            ids[d] = waiting[t].track_id

    def _match_free(self, candidates: np.ndarray, boxes: np.ndarray, ids: list[int | None]) -> list[tuple[int, int]]:
        """match_boxes of ``candidates`` (K, 4) to the boxes no track holds yet (``ids`` None): (candidate, box
        index) pairs."""
        free = [d for d in range(len(boxes)) if ids[d] is None]
        return [(k, free[d]) for k, d in match_boxes(candidates.reshape(-1, 4), boxes[free], self.max_distance)]

    def _seen_lately(self, track: Track) -> bool:
        """Whether stage I saw the track's hand at most ``memory`` frames ago."""
        return track.seen_box is not None and self.frame - track.seen_frame <= self.memory

    def saw(self, track_id: int, box: np.ndarray) -> None:
        """Stage I (or the window) saw this track's hand at ``box`` (frame px) on this frame."""
        track = self.get(track_id)
        track.seen_box, track.seen_frame = np.asarray(box, np.float64).copy(), self.frame

    def revive(self, track_id: int, box: np.ndarray) -> int:
        """A remembered lost track back among the live ones, at ``box`` (its velocity re-learnt from there)."""
        track = next(t for t, _ in self.lost if t.track_id == track_id)
        self.lost = [(t, age) for t, age in self.lost if t.track_id != track_id]
        track.box, track.velocity, track.hits = np.asarray(box, np.float64).copy(), np.zeros(2), 0
        self.tracks.append(track)
        return track_id

    def tick(self) -> None:
        """One frame later: lost tracks age; those older than ``memory`` frames are forgotten."""
        self.lost = [(t, age + 1) for t, age in self.lost if age + 1 <= self.memory]
        self.frame += 1

    def add(self, box: np.ndarray) -> int:
        track = Track(self._next_id, np.asarray(box, np.float64).copy())
        self._next_id += 1
        self.tracks.append(track)
        return track.track_id

    def observe(self, track_id: int, box: np.ndarray) -> None:
        self.get(track_id).observe(np.asarray(box, np.float64))

    def remove(self, track_id: int, remember: bool = False) -> None:
        """Stop following a track; ``remember`` keeps it ``memory`` frames for associate() to revive."""
        if remember:
            self.lost += [(t, 0) for t in self.tracks if t.track_id == track_id]
        self.tracks = [t for t in self.tracks if t.track_id != track_id]

    def drop_duplicates(self, iou: float = DUPLICATE_IOU) -> list[int]:
        """Remove the younger of two tracks whose boxes overlap more than ``iou``; returns removed ids."""
        removed: list[int] = []
        for i, a in enumerate(self.tracks):
            for b in self.tracks[i + 1:]:
                if a.track_id not in removed and b.track_id not in removed and _iou(a.box, b.box) > iou:
                    removed.append(max(a.track_id, b.track_id))
        for track_id in removed:
            self.remove(track_id)
        return removed


# DetectorOptions.any_angle in track(): a followed hand is cropped turned by its angle on the last frame (its joints
# from the aligned crop), the orientation network asked only for new hands. False: asked every frame.
ANY_ANGLE_CARRY = True

# any_angle in track(): a followed hand read under this mean joint confidence at its carried turn is read once more
# as detect() reads a new hand (the direction network, the quarter-turn recheck, the plain network), the surer kept.
# None: never. A hand held sideways that only the plain network reads well otherwise carries the unsure aligned
# joints' angle from frame to frame, and its crop wanders (RESULTS.md sections 28 and 30). On the ten labelled video
# sets PCK@0.2 +0.9 points and jitter -0.4 on average, precision -0.9 (false hands detect() reports too no longer
# lost by chance). Re-reading only a hand read at 0.6 or more on its last frame lost less precision but kept the loop:
# one frame read under 0.6 ends the re-reads for good (section 30).
CARRIED_REREAD_BELOW: float | None = 0.6

# After the upright pass lost for a tracked hand (its plain crop stayed surer), frames before it is tried again.
UPRIGHT_RETRY_FRAMES = 15


def next_rotation(keypoints: np.ndarray, crop_rotation: float) -> float:
    """The degrees a hand's next crop is turned: its angle now (detector.hand_angles) when this frame's surer
    crop was turned and the hand is still turned over UPRIGHT_MIN_TURN, else 0 (the plain crop, which the
    network knows best for upright hands and for the gestures it learnt sideways)."""
    from .detector import UPRIGHT_MIN_TURN, hand_angles

    if crop_rotation == 0.0:
        return 0.0
    angle = float(hand_angles(np.asarray(keypoints)[None])[0])
    return angle if abs(angle) >= UPRIGHT_MIN_TURN else 0.0


# ------------------------------------------------------------------------------------------ the tracker
class HandTracker:
    """update(frame) -> [Hand] with stable track_id, running stage I only when needed (module docstring).

    detector: a HandJointDetector; its options (max_hands, redetect_interval, new_hand_interval,
    lost_confidence, track_box_scale, smoothing, smooth_*, fps) drive the tracker.
    ``last_ran_localizer`` tells whether the last update ran stage I.
    """

    def __init__(self, detector):
        self.detector = detector
        self.options = detector.options
        self.tracks = TrackSet()
        self.frame_index = -1
        self._last_detect = -10**9
        self._force_detect = True
        self.last_ran_localizer = False
        self._window_missed: set[int] = set()   # the followed hands track_window's stage I did not find this frame

    def reset(self) -> None:
        self.tracks = TrackSet()
        self.frame_index, self._last_detect, self._force_detect = -1, -10**9, True

    def _needs_localizer(self) -> bool:
        o = self.options
        since = self.frame_index - self._last_detect
        if self._force_detect or not len(self.tracks) or since >= o.redetect_interval:
            return True
        return len(self.tracks) < o.max_hands and since >= o.new_hand_interval

    def _boxes_for_frame(self, image: np.ndarray,
                         long_side: int | None = None) -> tuple[np.ndarray, list[int], list[float | None]]:
        """The boxes stage II runs on this frame, their track ids and stage-I scores (None = tracked). long_side:
        stage I at this input long side, run whatever the schedule (the retry's second look)."""
        predicted = self.tracks.predicted_boxes()
        ids = [t.track_id for t in self.tracks.tracks]
        self.last_ran_localizer = long_side is not None or self._needs_localizer()
        self._window_missed = set()
        if not self.last_ran_localizer:
            if self.options.track_window:
                looks = [self._window_box(image, box) for box in predicted]
                predicted = np.array([box for box, _ in looks]).reshape(-1, 4)
                self._window_missed = {tid for tid, (_, seen) in zip(ids, looks) if not seen}
                for tid, box in zip(ids, predicted):
                    if tid not in self._window_missed:
                        self.tracks.saw(tid, box)   # the crop's box, moved halfway to the window's
            if self.options.track_hold:
                predicted = np.array([_held_box(t, b) for t, b in zip(self.tracks.tracks, predicted)]).reshape(-1, 4)
            return predicted, ids, [None] * len(ids)
        self._last_detect, self._force_detect = self.frame_index, False
        det_boxes, det_scores = self.detector.localize(image, long_side)
        room = max(0, self.options.max_hands - len(self.tracks))
        det_ids = self.tracks.associate(det_boxes, max_new=room)
        boxes = {tid: box for tid, box in zip(ids, predicted)}   # unseen by stage I: keep the prediction
        scores: dict[int, float | None] = {tid: None for tid in ids}
        for tid, box, score in zip(det_ids, det_boxes, det_scores):
            if tid is not None:
                boxes[tid], scores[tid] = np.asarray(box, np.float64), float(score)
        order = [t.track_id for t in self.tracks.tracks]
        return np.array([boxes[t] for t in order]).reshape(-1, 4), order, [scores[t] for t in order]

    def _window_box(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, bool]:
        """DetectorOptions.track_window: stage I on a square window WINDOW_FACTOR times a followed hand's predicted box
        (frame pixels) around it, drawn at track_window pixels. Its box there that overlaps the prediction most, at
        IoU >= WINDOW_IOU, moves the prediction WINDOW_BLEND of the way to it. Returns the box, in frame pixels, and
        whether the window's stage I found the hand (such a box; WINDOW_UNSEEN)."""
        side = self.options.track_window
        # The crops' own affine and warp (continuous coordinates), filled outside the frame as the letterbox is.
        to_window = crop_affine(box, side, scale=WINDOW_FACTOR)
        window = warp(image, to_window, (side, side), border_value=(LETTERBOX_FILL,) * 3)
        boxes, _ = self.detector.localize(window, side)
        if not len(boxes):
            return box, False
        overlap = box_iou(boxes, _map_box(to_window, box)[None])[:, 0]
        best = int(np.argmax(overlap))
        if overlap[best] < WINDOW_IOU:
            return box, False
        found = _map_box(invert_affine(to_window), boxes[best]).astype(np.float64)
        return WINDOW_BLEND * found + (1 - WINDOW_BLEND) * box, True

    def _unfollowed_boxes(self, image: np.ndarray) -> tuple[np.ndarray, list[int], list[float | None]]:
        """Stage I on a frame whose followed hands were already read: its boxes that no followed hand's box overlaps
        (IoU under FOLLOWED_IOU), their track ids (a remembered lost track's, or a new one's) and stage-I scores."""
        self.last_ran_localizer, self._force_detect = True, False
        det_boxes, det_scores = self.detector.localize(image)
        followed = np.array([t.box for t in self.tracks.tracks]).reshape(-1, 4)
        if len(followed) and len(det_boxes):
            free = box_iou(det_boxes, followed).max(axis=1) < FOLLOWED_IOU
            det_boxes, det_scores = det_boxes[free], det_scores[free]
        before = {t.track_id for t in self.tracks.tracks}
        room = max(0, self.options.max_hands - len(self.tracks))
        picked = [(tid, box, float(score)) for tid, box, score in
                  zip(self.tracks.associate(det_boxes, max_new=room), det_boxes, det_scores)
                  if tid is not None and tid not in before]
        return (np.array([p[1] for p in picked], np.float64).reshape(-1, 4), [p[0] for p in picked],
                [p[2] for p in picked])

    def update(self, frame: np.ndarray, timestamp: float | None = None) -> list[Hand]:
        """Hands of the next frame. timestamp: seconds (for smoothing); None = frame_index / fps."""
        from .detector import as_bgr_frame

        image = as_bgr_frame(frame)
        self.frame_index += 1
        t = self.frame_index / self.options.fps if timestamp is None else float(timestamp)
        self.tracks.tick()
        known = self._reported_ids()   # an id not among these is a track stage I starts now
        hands = self._read(image, t, known, *self._boxes_for_frame(image))
        if self._force_detect and not self.last_ran_localizer and self.options.refind_lost:
            # A followed hand was lost on a frame stage I skipped: stage I now, not on the next frame, for the hands
            # away from those still followed (not read again); stage I's schedule goes on as it was.
            hands += self._read(image, t, self._reported_ids(), *self._unfollowed_boxes(image))
        if not hands and self.last_ran_localizer and not len(self.tracks):
            # Nothing followed and stage I found nothing: the coarser second look, as detect() takes it.
            side = self.detector.retry_long_side((image.shape[1], image.shape[0]))
            if side is not None:
                hands = self._read(image, t, known, *self._boxes_for_frame(image, side))
        return hands

    def _reported_ids(self) -> set[int]:
        """The ids of the tracks followed now and of the lost ones remembered (REMEMBER_REVIVED): a hand with one of
        these ids was reported before, so a vote that refuses it on this frame loses it (remembered), not forgets it."""
        ids = {t.track_id for t in self.tracks.tracks}
        return ids | {t.track_id for t, _ in self.tracks.lost} if REMEMBER_REVIVED else ids

    def _read(self, image: np.ndarray, t: float, known: set[int], boxes: np.ndarray, ids: list[int],
              scores: list[float | None]) -> list[Hand]:
        """Stage II on this frame's boxes, the tracks updated (a new one must pass the vote, a followed one its
        joints' confidence), the hands returned. t: seconds; known: the track ids before this frame."""
        from .detector import hand_angles

        # Each hand cropped as the last frame's surer pass had it: a hand found turned is cropped upright at
        # once, with no second pass while it stays turned (DetectorOptions.upright_pass; else all 0).
        upright = self.options.upright_pass_in(tracking=True)
        followed = [self.tracks.get(t) for t in ids]
        allowed = np.array([upright and self.frame_index >= t.upright_retry for t in followed], bool)
        aligned = self.options.any_angle_in(tracking=True)
        # A box stage I scored is read again when unsure only if the vote could still pass it (as in detect()).
        reread = np.array([score is None or bool(self.detector.worth_rereading([score], tracking=True)[0])
                           for score in scores], bool)
        turns = [self._rotation(t, aligned, self.options.track_hold) for t in followed]
        hands = self.detector.estimate(image, boxes, upright_pass=allowed, aligned=aligned, rotations_deg=turns,
                                       reread=reread)
        # a copy: _carried_reread writes the turns of the hands it reads again into it
        rotations, lost = self.detector.last_crop_rotations.copy(), self.detector.last_upright_lost
        if aligned:
            hands = self._carried_reread(image, boxes, hands, turns, rotations, reread)
        if self.options.track_recrop:
            hands = self._recropped(image, boxes, scores, hands, rotations, aligned)
        voted = self._voted(scores, hands, image)
        out = []
        for i, (hand, tid, score, rotation, plain_won) in enumerate(zip(hands, ids, scores, rotations, lost)):
            unsure = hand.mean_confidence < self.options.lost_confidence
            # On a frame stage I ran, a followed hand it did not propose must be surer to go on (unseen_confidence).
            looked = self.last_ran_localizer or (WINDOW_UNSEEN and tid in self._window_missed)
            unseen = score is None and looked and hand.mean_confidence < self.options.unseen_confidence
            if score is None and (unsure or unseen):
                self.tracks.remove(tid, remember=True)
                self._force_detect = True   # a lost hand may be elsewhere: stage I on the next frame
                continue
            if score is not None:
                # Where stage I ran and scored the hand, detect()'s vote decides (at TRACK_VOTE_MARGIN less); a track
                # stage I started now and the vote refuses was never reported, so is not remembered.
                if i not in voted:
                    self.tracks.remove(tid, remember=tid in known)
                    continue
                # Kept with joints too unsure for stage II to follow it alone: stage I again next frame.
                self._force_detect |= unsure
            box = joints_box(hand.keypoints, self.options.track_box_scale)
            self.tracks.observe(tid, frame_bounded(box, (image.shape[1], image.shape[0]), OUTSIDE_FRAME_MAX))
            track = self.tracks.get(tid)
            if aligned and ANY_ANGLE_CARRY:
                track.rotation, track.angle_known = float(hand_angles(hand.keypoints[None])[0]), True
            else:
                track.rotation = next_rotation(hand.keypoints, rotation)
            if plain_won:   # a gesture held sideways, known as it is: do not pay for the pass again at once
                track.upright_retry = self.frame_index + UPRIGHT_RETRY_FRAMES
            out.append(self._finish(hand, tid, score, t))
        dropped = self._same_hand_tracks(out) | set(self.tracks.drop_duplicates())
        return self.detector.refine(image, [h for h in out if h.track_id not in dropped])

    def _carried_reread(self, image: np.ndarray, boxes: np.ndarray, hands: list[Hand], turns: list[float],
                        rotations: np.ndarray, reread: np.ndarray) -> list[Hand]:
        """any_angle: the hands read at a carried turn (not NaN) under CARRIED_REREAD_BELOW, and which ``reread``
        allows, read again as detect() reads a new hand; the surer read (mean joint confidence) kept, its crop's turn
        written into ``rotations`` in place."""
        if CARRIED_REREAD_BELOW is None:
            return hands
        redo = [i for i, (hand, turn) in enumerate(zip(hands, turns))
                if not math.isnan(turn) and reread[i] and hand.mean_confidence < CARRIED_REREAD_BELOW]
        if not redo:
            return hands
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        again = self.detector.estimate(image, boxes[redo], upright_pass=False, aligned=True,
                                       rotations_deg=np.full(len(redo), np.nan), reread=np.ones(len(redo), bool))
        hands = list(hands)
        for j, (i, hand) in enumerate(zip(redo, again)):
            if hand.mean_confidence > hands[i].mean_confidence:
                hands[i], rotations[i] = hand, self.detector.last_crop_rotations[j]
        return hands

    def _recropped(self, image: np.ndarray, boxes: np.ndarray, scores: list[float | None], hands: list[Hand],
                   rotations: np.ndarray, aligned: bool) -> list[Hand]:
        """The hands, those read from their track's box (no stage-I box this frame) whose joints lie off their crop's
        centre by more than DetectorOptions.track_recrop of its side (a hand that moved faster than predicted, partly
        out of its crop) read again on a crop around their joints, turned as before; the surer read (mean joint
        confidence) kept."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        redo, again_boxes = [], []
        for i, (hand, score) in enumerate(zip(hands, scores)):
            if score is not None:
                continue
            box = joints_box(hand.keypoints, self.options.track_box_scale)
            side = max(float((boxes[i, 2:] - boxes[i, :2]).max()), 1.0)
            if np.abs((box[:2] + box[2:] - boxes[i, :2] - boxes[i, 2:]) / 2).max() > self.options.track_recrop * side:
                redo.append(i)
                again_boxes.append(box)
        if not redo:
            return hands
        again = self.detector.estimate(image, np.array(again_boxes), upright_pass=False, aligned=aligned,
                                       rotations_deg=[float(rotations[i]) for i in redo],
                                       reread=np.ones(len(redo), bool))
        hands = list(hands)
        for i, hand in zip(redo, again):
            if hand.mean_confidence > hands[i].mean_confidence:
                hands[i] = hand
        return hands

    def _same_hand_tracks(self, hands: list[Hand]) -> set[int]:
        """End the younger of two tracks whose hands on this frame repeat each other's joints (one hand followed
        twice: DetectorOptions.joint_nms, as detect() drops the less sure); returns the ended ids."""
        if len(hands) < 2 or not self.options.joint_nms:
            return set()
        ids = np.array([h.track_id for h in hands])
        keep = joint_nms(np.array([h.keypoints for h in hands]), np.array([h.confidence for h in hands]),
                         self.options.joint_nms, rank=-ids)
        ended = set(int(t) for t in np.delete(ids, keep))
        for track_id in ended:
            self.tracks.remove(track_id)
        return ended

    @staticmethod
    def _rotation(track: Track, aligned: bool, hold: bool = False) -> float:
        """The degrees a followed hand's crop is turned: with any_angle its angle on the last frame (the aligned
        network's joints), NaN for a new hand (the orientation network's); else Track.rotation (upright_pass). hold
        (DetectorOptions.track_hold): the angle held while the hand turns under HOLD_ANGLE from it."""
        if aligned and not (ANY_ANGLE_CARRY and track.angle_known):
            return float("nan")
        held = track.held_angle
        if hold and held is not None and abs((track.rotation - held + 180) % 360 - 180) < HOLD_ANGLE:
            return held
        track.held_angle = track.rotation
        return track.rotation

    def _voted(self, scores: list[float | None], hands: list[Hand], image: np.ndarray) -> set[int]:
        """The indices of the hands stage I scored on this frame (score not None) that detect()'s vote passes at
        track()'s threshold (HandJointDetector.vote_passes; Hand.box still stage I's box). They are voted on together,
        as detect() votes on a frame's boxes: the learnt vote compares each box with the others (vote.inside_larger)."""
        scored = [i for i, score in enumerate(scores) if score is not None]
        if not scored:
            return set()
        passed = self.detector.vote_passes([scores[i] for i in scored], [hands[i] for i in scored],
                                           (image.shape[1], image.shape[0]), tracking=True)
        return {scored[k] for k in passed}

    def _finish(self, hand: Hand, track_id: int, score: float | None, t: float) -> Hand:
        """The Hand as returned: its id, score, the track's handedness, and smoothed joints when smoothing is on."""
        keypoints = hand.keypoints
        track = self.tracks.get(track_id)
        handedness = {}
        if hand.right_probability is not None:
            label, probability = Hand.handedness_of(track.observe_handedness(hand.right_probability))
            handedness = {"handedness": label, "handedness_score": probability}
        if self.options.smoothing:
            if track.smoother is None:
                o = self.options
                track.smoother = OneEuroFilter(o.smooth_min_cutoff, o.smooth_beta, o.smooth_d_cutoff, shared_speed=True)
            # The hand's speed in hand sizes per second: the same smoothing for a hand near the camera and far away.
            size = float((keypoints.max(axis=0) - keypoints.min(axis=0)).max())
            keypoints = track.smoother(keypoints, t, scale=max(size, 1.0)).astype(np.float32)
        return replace(hand, keypoints=keypoints, track_id=track_id,
                       score=hand.mean_confidence if score is None else score, **handedness)
