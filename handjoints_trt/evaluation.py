"""Evaluation: PCK / AUC / EPE of joints (METHOD.md, "Evaluation"), detection recall/precision of boxes,
Markdown tables and PCK curves. One function family serves the tests, the benchmarks and training.

PCK(sigma) = fraction of scored joints whose prediction lies within sigma * phi pixels of the ground truth,
phi = the longer side of the tight box around the hand's VISIBLE ground-truth joints (or a given normaliser).
Scored joints: visible ground truth of hands whose phi > 0 (a hand with fewer than two distinct visible joints
has no size to normalise by and is left out). A missing prediction (NaN coordinate) is a miss at every sigma.
EPE: mean end-point error in pixels over the scored joints that have a prediction.
AUC: area under PCK(sigma) for sigma in [0, 0.5], divided by 0.5 so it lies in 0..1; trapezoid rule on a
grid of step 0.001 (CURVE_SIGMAS).

NumPy only at import time; matplotlib is imported inside :func:`plot_pck_curves`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PCK_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)
PER_JOINT_SIGMA = 0.2
CURVE_MAX_SIGMA = 0.5
CURVE_SIGMAS = np.linspace(0.0, CURVE_MAX_SIGMA, 501)


# ---------------------------------------------------------------------------------------------- results
@dataclass
class PCKResult:
    """PCK of a set of hands.

    thresholds: (T,) sigmas; pck: (T,) PCK at each (NaN when count == 0).
    auc: area under the PCK curve on [0, 0.5], normalised to 0..1. epe: mean end-point error (pixels).
    per_joint: (K,) PCK at PER_JOINT_SIGMA per joint (NaN for a joint never scored).
    count: scored joints; joint_count: (K,) scored joints per joint; predicted: scored joints that had a
        prediction (EPE's denominator). curve_sigmas / curve_pck: (S,) the curve on CURVE_SIGMAS.
    An empty result (no hands, or none scorable) has count 0 and NaN pck, auc, epe, per_joint.
    """

    thresholds: np.ndarray
    pck: np.ndarray
    auc: float
    epe: float
    per_joint: np.ndarray
    count: int
    curve_sigmas: np.ndarray
    curve_pck: np.ndarray
    joint_count: np.ndarray
    predicted: int = 0

    def to_dict(self) -> dict:
        """JSON-ready summary: {'pck@0.1': ..., 'auc', 'epe', 'count', 'per_joint': [...], ...}."""
        out = {f"pck@{t:g}": _float(p) for t, p in zip(self.thresholds, self.pck)}
        out.update(auc=_float(self.auc), epe=_float(self.epe), count=int(self.count),
                   predicted=int(self.predicted), per_joint=[_float(v) for v in self.per_joint],
                   per_joint_sigma=PER_JOINT_SIGMA)
        return out

    def merge(self, other: PCKResult) -> PCKResult:
        """The result of both sets of hands together (exact: every field is a ratio of counts)."""
        if not np.array_equal(self.thresholds, other.thresholds) or \
                not np.array_equal(self.curve_sigmas, other.curve_sigmas) or \
                self.per_joint.shape != other.per_joint.shape:
            raise ValueError("other must have the same thresholds, curve sigmas and number of joints to merge, "
                             f"got thresholds {other.thresholds} vs {self.thresholds} and "
                             f"{len(other.per_joint)} vs {len(self.per_joint)} joints")
        count = self.count + other.count
        joint_count = self.joint_count + other.joint_count
        predicted = self.predicted + other.predicted
        pck = _weighted(self.pck, self.count, other.pck, other.count)
        curve = _weighted(self.curve_pck, self.count, other.curve_pck, other.count)
        return PCKResult(self.thresholds.copy(), pck, _auc(self.curve_sigmas, curve),
                         float(_weighted(self.epe, self.predicted, other.epe, other.predicted)),
                         _weighted(self.per_joint, self.joint_count, other.per_joint, other.joint_count),
                         count, self.curve_sigmas.copy(), curve, joint_count, predicted)


def _float(v) -> float | None:
    """A JSON number, or None for NaN."""
    v = float(v)
    return None if np.isnan(v) else v


def _weighted(a, wa, b, wb) -> np.ndarray:
    """(a * wa + b * wb) / (wa + wb), where a zero weight drops its (possibly NaN) value."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    wa, wb = np.asarray(wa, np.float64), np.asarray(wb, np.float64)
    total = np.where(wa > 0, a * wa, 0.0) + np.where(wb > 0, b * wb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wa + wb > 0, total / (wa + wb), np.nan)


def _auc(sigmas: np.ndarray, curve: np.ndarray) -> float:
    """Trapezoid area under curve(sigmas) divided by the sigma range (0..1); NaN for an empty curve."""
    if np.isnan(curve).any():
        return float("nan")
    return float(np.trapezoid(curve, sigmas) / (sigmas[-1] - sigmas[0]))


# ------------------------------------------------------------------------------------------ accumulating
def _check_pck_inputs(pred, gt, visible, normalizer):
    """Validate and convert: pred, gt (N, K, 2) float64, visible (N, K) bool, normalizer (N,) or None."""
    gt = np.asarray(gt, np.float64)
    if gt.ndim != 3 or gt.shape[2] != 2:
        raise ValueError(f"gt must be (N, K, 2) ground-truth (x, y) pixels, got shape {gt.shape}")
    pred = np.asarray(pred, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"pred must be (N, K, 2) = {gt.shape} like gt (NaN for a missing joint), "
                         f"got shape {pred.shape}")
    visible = np.asarray(visible)
    if visible.shape != gt.shape[:2]:
        raise ValueError(f"visible must be (N, K) = {gt.shape[:2]} bool flags, got shape {visible.shape}")
    if normalizer is not None:
        normalizer = np.asarray(normalizer, np.float64)
        if normalizer.shape != gt.shape[:1]:
            raise ValueError(f"normalizer must be (N,) = ({len(gt)},) pixels per hand, got shape "
                             f"{normalizer.shape}")
        if not np.all(np.isfinite(normalizer) & (normalizer > 0)):
            raise ValueError(f"normalizer must be finite and > 0 pixels, got {normalizer}")
    return pred, gt, visible.astype(bool), normalizer


def hand_size(gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """phi per hand: the longer side (pixels) of the tight box around its visible joints.

    gt: (N, K, 2); visible: (N, K) bool. Returns (N,) float64; 0 where at most one joint is visible.
    """
    gt = np.asarray(gt, np.float64)
    visible = np.asarray(visible, bool)[..., None]
    lo = np.where(visible, gt, np.inf).min(axis=1)
    hi = np.where(visible, gt, -np.inf).max(axis=1)
    size = (hi - lo).max(axis=1)
    return np.where(np.isfinite(size), size, 0.0)


class PCKAccumulator:
    """Collects PCK counts batch by batch (an epoch, a benchmark run) and gives one :class:`PCKResult`.

    >>> acc = PCKAccumulator()
    >>> acc.add(pred, gt, visible)   # any number of times, (N, K, 2), (N, K, 2), (N, K)
    >>> acc.result()
    """

    def __init__(self, thresholds=PCK_THRESHOLDS, per_joint_sigma: float = PER_JOINT_SIGMA):
        self.thresholds = np.asarray(thresholds, np.float64).reshape(-1)
        self.per_joint_sigma = float(per_joint_sigma)
        self.num_joints: int | None = None
        self.count = 0
        self.predicted = 0
        self.epe_sum = 0.0
        self.hits = np.zeros(len(self.thresholds), np.int64)
        self.curve_hits = np.zeros(len(CURVE_SIGMAS), np.int64)
        self.joint_hits = np.zeros(0, np.int64)
        self.joint_count = np.zeros(0, np.int64)

    def add(self, pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
            normalizer: np.ndarray | None = None) -> None:
        """Score one batch: pred, gt (N, K, 2) pixels, visible (N, K), normalizer (N,) pixels or None (phi)."""
        pred, gt, visible, normalizer = _check_pck_inputs(pred, gt, visible, normalizer)
        k = gt.shape[1]
        if self.num_joints is None:
            self.num_joints = k
            self.joint_hits = np.zeros(k, np.int64)
            self.joint_count = np.zeros(k, np.int64)
        elif k != self.num_joints:
            raise ValueError(f"gt must have K = {self.num_joints} joints like the earlier batches, got {k}")
        phi = hand_size(gt, visible) if normalizer is None else normalizer
        scored = visible & (phi > 0)[:, None]
        dist = np.linalg.norm(pred - gt, axis=2)                                  # (N, K) pixels
        has_pred = np.isfinite(dist)
        # Normalised error of the scored joints; a missing prediction is infinitely far: a miss at every sigma.
        err = np.where(has_pred, dist, np.inf) / np.where(phi > 0, phi, 1.0)[:, None]
        err = np.where(scored, err, np.nan)                                       # NaN <= x is False
        scored_err = err[scored]
        self.count += len(scored_err)
        self.predicted += int((scored & has_pred).sum())
        self.epe_sum += float(dist[scored & has_pred].sum())
        self.hits += (scored_err[:, None] <= self.thresholds[None]).sum(axis=0)
        self.curve_hits += (scored_err[:, None] <= CURVE_SIGMAS[None]).sum(axis=0)
        self.joint_count += scored.sum(axis=0)
        self.joint_hits += (err <= self.per_joint_sigma).sum(axis=0)

    def result(self) -> PCKResult:
        """The PCK of everything added so far (count 0 and NaN values when nothing was scored)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            pck = self.hits / self.count if self.count else np.full(len(self.thresholds), np.nan)
            curve = self.curve_hits / self.count if self.count else np.full(len(CURVE_SIGMAS), np.nan)
            per_joint = np.where(self.joint_count > 0, self.joint_hits / np.maximum(self.joint_count, 1), np.nan)
        epe = self.epe_sum / self.predicted if self.predicted else float("nan")
        return PCKResult(self.thresholds.copy(), pck.astype(np.float64), _auc(CURVE_SIGMAS, curve), epe,
                         per_joint.astype(np.float64), self.count, CURVE_SIGMAS.copy(), curve.astype(np.float64),
                         self.joint_count.copy(), self.predicted)


def error_jitter(prev_pred: np.ndarray, prev_gt: np.ndarray, pred: np.ndarray, gt: np.ndarray,
                 visible: np.ndarray) -> float:
    """Jitter of one hand between two consecutive video frames: the mean change of its joints' error vectors,
    ||(pred - gt) - (prev_pred - prev_gt)||, over the joints visible on both frames (``visible`` (K,) bool), as a
    fraction of phi on the later frame. Motion that the prediction follows exactly, or a steady offset (a lag at
    steady speed), costs nothing; noise that moves the joints from frame to frame does.

    All four arrays (K, 2) pixels. NaN when fewer than two joints are visible (no phi)."""
    visible = np.asarray(visible, bool)
    phi = float(hand_size(np.asarray(gt, np.float64)[None], visible[None])[0])
    if phi <= 0:
        return float("nan")
    change = (np.asarray(pred, np.float64) - gt) - (np.asarray(prev_pred, np.float64) - prev_gt)
    return float(np.linalg.norm(change[visible], axis=1).mean() / phi)


def pck(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, thresholds=PCK_THRESHOLDS,
        normalizer: np.ndarray | None = None) -> PCKResult:
    """PCK, AUC, EPE and per-joint PCK of one set of hands.

    pred: (N, K, 2) predicted pixels (NaN = missing); gt: (N, K, 2) ground-truth pixels; visible: (N, K)
    bool, only these joints are scored; thresholds: sigmas to report; normalizer: (N,) pixels per hand
    instead of phi (the longer side of the box around the visible GT joints). N = 0 gives an empty result.
    """
    acc = PCKAccumulator(thresholds)
    acc.add(pred, gt, visible, normalizer)
    return acc.result()


def format_table(results: dict[str, PCKResult], digits: int = 2) -> str:
    """Markdown table in the layout of the paper's Tables II-V: one row per method, PCK@sigma, AUC, EPE (px)."""
    if not results:
        raise ValueError("results must hold at least one {name: PCKResult}, got an empty dict")
    thresholds = next(iter(results.values())).thresholds
    header = ["method"] + [f"@{t:g}" for t in thresholds] + ["AUC", "EPE (px)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in results.items():
        if not np.array_equal(r.thresholds, thresholds):
            raise ValueError(f"results[{name!r}] has thresholds {r.thresholds}, the table's are {thresholds}")
        cells = [name] + [_cell(v, digits) for v in r.pck] + [_cell(r.auc, digits), _cell(r.epe, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: float, digits: int) -> str:
    return "n/a" if np.isnan(value) else f"{value:.{digits}f}"


# ----------------------------------------------------------------------------------------------- boxes
def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) -> (N, M) IoU (the runtime's postprocess.box_iou, reused so both agree)."""
    from .postprocess import box_iou  # postprocess imports OpenCV; keep this module NumPy-only to import

    return box_iou(a, b)


def _match(boxes: np.ndarray, scores: np.ndarray, gt: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching by score within one image: (M,) bool true positives, (G,) bool ground truth found."""
    order = np.argsort(-scores, kind="stable")
    overlaps = _box_iou(boxes, gt) if len(boxes) and len(gt) else np.zeros((len(boxes), len(gt)))
    taken = np.zeros(len(gt), bool)
    is_tp = np.zeros(len(boxes), bool)
    for i in order:
        candidates = np.where(taken, -1.0, overlaps[i])
        if len(gt) and candidates.max() >= iou:
            j = int(candidates.argmax())
            taken[j] = True
            is_tp[i] = True
    return is_tp, taken


SIZE_EDGES_PX = (0, 32, 64, 128, 256, float("inf"))


def recall_by_size(pred_boxes: list, pred_scores: list, gt_boxes: list, iou: float = 0.5,
                   edges=SIZE_EDGES_PX) -> list[dict]:
    """Recall per hand size: ground-truth boxes binned by their longer side (pixels) at ``edges``, matched as
    in detection_pr. Returns [{'low', 'high', 'hands', 'found', 'recall'}] per bin (high None for the open last
    bin, recall NaN when empty)."""
    sides, found = [], []
    for index, (boxes, scores, gt) in enumerate(zip(pred_boxes, pred_scores, gt_boxes)):
        boxes, scores, gt = _check_image_boxes(boxes, scores, gt, index)
        found.append(_match(boxes, scores, gt, iou)[1])
        sides.append(np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]))
    sides = np.concatenate(sides) if sides else np.zeros(0)
    found = np.concatenate(found) if found else np.zeros(0, bool)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (sides >= low) & (sides < high)
        n, k = int(in_bin.sum()), int(found[in_bin].sum())
        rows.append({"low": float(low), "high": float(high) if np.isfinite(high) else None, "hands": n, "found": k,
                     "recall": k / n if n else float("nan")})
    return rows


def _average_precision(scores: np.ndarray, is_tp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated AP (area under the precision envelope vs recall); NaN without ground truth."""
    if num_gt == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(is_tp[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / num_gt
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float((steps * envelope).sum())


def detection_pr(pred_boxes: list, pred_scores: list, gt_boxes: list, iou: float = 0.5) -> dict:
    """Recall and precision of hand boxes over a set of images.

    pred_boxes: per image (M, 4) x0, y0, x1, y1; pred_scores: per image (M,); gt_boxes: per image (G, 4).
    Within an image, predictions in descending score each take the unmatched ground-truth box they overlap
    most, if that IoU >= ``iou``. Returns {'recall', 'precision', 'ap', 'tp', 'fp', 'fn', 'images'};
    recall (and ap) NaN without ground truth, precision NaN without predictions.
    """
    if not len(pred_boxes) == len(pred_scores) == len(gt_boxes):
        raise ValueError(f"pred_boxes, pred_scores and gt_boxes must be lists with one entry per image, got "
                         f"lengths {len(pred_boxes)}, {len(pred_scores)}, {len(gt_boxes)}")
    all_scores, all_tp, num_gt = [], [], 0
    for index, (boxes, scores, gt) in enumerate(zip(pred_boxes, pred_scores, gt_boxes)):
        boxes, scores, gt = _check_image_boxes(boxes, scores, gt, index)
        all_tp.append(_match(boxes, scores, gt, iou)[0])
        all_scores.append(scores)
        num_gt += len(gt)
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    is_tp = np.concatenate(all_tp) if all_tp else np.zeros(0, bool)
    tp, fp = int(is_tp.sum()), int((~is_tp).sum())
    return {"recall": tp / num_gt if num_gt else float("nan"),
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "ap": _average_precision(scores, is_tp, num_gt),
            "tp": tp, "fp": fp, "fn": num_gt - tp, "images": len(gt_boxes)}


def _check_image_boxes(boxes, scores, gt, index: int):
    """One image's (M, 4) boxes, (M,) scores, (G, 4) ground truth as float64 arrays."""
    boxes = np.asarray(boxes, np.float64)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    gt = np.asarray(gt, np.float64)
    gt = gt.reshape(0, 4) if gt.size == 0 else gt
    scores = np.asarray(scores, np.float64).reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"pred_boxes[{index}] must be (M, 4) x0, y0, x1, y1, got shape {boxes.shape}")
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise ValueError(f"gt_boxes[{index}] must be (G, 4) x0, y0, x1, y1, got shape {gt.shape}")
    if len(scores) != len(boxes):
        raise ValueError(f"pred_scores[{index}] must be ({len(boxes)},), one per box, got shape {scores.shape}")
    return boxes, scores, gt


# ----------------------------------------------------------------------------------------------- plots
def plot_pck_curves(results: dict[str, PCKResult], path: str | Path, title: str = "PCK") -> Path:
    """PNG of PCK vs sigma in [0, 0.5], one line per method (the paper's Fig. 6). Returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend switch
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("results must hold at least one {name: PCKResult}, got an empty dict")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(5.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, r in results.items():
        ax.plot(r.curve_sigmas, r.curve_pck, linewidth=1.8, label=f"{name} (AUC {r.auc:.3f})")
    ax.set_xlim(0.0, CURVE_MAX_SIGMA)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("normalised distance threshold σ")
    ax.set_ylabel("PCK")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
