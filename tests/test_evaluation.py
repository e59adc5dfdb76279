"""evaluation: PCK / AUC / EPE on hand-computed cases, accumulation, tables, detection PR, the plot."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from handjoints_trt import evaluation as ev

# One hand, 5 joints; the visible ones span a 100 x 50 box, so phi = 100 px.
GT = np.array([[[0, 0], [100, 0], [100, 50], [0, 50], [300, 300]]], float)
VISIBLE = np.array([[True, True, True, True, False]])
# Errors 5, 15, 30 px, a missing prediction, and an invisible joint predicted far off (never scored).
PRED = GT + np.array([[[3, 4], [0, 15], [30, 0], [np.nan, np.nan], [500, 500]]])


def test_pck_hand_computed():
    r = ev.pck(PRED, GT, VISIBLE)
    assert r.count == 4 and r.predicted == 3
    np.testing.assert_allclose(r.pck, [1 / 4, 2 / 4, 3 / 4, 3 / 4, 3 / 4])
    assert r.epe == pytest.approx((5 + 15 + 30) / 3)
    # Normalised errors 0.05, 0.15, 0.3, inf: area = (0.45 + 0.35 + 0.2 + 0) / 4 joints over a 0.5 range.
    assert r.auc == pytest.approx(0.5, abs=2e-3)
    np.testing.assert_allclose(r.per_joint, [1, 1, 0, 0, np.nan])
    np.testing.assert_array_equal(r.joint_count, [1, 1, 1, 1, 0])
    assert r.curve_pck[0] == 0 and r.curve_pck[-1] == pytest.approx(0.75)
    assert np.all(np.diff(r.curve_pck) >= 0)


def test_error_jitter_hand_computed():
    """Jitter is the change of the error, not of the joints: a hand followed exactly as it moves, or with a steady
    offset, has none; a joint that moves 3 px off its label on a hand 10 px across adds 3 / 10 / K; joints hidden on
    either frame are left out; no size, no figure."""
    from handjoints_trt.evaluation import error_jitter

    gt0 = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float64)
    gt1 = gt0 + [5.0, 2.0]                         # the hand moved
    both = np.ones(4, bool)
    assert error_jitter(gt0, gt0, gt1, gt1, both) == 0.0
    assert error_jitter(gt0 + 4, gt0, gt1 + 4, gt1, both) == 0.0          # a steady offset (a lag) is no jitter
    moved = gt1.copy()
    moved[2] += [3.0, 0.0]
    assert error_jitter(gt0, gt0, moved, gt1, both) == pytest.approx(3 / 10 / 4)
    assert error_jitter(gt0, gt0, moved, gt1, np.array([True, True, False, True])) == 0.0
    assert np.isnan(error_jitter(gt0, gt0, moved, gt1, np.array([True, False, False, False])))


def test_pck_per_joint_over_hands():
    gt = np.repeat(GT, 3, axis=0)
    visible = np.repeat(VISIBLE, 3, axis=0)
    pred = gt.copy()
    pred[0, 1] += [25, 0]                  # joint 1 misses @0.2 in one hand of three
    pred[1, 2] += [0, 19.9]                # joint 2 is just inside @0.2
    r = ev.pck(pred, gt, visible)
    np.testing.assert_allclose(r.per_joint, [1, 2 / 3, 1, 1, np.nan])
    np.testing.assert_allclose(r.pck[:2], [10 / 12, 11 / 12])


def test_pck_normalizer_replaces_phi():
    r = ev.pck(PRED, GT, VISIBLE, thresholds=(0.1, 0.5), normalizer=np.array([20.0]))
    # Errors 5, 15, 30 px against 20 px: 0.25, 0.75, 1.5 and the missing joint.
    np.testing.assert_allclose(r.pck, [0, 1 / 4])
    with pytest.raises(ValueError, match="normalizer must be"):
        ev.pck(PRED, GT, VISIBLE, normalizer=np.array([0.0]))


def test_pck_empty_input_and_unscorable_hand():
    empty = ev.pck(np.zeros((0, 21, 2)), np.zeros((0, 21, 2)), np.zeros((0, 21), bool))
    assert empty.count == 0 and np.isnan(empty.pck).all() and np.isnan(empty.auc) and np.isnan(empty.epe)
    one_joint = ev.pck(GT, GT, np.array([[True, False, False, False, False]]))   # phi = 0: left out
    assert one_joint.count == 0


def test_accumulator_and_merge_equal_one_pass():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 200, (10, 21, 2))
    pred = gt + rng.normal(0, 15, gt.shape)
    pred[3, 5] = np.nan
    visible = rng.random((10, 21)) > 0.2
    whole = ev.pck(pred, gt, visible)
    acc = ev.PCKAccumulator()
    acc.add(pred[:4], gt[:4], visible[:4])
    acc.add(pred[4:], gt[4:], visible[4:])
    merged = ev.pck(pred[:7], gt[:7], visible[:7]).merge(ev.pck(pred[7:], gt[7:], visible[7:]))
    for r in (acc.result(), merged, merged.merge(ev.pck(pred[:0], gt[:0], visible[:0]))):
        assert r.count == whole.count
        np.testing.assert_allclose(r.pck, whole.pck)
        np.testing.assert_allclose(r.per_joint, whole.per_joint)
        np.testing.assert_allclose([r.auc, r.epe], [whole.auc, whole.epe])
    with pytest.raises(ValueError, match="gt must have K = 21"):
        acc.add(pred[:, :20], gt[:, :20], visible[:, :20])


def test_to_dict_and_table():
    r = ev.pck(PRED, GT, VISIBLE)
    d = r.to_dict()
    assert d["pck@0.2"] == 0.5 and d["count"] == 4 and d["per_joint"][4] is None
    table = ev.format_table({"ours": r, "HRNet": ev.pck(GT, GT, VISIBLE)})
    lines = table.strip().splitlines()
    assert lines[0] == "| method | @0.1 | @0.2 | @0.3 | @0.4 | @0.5 | AUC | EPE (px) |"
    assert lines[2] == "| ours | 0.25 | 0.50 | 0.75 | 0.75 | 0.75 | 0.50 | 16.67 |"
    assert lines[3] == "| HRNet | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 0.00 |"


@pytest.mark.parametrize("args, name", [
    ((np.zeros((2, 21, 2)), np.zeros((2, 21)), np.ones((2, 21))), "gt"),
    ((np.zeros((2, 20, 2)), np.zeros((2, 21, 2)), np.ones((2, 21))), "pred"),
    ((np.zeros((2, 21, 2)), np.zeros((2, 21, 2)), np.ones((21,))), "visible"),
])
def test_pck_bad_shapes(args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        ev.pck(*args)


def test_detection_pr_hand_made():
    gt = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([[0, 0, 50, 50]]), np.zeros((0, 4))]
    boxes = [np.array([[1, 1, 11, 11], [0, 0, 10, 10], [100, 100, 110, 110]]),   # duplicate + stray
             np.zeros((0, 4)),                                                 # a missed hand
             np.array([[5, 5, 9, 9]])]                                         # no hand in the image
    scores = [np.array([0.6, 0.9, 0.8]), np.zeros(0), np.array([0.3])]
    out = ev.detection_pr(boxes, scores, gt)
    # The 0.9 box takes gt 0, the 0.6 duplicate is then a false positive; gt 1 and the image-2 hand are missed.
    assert (out["tp"], out["fp"], out["fn"]) == (1, 3, 2)
    assert out["recall"] == pytest.approx(1 / 3) and out["precision"] == pytest.approx(1 / 4)
    assert out["ap"] == pytest.approx(1 / 3)                  # the top-scored box is right: P = 1 up to R = 1/3
    strict = ev.detection_pr(boxes[:1], scores[:1], gt[:1], iou=0.99)
    assert strict["tp"] == 1                                  # only the exact box matches at IoU 0.99
    with pytest.raises(ValueError, match=r"^pred_scores\[0\] must be"):
        ev.detection_pr(boxes[:1], [np.zeros(2)], gt[:1])


def test_plot_pck_curves_writes_png(tmp_path):
    path = ev.plot_pck_curves({"ours": ev.pck(PRED, GT, VISIBLE), "perfect": ev.pck(GT, GT, VISIBLE)},
                              tmp_path / "plots" / "pck.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100


def test_recall_by_size_bins_ground_truth_by_longer_side():
    from handjoints_trt.evaluation import recall_by_size

    gt = [np.array([[0, 0, 20, 10], [100, 100, 150, 200]], np.float32),   # sides 20 (found) and 100 (missed)
          np.array([[0, 0, 300, 40]], np.float32)]                           # side 300, found
    preds = [np.array([[0, 0, 20, 10], [100, 100, 110, 110]], np.float32), np.array([[0, 0, 300, 41]], np.float32)]
    scores = [np.array([0.9, 0.8]), np.array([0.7])]
    rows = recall_by_size(preds, scores, gt, edges=(0, 32, 128, float("inf")))
    assert [(r["low"], r["high"], r["hands"], r["found"]) for r in rows] == [(0, 32, 1, 1), (32, 128, 1, 0),
                                                                          (128, None, 1, 1)]
    assert [r["recall"] for r in rows] == [1.0, 0.0, 1.0]
    empty = recall_by_size(preds, scores, gt, edges=(1000, 2000))
    assert empty[0]["hands"] == 0 and np.isnan(empty[0]["recall"])
