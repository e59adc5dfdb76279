"""The runtime's options and results: small dataclasses, the same whichever backend ran."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

BACKEND_CHOICES = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISION_CHOICES = ("fp32", "fp16", "int8")


# The shipped models' operating point, fitted together for the best F1 at IoU 0.5 on composed val frames of the
# timing table's five sizes plus 640x480 and real val photos run whole (`python benchmarks/fit_box_threshold.py`;
# its output and benchmarks/results/box_threshold.json give the figures). Re-fit whenever either model is
# retrained. Stage I proposes the peaks scoring >= BOX_THRESHOLD; stage II runs on them; detect() reports a
# proposed hand when (box score + CONFIDENCE_WEIGHT x mean joint confidence) / (1 + CONFIDENCE_WEIGHT) >=
# HAND_THRESHOLD (postprocess.verify_hands) and its mean joint confidence >= MIN_HAND_CONFIDENCE. Until session
# 15 the two stages voted apart (box score >= 0.30, then confidence >= 0.15): a hand cut by the frame edge that
# stage I was sure of fell under the floor, and a doubtful box with middling joints passed.
# Session 22 refitted HAND_THRESHOLD for DetectorOptions.any_angle's default (the aligned network's joints, read
# again when unsure, are surer on false boxes too): 0.37 -> 0.41, fit-set F1 0.933 -> 0.935 (check set 0.941 ->
# 0.945); the plain network (any_angle=False) scores the same at both (fit 0.932 / 0.930, check 0.947 / 0.948;
# benchmarks/results/fit_plain/ holds its session-17 fit).
# Session 23 added whole val photos turned 90 / 180 / 270 degrees to the fit (fit_box_threshold.py --turned): stage
# I scores turned hands lower (0.80 of those turned 90 have a matching box at >= 0.30, 0.94 at >= 0.10) and
# any_angle's stage II is sure of them, so the vote now also decides the boxes from 0.15: BOX_THRESHOLD 0.30 -> 0.15,
# HAND_THRESHOLD 0.41 -> 0.44. Fit set F1 0.931 -> 0.939 (turned photos' recall 0.902 -> 0.960, upright photos
# 0.980 -> 0.992, composed frames the same; benchmarks/results/box_threshold.*); check set 0.929 -> 0.939
# (benchmarks/results/fit_turned_check/). The plain network (any_angle=False) gains too: fit F1 0.918 -> 0.926
# (its own best 0.928 at 0.15 / 0.37; benchmarks/results/fit_turned_plain/). Doubtful boxes cost readings:
# detector.REREAD_REACH.
BOX_THRESHOLD = 0.15
CONFIDENCE_WEIGHT = 0.5
HAND_THRESHOLD = 0.44
MIN_HAND_CONFIDENCE = 0.0
# Hand.box of a hand stage I found: stage I's box moved towards the box of stage II's joints, by BOX_REFINE at
# most, the more the surer the joints (the move ramps up over mean joint confidences BOX_REFINE_RAMP; below its
# low end stage I's box stays; postprocess.refine_boxes). Stage I's boxes fit the tight box of MediaPipe's joints
# on real photos by a mean IoU of 0.77, stage II's joints' box by 0.88, but on composed frames, with synthetic
# hands and hands partly under another, the joints' box is the worse one where stage II is unsure. Fitted with the
# operating point (benchmarks/fit_box_threshold.py, session 16): check-set F1 0.936 -> 0.946, all real val
# photos' recall / precision 0.961 / 0.936 -> 0.978 / 0.953, composed frames unchanged (part of it is the clipping of
# the boxes to the frame that refine_boxes also does: at weight 0, fit-set photos 0.958 / 0.941 -> 0.970 / 0.953).
BOX_REFINE = 0.5
BOX_REFINE_RAMP = (0.6, 0.9)
# Stage-I boxes whose long side is under this many frame pixels are dropped (benchmarks/box_sizes.py): none of
# the hands the shipped localizer found on composed frames or real photos was that small, and 17 of its 85 false
# hands on 600 real val photos were (fingertips and borders taken for tiny hands; RESULTS.md section 7). From
# 16 px up, composed frames hold real hands; 16 px is two thirds of the smallest hand the product supports.
MIN_BOX_SIZE = 16.0
# Two reported hands whose joints lie, at the median, within this fraction of the surer one's size of its joints are
# one hand found twice (postprocess.joint_nms): the less sure is dropped. Stage I can box one hand twice (the whole
# hand and its fingers, or with and without its arm) with too little IoU for box NMS; stage II then draws both
# skeletons on the same fingers. Chosen in session 25 on a fit set (val photos 600-1,600 upright and 500 of them
# turned 90 / 180 / 270, 200 composed frames per size at seed 5): of 1,348 pairs of different hands both found, the
# closest were 0.17 and 0.26 apart; at 0.15 no found hand was lost there, and on model_eval's frames (a check set)
# none either, precision on whole photos 0.937 -> 0.944 and on turned photos 0.908-0.925 -> 0.929-0.942
# (benchmarks/RESULTS.md section 19).
JOINT_NMS = 0.15
# When stage I's boxes give no hand (none passes stage II's vote), detect() looks again with stage I's input shrunk
# to this fraction of its long side (detector.HandJointDetector.retry_long_side): a hand close to the camera, filling
# the frame, is more than the localizer takes in at its usual scale, and shows at a coarser one. Frames with a hand
# found at the first look pay nothing. Session 25 (benchmarks/retry_scale.py, RESULTS.md section 20): on a fit set
# (val photos 600 on, whole, turned and blown up to hands 0.15-1.1 of a 640x480 frame's height; composed frames at
# seed 5) 0.5, 0.67 and 0.75 tie (pooled F1 0.951 / 0.950 / 0.951 against 0.942 off); 0.67 costs a hand-free
# 640x480 frame least (1.6x against 2.8x and 1.7x: a coarser look proposes more false boxes for stage II to read).
RETRY_SCALE = 0.67
# DetectorOptions.track_recrop: in track(), a hand read from its track's box whose joints lie off its crop's centre by
# more than this fraction of the crop's side is read again on a crop around its joints. Session 26, on track_eval.py's
# moving hands (30 sequences of 60 frames, refind_lost on): 0.1 / 0.2 / 0.3 F1 -0.3 / +0.8 / -0.2 points (0.1 reads
# 12 % of frames twice and follows more false hands); camera pans 0.15-0.25 within +-0.3; checked at 0.2 on moving
# hands at another seed (RESULTS.md section 21).
TRACK_RECROP = 0.2
# DetectorOptions.unseen_confidence: in track(), on a frame stage I ran, a followed hand that none of its boxes matched
# goes on only with mean joint confidence >= this. Session 26, chosen on track_eval.py's sequences at other seeds (20
# each, moving hands upright and at any angle at seed 777, camera pans at 778), against 0 (lost_confidence alone):
# 0.6 / 0.7 / 0.8 / 0.9 F1 at any angle 0.928 -> 0.949 / 0.952 / 0.952 / 0.952, upright 0.933 -> 0.938 (0.6-0.9),
# pans 0.848 -> 0.849 / - / 0.852 / -; checked on track_eval.py's own sequences (RESULTS.md section 21).
UNSEEN_CONFIDENCE = 0.8


@dataclass
class Hand:
    """One detected hand, in frame pixels.

    box: (x0, y0, x1, y1) float, frame pixels (continuous coordinates, preprocess.py).
    score: float 0..1, the hand's detection score (stage I), or the mean joint confidence when the box
        was given by the caller or came from tracking.
    keypoints: (21, 2) float32, frame pixels, canonical joint order (skeleton.HandJoint).
    confidence: (21,) float32 0..1, per joint, from the heatmap spread (METHOD.md eq. 12).
    track_id: int, stable across frames in tracking mode; -1 for single images.
    handedness: 'left' or 'right', the person's hand as a camera sees it (set DetectorOptions.mirrored for
        mirror-image frames such as a selfie preview); None when the hand model has no handedness output.
        In tracking mode, the track's running verdict (tracking.py), steadier than one frame's.
    handedness_score: float 0.5..1, the probability of that label (0.0 when handedness is None).
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray
    confidence: np.ndarray
    track_id: int = -1
    handedness: str | None = None
    handedness_score: float = 0.0

    @classmethod
    def handedness_of(cls, right_probability: float | None) -> tuple[str | None, float]:
        """(label, its probability) from P(right hand); (None, 0.0) when unknown."""
        if right_probability is None:
            return None, 0.0
        p = float(right_probability)
        return ("right", p) if p >= 0.5 else ("left", 1.0 - p)

    @property
    def right_probability(self) -> float | None:
        """P(right hand), 0..1 (the inverse of handedness_of); None when handedness is unknown."""
        if self.handedness is None:
            return None
        return self.handedness_score if self.handedness == "right" else 1.0 - self.handedness_score

    @property
    def mean_confidence(self) -> float:
        """Mean of the 21 joint confidences, 0..1."""
        return float(np.mean(self.confidence)) if np.size(self.confidence) else 0.0

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "box": [float(v) for v in self.box],
            "score": float(self.score),
            "keypoints": np.asarray(self.keypoints, float).round(2).tolist(),
            "confidence": np.asarray(self.confidence, float).round(4).tolist(),
            "track_id": int(self.track_id),
            "handedness": self.handedness,
            "handedness_score": round(float(self.handedness_score), 4),
        }


@dataclass
class DetectorOptions:
    """How a HandJointDetector runs.

    backend: 'auto' (TensorRT when it and a GPU are present, else ONNX Runtime), 'tensorrt',
        'onnxruntime' or 'torch'.
    precision: 'fp32', 'fp16' (TensorRT) or 'int8' (the Q/DQ models; TensorRT or ONNX Runtime).
    localizer_model / hand_model: ONNX files (for 'torch': a trainer checkpoint, or an ONNX file with a
        sibling checkpoint of the same stem, ``hand.onnx`` + ``hand.pt``); None = the shipped models.
    max_hands: at most this many hands per frame (the highest scores win).
    box_threshold: minimum stage-I score of a proposed hand, 0..1: the peaks stage II runs on (each costs a
        crop of stage-II work). Part of the shipped models' fitted operating point with confidence_weight and
        hand_threshold (benchmarks/fit_box_threshold.py).
    nms_iou: boxes overlapping more than this IoU are merged by non-maximum suppression.
    nms_nested: also drop a box lying more than this fraction inside a better one, 0..1 (None = off): a
        knuckle or a ring found inside its own hand overlaps it by a small IoU. 0.9 raises precision on real
        photos; it can merge a small hand held in front of a larger one (benchmarks/RESULTS.md).
    min_box_size: stage I drops a box whose long side is under this many frame pixels (0 = off): such
        boxes were fingertips and frame borders, never hands, on the shipped models' val frames and photos
        (MIN_BOX_SIZE). Not applied to boxes you pass to detect(boxes=...).
    joint_nms: after stage II, a found hand whose joints lie (median over the 21) within this fraction of a surer
        hand's size of that hand's joints is the same hand found twice and is dropped, 0..1 (0 = off; JOINT_NMS,
        postprocess.joint_nms). Not applied to boxes you pass to detect(boxes=...). In track() the younger of two
        such tracks ends.
    retry_scale: when stage I's boxes give detect() no hand, stage I looks once more with its input's long side
        shrunk to this fraction (a multiple of 32, at least 128 px) and stage II reads what it finds there: hands
        close to the camera, filling the frame (RETRY_SCALE). 0 = off. track() takes it on a stage-I frame where
        no hand is followed and none is found; the Triton pipeline as detect() does.
    hand_threshold, confidence_weight: detect() reports a hand proposed by stage I when (its box score +
        confidence_weight x its mean joint confidence) / (1 + confidence_weight) >= hand_threshold, both 0..1
        (postprocess.verify_hands): stage II's joints vote with stage I's score, so a box stage I is sure of
        survives a hand cut by the frame edge (few sure joints) and a doubtful box needs sure joints. Raise
        hand_threshold for fewer false hands, lower it for fewer missed ones; confidence_weight 0 and
        hand_threshold <= box_threshold turn stage II's vote off. The defaults are the fitted operating point
        (HAND_THRESHOLD, CONFIDENCE_WEIGHT): on 3,501 check frames, F1 0.927 -> 0.936 against the two
        stages voting apart (benchmarks/RESULTS.md section 7).
    min_hand_confidence: also drop a proposed hand whose mean joint confidence is below this, 0..1 (0 = off,
        the default: hand_threshold already weighs the joints).
        None of the three applies to boxes you pass to detect(boxes=...); in track() the vote (at
        tracking.TRACK_VOTE_MARGIN under hand_threshold) decides which stage-I boxes start a track and, on frames
        stage I runs, which tracks go on; in between a track ends below lost_confidence.
    vote: how stage II confirms stage I's boxes. "linear": the vote above (hand_threshold, confidence_weight,
        min_hand_confidence). "learned": a logistic regression on the box score, the 21 joint confidences' spread,
        the box's size, whether it touches the frame edge, how much of it the joints fill and how much of it lies
        inside a larger box of the same frame (handjoints_trt/vote.py; a frame's boxes are voted on together),
        fitted for the shipped networks (weights/vote.json, benchmarks/fit_vote.py): a box is reported when P(hand)
        >= vote_threshold. None (the default) = "learned" with the shipped networks
        and any_angle, else "linear" (the fit holds for those networks only). On model_eval's check frames against
        the linear vote, session 40's vote: hands reported on 300 frames of drawn faces in real skin 26 -> 6, turned
        photos' recall +3.7 points (precision +0.9), composed frames' recall -1.1 (precision +0.4), upright photos'
        recall +0.6 (precision +0.8) (benchmarks/RESULTS.md sections 31, 33, 40). track() votes at the file's
        track_threshold (0.05 lower, moved with vote_threshold), on the boxes stage I scored on a frame together.
        The Triton pipeline reads with the plain network and keeps the linear vote. The INT8 models use the vote
        fitted on the FP32 ones.
    vote_threshold: the learned vote's P(hand) threshold, 0..1 (None = the fitted one, vote.json's threshold).
        Raise it for fewer false hands, lower it for fewer missed ones.
    box_refine: how far Hand.box of a hand stage I found moves from stage I's box towards the tight box of
        stage II's joints, 0..1 (0 = stage I's box as found; 1 = the joints' box for hands whose joints are
        sure). The move scales with the mean joint confidence over BOX_REFINE_RAMP, so a doubtful hand keeps
        stage I's box (postprocess.refine_boxes). The default BOX_REFINE is fitted with the operating point:
        on all real val photos recall / precision at IoU 0.5 0.961 / 0.936 -> 0.978 / 0.953 (RESULTS.md
        section 7). Boxes you pass to detect(boxes=...) come back as given; in track() every Hand.box is refined.
    localizer_size: the localizer input. An int is its long side in pixels: the short side follows the
        frame's aspect ratio, rounded up to a multiple of 32 (1280x720 at 384 -> 384x224). A (width,
        height) pair fixes the input (letterboxed). None = automatic (detector.auto_long_side): the long
        side stored in the model (384) for frames up to 640 px, 640 for larger ones (720x576 -> 640x512,
        1280x720 -> 640x384), so that small hands in HD frames stay big enough for stage I to find. 512 at
        640x480 finds more hands (composed val frames: recall 0.848 -> 0.892 at the same precision) for ~1.7x the
        stage-I time, 1.3x the whole frame's (benchmarks/RESULTS.md, section 8).
    flip_test: stage II also runs on each crop mirrored left-right and averages the two heatmaps (the
        mirror's mirrored back; a joint keeps its name in a mirror): PCK@0.2 +0.5 points on real photos and
        +1.6 on synthetic hands, for twice the stage-II work: 640x480 with one hand 1.24-1.34x the time,
        four hands 1.27-1.40x (benchmarks/flip_test.py, RESULTS.md section 7). Off by default: on a slow day of this
        shared machine one hand would pass the 15 ms budget.
    upright_pass: [ours] False (the default), True or "track". A hand held turned (its wrist -> middle knuckle
        over 30 degrees from pointing up: sideways, down) gets stage II a second time on a crop turned so that it
        points up; the joints of the surer pass (mean confidence) are kept, its left / right is both passes' mean.
        The network learnt mostly upright hands: on real val photos turned 90 / 180 / 270 degrees PCK@0.2
        0.78 / 0.71 / 0.75 -> 0.90 / 0.91 / 0.91 (upright 0.967 -> 0.965; RESULTS.md section 14). The price is one
        more stage-II run per turned hand (a 640x480 frame with one turned hand 1.55x slower on this CPU), and on
        upright hands a little: gestures held sideways get the pass too, and its surer joints are not always
        better. In track() a hand whose upright crop won is cropped turned by its last angle on the next frame,
        one run per frame while it stays turned. "track" does the pass in track() only, True in detect() and
        estimate() too; a tracked hand whose plain crop beat the pass waits 15 frames before it is tried again.
        Measured in track() (track_eval.py, "track" against False): moving hands held at any angle PCK@0.2
        0.72 -> 0.84, recall 0.89 -> 0.91 in the same time; held upright (a webcam) 0.816 -> 0.814 for 1.09x the
        time; camera pans over composed frames precision 0.937 -> 0.917. Hence off by default: turn it on where
        hands are seen turned (a robot's, a ceiling or a table-top camera).
    any_angle: [ours] None (the default), True, False or "track": stand every hand upright before stage II
        (MediaPipe's design; session 21, the default since session 22). A small third network (orientation_model)
        reads from each hand's upright crop which way it points, the hand is cropped again turned by that angle,
        and a hand network trained on crops stood upright (aligned_model) gives its joints; a hand it stays unsure
        of is read by the plain hand network (hand_model) on its upright crop too, the surer kept
        (detector.PLAIN_BELOW). In track() a followed hand is cropped turned by its joints' angle on the last
        frame, the direction network asked only for new hands. None: True with the shipped hand network (the
        shipped direction and aligned networks were made for it), False with another hand_model. "track": in
        track() only, detect() keeps the plain network. On 900 val photos' labelled boxes PCK@0.2 upright 0.966 ->
        0.965, turned 90 / 180 / 270 0.72-0.79 -> 0.95, for 1.06-1.08x the time of a 640x480 frame with one hand
        (benchmarks/RESULTS.md sections 15-16).
    orientation_model / aligned_model: any_angle's hand-direction network and aligned hand network, ONNX files
        (None = the shipped orientation.onnx and hand_aligned.onnx; both read hand_model's crops). Under precision
        'int8' the shipped hand_aligned.int8.onnx runs; the direction network has no INT8 file (its float one
        runs).
    mirrored: the frames are mirror images (a selfie preview flipped left-right, as many webcam apps show):
        Hand.handedness is swapped so that it stays the person's hand. Joints and boxes are unaffected.
    threads: CPU threads for ONNX Runtime / PyTorch (0 = library default).
    engine_cache: folder for TensorRT engines; None = ~/.cache/handjoints_trt/engines.
    max_batch: most hand crops per stage-II call (larger sets run in chunks); 0 = the backend's limit.
    device: for the 'torch' backend: 'auto', 'cpu' or 'cuda[:N]'.
    extra: more keyword arguments for both backend sessions, as-is: e.g. ``{"spin_wait": "run"}`` lets ONNX
        Runtime's threads busy-wait within a run, 1.07-1.19x faster per frame on cores left to the detector,
        slower beside other busy processes (backends/onnxruntime.py, benchmarks/ort_spin.py).

    Tracking (HandJointDetector.track / tracking.HandTracker):
    redetect_interval: run stage I at least every this many frames (1 = every frame).
    new_hand_interval: while fewer than max_hands are tracked, run stage I every this many frames (a new
        hand may have entered).
    lost_confidence: on a frame stage I did not run on, a track whose mean joint confidence falls below this is
        lost; where stage I ran and scored it, detect()'s vote decides instead.
    track_recrop: a followed hand read from its track's box (no stage-I box for it this frame) whose joints' box lies
        off the centre of the crop it was read from by more than this fraction of the crop's side (it moved faster
        than its track predicted, partly out of the crop) is read again on a crop around its joints, the surer read
        kept, 0..1 (0 = off; TRACK_RECROP). On labelled video of moving hands F1 +0.3 to +0.9 points, PCK@0.2 +0.6
        to +1.0, for a second read on 6-9 % of frames; camera pans unchanged (benchmarks/RESULTS.md section 21).
    unseen_confidence: on a frame stage I ran, a followed hand that none of its boxes matched goes on only if its
        mean joint confidence is at least this, 0..1 (UNSEEN_CONFIDENCE; lost_confidence alone before session 26): a
        track that drifted off its hand onto background keeps middling joints, and stage I does not see a hand
        there. On labelled video precision +0 to +3.4 points, recall unchanged or higher (RESULTS.md section 21).
        Since session 40 the same holds on a frame stage I skips for a followed hand that track_window's look around
        it does not find (tracking.WINDOW_UNSEEN; RESULTS.md section 39).
    refind_lost: when a track is lost on a frame stage I did not run on, stage I runs on that same frame for the
        hands it may find away from the followed ones (a hand that moved out of its crop: it comes back on the frame
        it was lost, with its id when near its last box); False = on the next frame, as before session 26. The
        stage-I schedule is unchanged. On labelled video (benchmarks/track_eval.py) recall +0.9 to +2.6 points for
        +15 % stage-I runs, precision -0.4 to -0.9 (benchmarks/RESULTS.md section 21).
    track_window: on a frame stage I skips, stage I runs on a square window 2.5 times each followed hand's predicted
        box around it (tracking.WINDOW_FACTOR), drawn at this many pixels (a multiple of 32, 128..1280; 0 = off), and
        the hand's crop moves halfway (tracking.WINDOW_BLEND) from the prediction to the box there that overlaps it
        at IoU >= tracking.WINDOW_IOU (0.3 since session 39, 0.5 before); a hand with no such box there must pass
        unseen_confidence to go on (tracking.WINDOW_UNSEEN, since session 40). Steadier crops than the last frame's
        joints alone give. On by default at 192 since session 28
        (off before): on labelled video (track_eval.py, RESULTS.md section 23) jitter -27 to -40 %, joint error -8 to
        -15 % and PCK@0.2 +1.4 to +2.4 points on real photos held still and panned; PCK@0.2 lower on none of ten
        sets; for 1.00-1.36x the median frame time (about 2.6 ms per followed hand at 640x480 on a 2-core CPU); 0
        where that time matters more.
    track_hold: on a frame stage I skips, a followed hand's crop stays as it was while the hand moves under 3 % of
        its box's side, its box's side changes under 5 % and it turns under 5 degrees (tracking.HOLD_SHIFT /
        HOLD_SIZE / HOLD_ANGLE); past any of them the crop follows the joints again. A crop that follows the last
        joints never settles on a still hand, so neither do the joints read from it. On by default since session 29
        (off before): on labelled video (track_eval.py, RESULTS.md section 24) jitter lower on 11 of 12 sets (real
        photos held still -30 %), PCK@0.2 within -0.7 to +1.2 points, at no cost in time; False gives session 28's
        tracker.
    track_box_scale: the next frame's box is the box of the joints, enlarged by this factor about its
        centre (crop_hands adds its own margin on top).
    smoothing: One-Euro smoothing of the tracked joints (tracking.OneEuroFilter, one cut-off per hand from its speed;
        on by default since session 27, off before);
        smooth_min_cutoff (Hz) the cut-off of a hand at rest, smooth_beta the cut-off added per unit of its speed in
        hand sizes per second (the longer side of its joints' box; in pixels per second before session 27, 0.05
        then), smooth_d_cutoff (Hz) the cut-off of that speed, with frames 1/fps seconds apart (fps: frames per
        second assumed when update() is given no timestamp). Session 27's values (1, 10, 4), fitted on labelled
        video with camera noise (benchmarks/track_eval.py) and checked on other sequences: the joints' jitter -29 to
        -35 % on hands held still (their error -1 to -2 %), -12 % on moving hands (their error +1 to +2 %; RESULTS.md
        section 22). Lower smooth_beta or smooth_min_cutoff for steadier joints (a cursor) at more lag.
    """

    backend: str = "auto"
    precision: str = "fp32"
    localizer_model: Path | str | None = None
    hand_model: Path | str | None = None
    max_hands: int = 4
    box_threshold: float = BOX_THRESHOLD
    nms_iou: float = 0.4
    nms_nested: float | None = None
    min_box_size: float = MIN_BOX_SIZE
    min_hand_confidence: float = MIN_HAND_CONFIDENCE
    localizer_size: int | tuple[int, int] | None = None
    flip_test: bool = False
    threads: int = 0
    engine_cache: Path | str | None = None
    max_batch: int = 0
    device: str = "auto"
    redetect_interval: int = 30
    new_hand_interval: int = 5
    lost_confidence: float = 0.3
    track_box_scale: float = 1.1
    smoothing: bool = True
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 10.0
    smooth_d_cutoff: float = 4.0
    fps: float = 30.0
    extra: dict = field(default_factory=dict)
    # Added in session 15 after the others, so that options built positionally keep their meaning.
    hand_threshold: float = HAND_THRESHOLD
    confidence_weight: float = CONFIDENCE_WEIGHT
    # Added in session 16.
    box_refine: float = BOX_REFINE
    # Added in session 18.
    mirrored: bool = False
    # Added in session 19 (True / False); "track" since session 20.
    upright_pass: bool | str = False
    # Added in session 21 (off by default); None (on with the shipped networks) the default since session 22.
    any_angle: bool | str | None = None
    orientation_model: Path | str | None = None
    aligned_model: Path | str | None = None
    # Added in session 25.
    joint_nms: float = JOINT_NMS
    retry_scale: float = RETRY_SCALE
    # Added in session 26.
    refind_lost: bool = True
    track_recrop: float = TRACK_RECROP
    unseen_confidence: float = UNSEEN_CONFIDENCE
    # Added in session 27.
    track_window: int = 192
    # Added in session 29.
    track_hold: bool = True
    # Added in session 36.
    vote: str | None = None
    vote_threshold: float | None = None

    def resolved(self) -> "DetectorOptions":
        """These options with any_angle and vote None decided, as HandJointDetector decides them. any_angle: True
        when stage II is the shipped hand network and its direction and aligned networks are shipped beside it
        (they were made for it and read its crops), else False. vote: "learned" when any_angle is True (as decided)
        with the shipped localizer, hand and any_angle networks and the learnt vote's file is shipped beside them
        (it was fitted for them), else "linear". Options already decided come back as they are."""
        options = self
        if options.any_angle is None:
            options = replace(options, any_angle=options._shipped_any_angle())
        if options.vote is None:
            options = replace(options, vote="learned" if options._shipped_vote() else "linear")
        return options

    def _shipped_any_angle(self) -> bool:
        from .models_registry import WEIGHTS_DIR, model_filename, orientation_precision

        companions = [WEIGHTS_DIR / model_filename("orientation", orientation_precision(self.precision)),
                      WEIGHTS_DIR / model_filename("hand_aligned", self.precision)]
        return self._is_shipped(self.hand_model, "hand") and all(p.is_file() for p in companions)

    def _shipped_vote(self) -> bool:
        """Whether the learnt vote was fitted for these networks: the shipped localizer and hand network read with
        the shipped any_angle networks, and its file beside them."""
        from .models_registry import WEIGHTS_DIR
        from .vote import VOTE_FILENAME

        return (self.any_angle is True and self.orientation_model is None and self.aligned_model is None
                and self._is_shipped(self.hand_model, "hand") and self._is_shipped(self.localizer_model, "localizer")
                and (WEIGHTS_DIR / VOTE_FILENAME).is_file())

    def _is_shipped(self, path, stage: str) -> bool:
        from .models_registry import WEIGHTS_DIR, model_filename

        return path is None or Path(path).resolve() == (WEIGHTS_DIR / model_filename(stage, self.precision)).resolve()

    def any_angle_in(self, tracking: bool) -> bool:
        """Whether any_angle's aligned path runs in track() (``tracking``) or in detect() and estimate()."""
        return self.any_angle is True or (tracking and self.any_angle == "track")

    def upright_pass_in(self, tracking: bool) -> bool:
        """Whether the upright pass runs in track() (``tracking``) or in detect() and estimate()."""
        return self.upright_pass is True or (tracking and self.upright_pass == "track")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def validate(self) -> "DetectorOptions":
        """Raise ValueError naming the bad option and its allowed values; return self when all are fine."""
        if self.backend not in BACKEND_CHOICES:
            raise ValueError(f"backend must be one of {BACKEND_CHOICES}, got {self.backend!r}")
        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {self.precision!r}")
        _check_int("max_hands", self.max_hands, 1)
        _check_int("threads", self.threads, 0)
        _check_int("max_batch", self.max_batch, 0)
        _check_int("redetect_interval", self.redetect_interval, 1)
        _check_int("new_hand_interval", self.new_hand_interval, 1)
        for name in ("box_threshold", "nms_iou", "lost_confidence", "min_hand_confidence", "hand_threshold",
                     "confidence_weight", "box_refine", "joint_nms", "track_recrop", "unseen_confidence"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in 0..1, got {value!r}")
        if not isinstance(self.retry_scale, (int, float)) or isinstance(self.retry_scale, bool) \
                or not 0.0 <= self.retry_scale < 1.0:
            raise ValueError(f"retry_scale must be a fraction in 0..1 (0 = off; the second look's share of stage I's "
                             f"input side), got {self.retry_scale!r}")
        for name in ("track_box_scale", "smooth_min_cutoff", "smooth_d_cutoff", "fps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if not isinstance(self.min_box_size, (int, float)) or isinstance(self.min_box_size, bool) \
                or not self.min_box_size >= 0:
            raise ValueError(f"min_box_size must be a number of frame pixels >= 0 (0 = off), got "
                             f"{self.min_box_size!r}")
        if not (self.any_angle is None or isinstance(self.any_angle, bool) or self.any_angle == "track"):
            raise ValueError(f"any_angle must be None (on with the shipped hand network), True (detect() and track()), "
                             f"'track' (track() only) or False, got {self.any_angle!r}")
        for name in ("flip_test", "mirrored", "refind_lost", "track_hold"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.vote not in (None, "learned", "linear"):
            raise ValueError(f"vote must be None (learned with the shipped networks), 'learned' or 'linear', got "
                             f"{self.vote!r}")
        if self.vote_threshold is not None and (not isinstance(self.vote_threshold, (int, float))
                                                or isinstance(self.vote_threshold, bool)
                                                or not 0.0 <= self.vote_threshold <= 1.0):
            raise ValueError(f"vote_threshold must be None (the fitted one) or a probability in 0..1, got "
                             f"{self.vote_threshold!r}")
        if not (isinstance(self.upright_pass, bool) or self.upright_pass == "track"):
            raise ValueError(f"upright_pass must be True (detect() and track()), 'track' (track() only) or False, "
                             f"got {self.upright_pass!r}")
        if not isinstance(self.smooth_beta, (int, float)) or self.smooth_beta < 0:
            raise ValueError(f"smooth_beta must be a number >= 0, got {self.smooth_beta!r}")
        if self.nms_nested is not None and (not isinstance(self.nms_nested, (int, float))
                                            or isinstance(self.nms_nested, bool) or not 0 <= self.nms_nested <= 1):
            raise ValueError(f"nms_nested must be None (off) or a fraction in 0..1, got {self.nms_nested!r}")
        _check_localizer_size(self.localizer_size)
        if not isinstance(self.track_window, int) or isinstance(self.track_window, bool) or not (
                self.track_window == 0 or (128 <= self.track_window <= 1280 and self.track_window % 32 == 0)):
            raise ValueError(f"track_window must be 0 (off) or a window side in pixels, a multiple of 32 in 128..1280 "
                             f"(192, the default, was measured), got {self.track_window!r}")
        return self


def _check_int(name: str, value, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _check_localizer_size(size) -> None:
    """None, an int long side, or a (width, height) pair; every side a multiple of 32, >= 32."""
    if size is None:
        return
    sides = (size,) if isinstance(size, int) and not isinstance(size, bool) else tuple(size) \
        if isinstance(size, (tuple, list)) else ()
    if len(sides) not in (1, 2) or (isinstance(size, (tuple, list)) and len(sides) != 2) or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v >= 32 and v % 32 == 0 for v in sides):
        raise ValueError(f"localizer_size must be None, a long side (int) or (width, height), every side a "
                         f"multiple of 32 and >= 32 (the localizer reaches stride 32), got {size!r}")
