"""Stage II's learnt vote (handjoints_trt/vote.py): its features, its fit, its file, and detect() / track() with it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from handjoints_trt import HandJointDetector
from handjoints_trt.engines.cache import sha256_file
from handjoints_trt.models_registry import WEIGHTS_DIR, default_model_path, shipped_models_present
from handjoints_trt.types import DetectorOptions
from handjoints_trt.vote import (VOTE_FEATURES, VOTE_FILENAME, LearnedVote, fit_logistic, load_vote,
                                 vote_features)
from runtime_models import dot_hand_frame, write_dot_models

SHIPPED = shipped_models_present() and (WEIGHTS_DIR / VOTE_FILENAME).is_file() and \
    (WEIGHTS_DIR / "hand_aligned.onnx").is_file()
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="the shipped networks and their vote are not in this checkout")


def _hand(box, confidence):
    """Joints spread over the box's middle half, all read at ``confidence``."""
    x0, y0, x1, y1 = box
    grid = np.stack(np.meshgrid(np.linspace(0.25, 0.75, 7), np.linspace(0.25, 0.75, 3)), -1).reshape(21, 2)
    return grid * [x1 - x0, y1 - y0] + [x0, y0], np.full(21, confidence)


def _vote(**changes) -> LearnedVote:
    n = len(VOTE_FEATURES)
    weights = np.zeros(n)
    weights[VOTE_FEATURES.index("mean_confidence")] = 4.0
    fields = dict(center=(0.0,) * n, scale=(1.0,) * n, weights=tuple(weights), bias=-2.0, threshold=0.5,
                  track_threshold=0.4, reread_score=0.26, track_reread_score=0.215, models={})
    return LearnedVote(**{**fields, **changes})


# ----------------------------------------------------------------------------------------------- the features
def test_features_see_the_frame_edge_the_spread_and_how_much_of_the_box_the_joints_fill():
    boxes = np.array([[100, 100, 200, 200], [0, 50, 80, 130]], float)
    points, conf = zip(*(_hand(b, c) for b, c in zip(boxes, (0.9, 0.3))))
    conf = np.array(conf)
    conf[1, :5] = 1.0                                    # a few sure joints among unsure ones
    f = vote_features([0.8, 0.4], boxes, np.array(points), conf, (640, 480))
    col = {name: f[:, i] for i, name in enumerate(VOTE_FEATURES)}
    assert f.shape == (2, len(VOTE_FEATURES))
    np.testing.assert_allclose(col["box_score"], [0.8, 0.4])
    np.testing.assert_allclose(col["at_frame_edge"], [0, 1])
    np.testing.assert_allclose(col["mean_confidence"], [0.9, (5 + 16 * 0.3) / 21])
    assert col["confidence_spread"][0] == pytest.approx(0, abs=1e-9) and col["confidence_spread"][1] > 0.25
    np.testing.assert_allclose(col["sure_share"], [1.0, 5 / 21])
    np.testing.assert_allclose(col["log_fill"], np.log(0.25))        # joints span half the box each way
    np.testing.assert_allclose(col["log_size"], np.log([100 / 480, 80 / 480]))
    np.testing.assert_allclose(col["edge_x_score"], [0, 0.4])
    with pytest.raises(ValueError, match="one box score, box, 21 joints and 21 confidences per hand"):
        vote_features([0.8], boxes, np.array(points), conf, (640, 480))


def test_inside_larger_is_the_share_of_a_box_inside_a_larger_box_of_the_same_frame():
    """A finger box wholly inside the hand's box: 1; a box a quarter inside a larger one: 0.25; the larger box itself,
    a box of equal size and a lone box: 0. It is computed among the boxes voted on together, so the same finger box
    voted on alone has nothing to lie inside."""
    from handjoints_trt.vote import inside_larger

    hand, finger, edge = [100, 100, 300, 300], [120, 110, 160, 190], [250, 250, 350, 350]
    boxes = np.array([hand, finger, edge, [400, 0, 450, 50], [400, 0, 450, 50]], float)
    np.testing.assert_allclose(inside_larger(boxes), [0.0, 1.0, 0.25, 0.0, 0.0])
    points, conf = zip(*(_hand(b, 0.8) for b in boxes))
    f = vote_features([0.5] * 5, boxes, np.array(points), np.array(conf), (640, 480))
    np.testing.assert_allclose(f[:, VOTE_FEATURES.index("inside_larger")], [0.0, 1.0, 0.25, 0.0, 0.0])
    alone = vote_features([0.5], boxes[1:2], np.array(points[1:2]), np.array(conf[1:2]), (640, 480))
    assert alone[0, VOTE_FEATURES.index("inside_larger")] == 0.0
    assert inside_larger(np.zeros((0, 4))).shape == (0,)


def test_the_regression_learns_a_rule_and_refuses_one_kind_of_label():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)
    center, scale, weights, bias = fit_logistic(x, y)
    p = 1 / (1 + np.exp(-(((x - center) / scale) @ weights + bias)))
    assert ((p >= 0.5) == y).mean() > 0.95
    assert weights[0] > 0 > weights[2] and abs(weights[1]) < 0.3 * weights[0]
    with pytest.raises(ValueError, match="both kinds"):
        fit_logistic(x, np.ones(400))


def test_passes_follows_the_probability_and_reachable_the_box_score():
    vote = _vote()
    boxes = np.array([[100, 100, 200, 200]] * 3, float)
    points, conf = zip(*(_hand(b, c) for b, c in zip(boxes, (0.9, 0.45, 0.2))))
    p = vote.probability(vote_features([0.5] * 3, boxes, np.array(points), np.array(conf), (640, 480)))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(4 * np.array([0.9, 0.45, 0.2]) - 2))))
    assert vote.passes([0.5] * 3, boxes, points, conf, (640, 480)).tolist() == [0]              # p >= 0.5
    assert vote.passes([0.5] * 3, boxes, points, conf, (640, 480), tracking=True).tolist() == [0, 1]   # >= 0.4
    assert vote.reachable([0.2, 0.22, 0.26, 0.9]).tolist() == [False, False, True, True]
    assert vote.reachable([0.2, 0.22, 0.26, 0.9], tracking=True).tolist() == [False, True, True, True]


def test_the_file_round_trips_and_bad_files_name_the_fix(tmp_path):
    vote = _vote(models={"hand": "ab" * 32})
    path = tmp_path / VOTE_FILENAME
    path.write_text(json.dumps(vote.to_dict()))
    assert load_vote(path) == vote
    with pytest.raises(FileNotFoundError, match="fit_vote.py"):
        load_vote(tmp_path / "absent.json")
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a vote file"):
        load_vote(path)
    for change, message in (({"features": ["box_score"]}, "not a vote file of this version"),
                            ({"weights": [1.0]}, "numbers each"), ({"threshold": 1.5}, "must be in 0..1")):
        path.write_text(json.dumps({**vote.to_dict(), **change}))
        with pytest.raises(ValueError, match=message):
            load_vote(path)
    older = vote.to_dict()
    del older["reread_score"]
    path.write_text(json.dumps(older))
    with pytest.raises(ValueError, match="lacks 'reread_score'; fit it again"):
        load_vote(path)


# ----------------------------------------------------------------------------------------------- the options
def test_options_are_checked():
    with pytest.raises(ValueError, match="vote must be"):
        DetectorOptions(vote="majority").validate()
    with pytest.raises(ValueError, match="vote_threshold must be"):
        DetectorOptions(vote_threshold=1.5).validate()


def test_other_networks_keep_the_linear_vote_and_refuse_the_learnt_one(tmp_path):
    dots = write_dot_models(tmp_path / "dots")
    models = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"], threads=1)
    with HandJointDetector(**models) as det:
        assert det.options.vote == "linear" and det.learned_vote is None
        frame, _ = dot_hand_frame((480, 640), [(200, 200, 150)])
        assert len(det.detect(frame)) == 1
    with pytest.raises(ValueError, match="fitted for the shipped"):
        HandJointDetector(**models, vote="learned")


# ----------------------------------------------------------------------------------------------- shipped
@needs_shipped
def test_the_shipped_vote_was_fitted_for_the_shipped_networks():
    """weights/vote.json names the sha256 of the networks it was fitted with: new networks need a new fit
    (benchmarks/fit_vote.py --write)."""
    vote = load_vote(WEIGHTS_DIR / VOTE_FILENAME)
    for stage in ("localizer", "hand", "hand_aligned", "orientation"):
        assert vote.models[stage] == sha256_file(default_model_path(stage)), f"{stage} changed since the vote's fit"
    assert 0 < vote.track_threshold <= vote.threshold < 1


@needs_shipped
def test_the_learnt_vote_is_the_default_and_vote_threshold_moves_both_thresholds():
    with HandJointDetector(threads=1) as det:
        assert det.options.vote == "learned" and det.learned_vote == load_vote(WEIGHTS_DIR / VOTE_FILENAME)
        fitted = det.learned_vote
    with HandJointDetector(threads=1, vote_threshold=fitted.threshold + 0.1) as det:
        assert det.learned_vote.threshold == pytest.approx(fitted.threshold + 0.1)
        assert det.learned_vote.track_threshold == pytest.approx(fitted.track_threshold + 0.1)
    with HandJointDetector(threads=1, any_angle=False) as det:
        assert det.options.vote == "linear"       # fitted with any_angle's readings


def _photos(hagrid_dir, count):
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:count]
    return [r.load() for r in records]


@needs_shipped
def test_detect_reports_the_boxes_the_learnt_vote_passes(hagrid_dir):
    """At threshold 0 every stage-I box stage II reads is reported (less a hand found twice); at 1 none; between,
    exactly those whose P(hand) reaches it."""
    sample = _photos(hagrid_dir, 1)[0]
    frame = np.zeros((480, 640, 3), np.uint8)
    h, w = sample.image.shape[:2]
    frame[100:100 + h, 150:150 + w] = sample.image
    with HandJointDetector(threads=1, vote_threshold=0.0, box_threshold=0.05) as det:
        everything = det.detect(frame)
        boxes, scores = det.localize(frame)
        hands = det.estimate(frame, boxes, scores)
        p = det.learned_vote.probability(vote_features(scores, boxes, [x.keypoints for x in hands],
                                                       [x.confidence for x in hands], (640, 480)))
    assert len(everything) >= 2 and len(p) >= 2, "a photo pasted on black should give some doubtful boxes"
    middle = float(np.sort(p)[-1] + np.sort(p)[-2]) / 2
    with HandJointDetector(threads=1, vote_threshold=middle, box_threshold=0.05) as det:
        best = det.detect(frame)
        fitted = load_vote(WEIGHTS_DIR / VOTE_FILENAME)
    assert len(best) == 1 and best[0].score == pytest.approx(float(scores[int(np.argmax(p))]))
    # track() starts tracks at the track threshold, moved with vote_threshold: there only the best box too
    with HandJointDetector(threads=1, box_threshold=0.05,
                           vote_threshold=middle + fitted.threshold - fitted.track_threshold) as det:
        assert det.learned_vote.track_threshold == pytest.approx(middle)
        tracked = det.track(frame)
    assert len(tracked) == 1 and tracked[0].score == pytest.approx(best[0].score)
    with HandJointDetector(threads=1, vote_threshold=1.0) as det:
        assert det.detect(frame) == []


@needs_shipped
def test_the_learnt_vote_takes_fewer_drawn_faces_for_hands_and_keeps_real_hands(hagrid_dir):
    """Against the linear vote on the same frames: no more hands reported on drawn faces in the skin of real palms
    (val palms; the fit's are train palms and another seed; the networks take these for hands as they take real faces,
    RESULTS.md section 33) and at most one fewer real hand found on 40 val photos run whole. Session 40's vote (with
    inside_larger, threshold 0.375) reports 3 hands on these 40 frames, the linear vote 6; on flat-toned drawn faces the
    two now take about as many (4 and 3 on the first 100), so those are not asserted."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from faces_eval import DRAWN_SKIN_SEED, drawn_frames, palm_skins

    faces = [image for _, image, _ in drawn_frames(40, DRAWN_SKIN_SEED, skins=palm_skins(hagrid_dir, "val"))]
    photos = _photos(hagrid_dir, 40)
    counts = {}
    for vote in ("learned", "linear"):
        with HandJointDetector(threads=1, vote=vote) as det:
            false = sum(len(det.detect(image)) for image in faces)
            found = sum(len(det.detect(s.image)) >= 1 for s in photos)
        counts[vote] = false, found
    assert counts["learned"][0] <= counts["linear"][0]
    assert counts["learned"][1] >= counts["linear"][1] - 1 and counts["learned"][1] >= 36, counts


@needs_shipped
def test_options_swapped_on_a_detector_move_its_vote():
    """Benchmarks swap a detector's options between modes (track_eval.py): the vote follows them."""
    from dataclasses import replace

    with HandJointDetector(threads=1) as det:
        fitted = det.learned_vote
        det.options = replace(det.options, vote_threshold=0.9)
        assert det.learned_vote.threshold == 0.9
        det.options = replace(det.options, vote="linear")
        assert det.learned_vote is None
        det.options = replace(det.options, vote="learned", vote_threshold=None)
        assert det.learned_vote == fitted


@needs_shipped
def test_detect_and_track_read_again_only_boxes_from_the_reread_score(monkeypatch):
    """With the learnt vote any_angle re-reads the stage-I boxes scoring at least reread_score in detect(), and
    track_reread_score in track()."""
    frame, _ = dot_hand_frame((480, 640), [(200, 200, 150), (450, 250, 120), (100, 380, 90)])
    boxes = np.array([[120, 120, 280, 280], [380, 180, 520, 320], [50, 330, 150, 430]], np.float32)
    scores = np.array([0.9, 0.24, 0.2], np.float32)
    with HandJointDetector(threads=1) as det:
        asked = []
        real_estimate = det.estimate
        monkeypatch.setattr(det, "estimate", lambda *a, **k: asked.append(k["reread"]) or real_estimate(*a, **k))
        monkeypatch.setattr(det, "localize", lambda image, long_side=None: (boxes, scores))
        det.detect(frame)
        det.track(frame)
        vote = det.learned_vote
    assert vote.reread_score == 0.26 and vote.track_reread_score == 0.215
    assert asked[0].tolist() == [True, False, False]
    assert asked[1].tolist() == [True, True, False]
