"""Stage II's vote, learnt: which of stage I's boxes are hands, from the box and the joints stage II reads in it.

The linear vote (postprocess.verify_hands) weighs two numbers, stage I's box score and the mean joint confidence.
The learnt vote (DetectorOptions.vote "learned", the default with the shipped networks) weighs a few more that the
runtime already has: how the 21 confidences spread (their least, most, median and share of sure joints, not their
mean alone), whether the box touches the frame edge (a cut hand shows few joints), the box's size in the frame and
how much of it the joints fill, and (since session 40) how much of the box lies inside a larger box of the same
frame (a finger, a knuckle or the edge of a hand stage I also boxed whole). It is a logistic regression
(VOTE_FEATURES, then standardised, weights and a bias), fitted by benchmarks/fit_vote.py on the fit frames of
benchmarks/fit_box_threshold.py plus drawn faces (since session 37 some in real hands' skin), and stored beside the
networks it was fitted for (weights/vote.json). On model_eval's check frames it raises the F1 pooled over composed
frames, photos, turned photos and drawn faces 0.923 -> 0.939 with session 40's features at P(hand) 0.5 (0.935
without inside_larger) for session 39's networks (0.922 -> 0.931 for session 37's, 0.926 -> 0.934 for session 36's;
benchmarks/RESULTS.md sections 31, 33, 37).

NumPy and the package's box geometry (postprocess) only: the runtime imports it with any backend.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .postprocess import box_inside

VOTE_FILENAME = "vote.json"
VOTE_FORMAT = 1
# What each column of vote_features() is; the file stores them and a file with others is refused.
VOTE_FEATURES = ("box_score", "mean_confidence", "median_confidence", "min_confidence", "max_confidence",
                 "confidence_spread", "sure_share", "at_frame_edge", "log_size", "log_fill",
                 "score_x_confidence", "edge_x_confidence", "edge_x_score", "inside_larger")
SURE_JOINT = 0.5          # sure_share: the share of joints read at least this sure
EDGE_PX = 2.0             # at_frame_edge: a box side within this many pixels of the frame's border (or beyond it)


def inside_larger(boxes: np.ndarray) -> np.ndarray:
    """(N,) float64 0..1: per box, the largest share of its area that lies inside another, larger box of ``boxes``
    (N, 4) x0, y0, x1, y1 (0 when none is larger). Why: stage I boxes parts of a hand it also boxes whole (a finger, a
    knuckle, the edge of a fist close to the camera), and stage II reads a squeezed hand in such a part; a hand held in
    front of a larger one lies inside it too, so the vote weighs this against the box's own evidence (session 40,
    benchmarks/RESULTS.md section 40)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    area = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    share = box_inside(b, b).T                              # [i, j]: the share of box i inside box j
    share[~(area[None, :] > area[:, None])] = 0.0           # only larger boxes (never the box itself)
    return share.max(axis=1, initial=0.0)


def vote_features(box_scores, boxes, keypoints, confidence, frame_size: tuple[int, int]) -> np.ndarray:
    """(N, len(VOTE_FEATURES)) float64 per stage-I box: box_scores (N,) 0..1, boxes (N, 4) x0, y0, x1, y1 frame pixels
    (stage I's boxes, before refine_boxes), keypoints (N, 21, 2) frame pixels and confidence (N, 21) 0..1 as stage II
    read them, frame_size (width, height). The boxes are one frame's, voted on together: inside_larger compares them
    with each other."""
    s = np.asarray(box_scores, np.float64).reshape(-1)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    k = np.asarray(keypoints, np.float64).reshape(-1, 21, 2)
    c = np.asarray(confidence, np.float64).reshape(-1, 21)
    if not len(s) == len(b) == len(k) == len(c):
        raise ValueError(f"vote_features needs one box score, box, 21 joints and 21 confidences per hand, got "
                         f"{len(s)}, {len(b)}, {len(k)} and {len(c)}")
    width, height = frame_size
    ordered = np.sort(c, axis=1)
    joints_area = np.prod(np.maximum(k.max(axis=1) - k.min(axis=1), 1.0), axis=1)
    box_area = np.prod(np.maximum(b[:, 2:] - b[:, :2], 1.0), axis=1)
    long_side = np.maximum(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), 1.0)
    edge = ((b[:, 0] <= EDGE_PX) | (b[:, 1] <= EDGE_PX) | (b[:, 2] >= width - EDGE_PX)
            | (b[:, 3] >= height - EDGE_PX)).astype(np.float64)
    mean = c.mean(axis=1)
    return np.stack([s, mean, ordered[:, 10], ordered[:, 0], ordered[:, -1], c.std(axis=1),
                     (c >= SURE_JOINT).mean(axis=1), edge, np.log(long_side / min(width, height)),
                     np.log(joints_area / box_area), s * mean, edge * mean, edge * s, inside_larger(b)], axis=1)


@dataclass(frozen=True)
class LearnedVote:
    """A fitted vote. center, scale, weights: (len(VOTE_FEATURES),) the features' standardisation and the
    regression's weights; bias; threshold: P(hand) at or above which a box is reported (detect()); track_threshold:
    the same in track()'s vote on stage-I frames (lower: there a false track faces the vote again on the next
    stage-I frame, a missed hand is unseen until then; tracking.TRACK_VOTE_MARGIN for the linear vote);
    reread_score, track_reread_score: the stage-I score from which any_angle reads a doubtful box again in detect()
    and in track() (the linear vote's reach, detector.vote_reachable: a P(hand) reach at confident joints read
    15-40 % more crops for one more composed hand of 634, benchmarks/RESULTS.md section 31); models: {stage:
    sha256 of the ONNX file} it was fitted with (the detector uses it with the shipped networks only)."""
    center: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    track_threshold: float
    reread_score: float
    track_reread_score: float
    models: dict

    def probability(self, features: np.ndarray) -> np.ndarray:
        """(N, F) vote_features -> (N,) float64 P(the box is a hand)."""
        z = (np.asarray(features, np.float64) - np.asarray(self.center)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    def passes(self, box_scores, boxes, keypoints, confidence, frame_size, tracking: bool = False) -> np.ndarray:
        """Indices (ascending) of the boxes whose P(hand) reaches threshold (track_threshold with ``tracking``)."""
        p = self.probability(vote_features(box_scores, boxes, keypoints, confidence, frame_size))
        return np.flatnonzero(p >= (self.track_threshold if tracking else self.threshold))

    def reachable(self, box_scores, tracking: bool = False) -> np.ndarray:
        """(N,) bools: the stage-I boxes worth any_angle's second readings (score >= reread_score, or
        track_reread_score with ``tracking``)."""
        scores = np.asarray(box_scores, np.float64).reshape(-1)
        return scores >= (self.track_reread_score if tracking else self.reread_score)

    def to_dict(self) -> dict:
        return {"format": VOTE_FORMAT, "features": list(VOTE_FEATURES), "center": list(self.center),
                "scale": list(self.scale), "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "track_threshold": self.track_threshold,
                "reread_score": self.reread_score, "track_reread_score": self.track_reread_score,
                "models": dict(self.models)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "vote") -> "LearnedVote":
        if data.get("format") != VOTE_FORMAT or tuple(data.get("features", ())) != VOTE_FEATURES:
            raise ValueError(f"{source} is not a vote file of this version (format {data.get('format')!r}, features "
                             f"{data.get('features')!r}); fit one with benchmarks/fit_vote.py")
        n = len(VOTE_FEATURES)
        vectors = [tuple(float(v) for v in data.get(key, ())) for key in ("center", "scale", "weights")]
        if any(len(v) != n for v in vectors) or min(vectors[1]) <= 0:
            raise ValueError(f"{source}: center, scale and weights must hold {n} numbers each, scale > 0")
        try:
            thresholds = tuple(float(data[key]) for key in ("threshold", "track_threshold", "reread_score",
                                                            "track_reread_score"))
        except KeyError as missing:
            raise ValueError(f"{source} lacks {missing}; fit it again with benchmarks/fit_vote.py") from None
        if not all(0.0 <= t <= 1.0 for t in thresholds):
            raise ValueError(f"{source}: threshold, track_threshold, reread_score and track_reread_score must be in "
                             f"0..1, got {thresholds}")
        return cls(*vectors, float(data["bias"]), *thresholds, dict(data.get("models", {})))


def load_vote(path: str | Path) -> LearnedVote:
    """The LearnedVote in a vote.json; FileNotFoundError or ValueError naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vote file at {path}; fit one with benchmarks/fit_vote.py or use vote='linear'")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a vote file (not JSON: {error}); fit one with benchmarks/fit_vote.py") \
            from None
    return LearnedVote.from_dict(data, str(path))


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3, steps: int = 3000,
                 rate: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Logistic regression by gradient descent on standardised features: (center, scale, weights, bias).
    features (N, F), labels (N,) 0/1; l2 shrinks the weights (not the bias)."""
    x = np.asarray(features, np.float64)
    y = np.asarray(labels, np.float64).reshape(-1)
    if x.ndim != 2 or len(x) != len(y) or not len(y) or y.min() == y.max():
        raise ValueError(f"fit_logistic needs (N, F) features and N labels of both kinds, got {x.shape} and "
                         f"{y.shape} with {int(y.sum())} positives")
    center, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - center) / scale
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        error = 1.0 / (1.0 + np.exp(-(z @ weights + bias))) - y
        weights -= rate * (z.T @ error / len(y) + l2 * weights)
        bias -= rate * float(error.mean())
    return center, scale, weights, bias
