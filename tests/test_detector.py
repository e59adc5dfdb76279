"""HandJointDetector: frame validation, both stages on real ONNX models, options, timings, shipped models."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from handjoints_trt.detector import (TIMING_KEYS, HandJointDetector, as_bgr_frame, auto_long_side, decode_localizer,
                                     localizer_input_size)
from handjoints_trt.models_registry import WEIGHTS_DIR, default_model_paths, shipped_models_present
from handjoints_trt.postprocess import hand_scores, refine_boxes, verify_hands
from handjoints_trt.preprocess import letterbox_transform
from handjoints_trt.types import BOX_REFINE_RAMP, DetectorOptions
from runtime_models import CROP_SIZE, STRIDE, dot_hand_frame, write_dot_models

# Dot-hand joints are decoded within this fraction of a heatmap cell (frame px per cell = crop side / 32).
CELL_TOLERANCE = 0.25


@pytest.fixture(scope="session")
def dots(tmp_path_factory):
    return write_dot_models(tmp_path_factory.getbasetemp() / "dot_models")


@pytest.fixture
def detector(dots):
    with HandJointDetector(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"],
                           threads=1) as d:
        yield d


def _cell_px(side: float) -> float:
    """Frame pixels per heatmap cell for a hand box of this side (crop = 1.5 x box)."""
    return side * 1.5 / (CROP_SIZE / STRIDE)


def _joint_error(hand, joints) -> float:
    return float(np.abs(hand.keypoints - joints).max())


# ----------------------------------------------------------------------------------- frame validation
@pytest.mark.parametrize("frame, error, message", [
    (None, TypeError, "frame is None"),
    ("hand.jpg", TypeError, "cv2.imread"),
    (Path("hand.jpg"), TypeError, "cv2.imread"),
    ([[1, 2, 3]], TypeError, "numpy array"),
    (np.zeros((2, 8, 8, 3), np.uint8), ValueError, "once per frame"),
    (np.zeros((8,), np.uint8), ValueError, "(H, W, 3)"),
    (np.zeros((0, 8, 3), np.uint8), ValueError, "empty"),
    (np.zeros((8, 8, 2), np.uint8), ValueError, "channels"),
    (np.full((8, 8, 3), 0.5, np.float32), TypeError, "(frame * 255).round().astype(np.uint8)"),
    (np.full((8, 8, 3), 200.0, np.float64), TypeError, "np.clip(frame, 0, 255)"),
    (np.zeros((8, 8, 3), np.uint16), TypeError, "16-bit"),
    (np.zeros((8, 8, 3), bool), TypeError, "mask"),
])
def test_bad_frames_are_refused_with_the_fix(detector, frame, error, message):
    with pytest.raises(error) as info:
        detector.detect(frame)
    assert message in str(info.value)


def test_grayscale_and_bgra_are_converted():
    bgr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    expected = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    np.testing.assert_array_equal(as_bgr_frame(gray), expected)
    np.testing.assert_array_equal(as_bgr_frame(gray[..., None]), expected)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(as_bgr_frame(bgra), bgr)
    assert as_bgr_frame(bgr[:, ::-1]).flags.c_contiguous


def test_bgra_frame_detects_like_bgr(detector):
    frame, _ = dot_hand_frame((240, 320), [(100, 60, 100)])
    bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    a, b = detector.detect(frame), detector.detect(bgra)
    assert len(a) == len(b) == 1
    np.testing.assert_array_equal(a[0].keypoints, b[0].keypoints)


def test_grayscale_frame_runs(detector):
    frame, _ = dot_hand_frame((240, 320), [(100, 60, 100)])
    hands = detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert isinstance(hands, list)  # colour dots are gone in gray: the point is that it runs


def test_tiny_frame(detector):
    frame = np.full((16, 16, 3), 20, np.uint8)
    assert detector.detect(frame) == []
    hands = detector.detect(frame, boxes=[[2, 2, 14, 14]])
    assert len(hands) == 1 and hands[0].keypoints.shape == (21, 2)


def test_8k_frame_finds_the_hand(detector):
    frame, joints = dot_hand_frame((4320, 7680), [(3000.5, 2000.25, 900)])
    hands = detector.detect(frame)
    assert len(hands) == 1
    assert _joint_error(hands[0], joints[0]) < CELL_TOLERANCE * _cell_px(900)


# ----------------------------------------------------------------------------------- stage I
@pytest.mark.parametrize("frame_size, long_side, expected", [
    ((1280, 720), 384, (384, 224)),
    ((720, 1280), 384, (224, 384)),
    ((640, 480), 384, (384, 288)),
    ((16, 16), 384, (384, 384)),
    ((3000, 50), 384, (384, 128)),
    ((1920, 1080), 512, (512, 288)),
])
def test_localizer_input_size(frame_size, long_side, expected):
    assert localizer_input_size(frame_size, long_side) == expected


@pytest.mark.parametrize("frame_size, model_long_side, expected", [
    ((640, 480), 384, 384),      # the timed case keeps the model's own size
    ((320, 320), 384, 384),      # 320 x 1.5 > 384: the smallest timed frame keeps it
    ((256, 200), 384, 384),      # 256 x 1.5 = 384
    ((150, 112), 384, 256),      # a small photo is enlarged at most AUTO_MAX_UPSCALE (225 -> 256)
    ((112, 150), 384, 256),      # by its long side
    ((60, 40), 384, 128),        # never below the exported model's smallest side
    ((480, 640), 384, 384),
    ((720, 576), 384, 640),      # larger frames: AUTO_HD_LONG_SIDE
    ((480, 800), 384, 640),      # portrait frames by their long side
    ((1280, 720), 384, 640),
    ((3840, 2160), 384, 640),
    ((1280, 720), 800, 800),     # a model trained larger keeps its size
])
def test_auto_long_side(frame_size, model_long_side, expected):
    assert auto_long_side(frame_size, model_long_side) == expected


def test_localizer_size_option(dots):
    common = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"])
    with HandJointDetector(**common) as d:
        assert d.localizer_input_size((640, 480)) == (384, 288)   # long side from the model's metadata
        assert d.localizer_input_size((1280, 720)) == (640, 384)  # automatic: HD frames at half size
    with HandJointDetector(localizer_size=512, **common) as d:
        assert d.localizer_input_size((1280, 720)) == (512, 288)
    with HandJointDetector(localizer_size=384, **common) as d:                 # the old default, fixed
        assert d.localizer_input_size((1280, 720)) == (384, 224)
    with HandJointDetector(localizer_size=(320, 320), **common) as d:
        assert d.localizer_input_size((1280, 720)) == (320, 320)
    with pytest.raises(ValueError, match="multiple of 32"):
        HandJointDetector(localizer_size=300, **common)


def test_stage_one_decode_of_known_maps():
    """Known centre/size/offset maps go through the detector's decode to the expected frame box."""
    lb = letterbox_transform((1280, 720), (384, 224))            # scale 0.3, pad_y 4
    h, w = 224 // 4, 384 // 4
    centers = np.zeros((1, 1, h, w), np.float32)
    centers[0, 0, 10, 20] = 0.9
    centers[0, 0, 40, 70] = 0.3                                  # below the threshold
    sizes = np.zeros((1, 2, h, w), np.float32)
    sizes[0, 0], sizes[0, 1] = np.log(40.0), np.log(60.0)
    offsets = np.full((1, 2, h, w), 0.25, np.float32)
    boxes, scores = decode_localizer({"centers": centers, "sizes": sizes, "offsets": offsets}, lb, 4.0, 0.4, 4, 0.4)
    # input centre ((20.25) * 4, (10.25) * 4) = (81, 41); frame = (81 / 0.3, (41 - 4) / 0.3)
    cx, cy, bw, bh = 81 / 0.3, 37 / 0.3, 40 / 0.3, 60 / 0.3
    np.testing.assert_allclose(boxes, [[cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]], rtol=1e-5)
    np.testing.assert_allclose(scores, [0.9])


def test_detect_finds_dot_hands_end_to_end(detector):
    # The dot localizer's box side is sqrt(all hand area): with 3 equal hands each box is sqrt(3) too big,
    # so the tolerance follows the box the detector used.
    palms = [(100, 100, 150), (600.5, 300.5, 150), (1000, 50.25, 150)]
    frame, joints = dot_hand_frame((720, 1280), palms)
    hands = detector.detect(frame)
    assert len(hands) == 3
    for truth in joints:
        hand = min(hands, key=lambda h: _joint_error(h, truth))
        assert _joint_error(hand, truth) < CELL_TOLERANCE * _cell_px(hand.box[2] - hand.box[0])
        assert hand.mean_confidence > 0.1 and hand.track_id == -1
        assert hand.keypoints.dtype == np.float32 and hand.confidence.shape == (21,)


def test_min_hand_confidence_drops_stage_one_hands_below_it(dots):
    palms = [(100, 100, 150), (600.5, 300.5, 150), (1000, 50.25, 150)]
    frame, _ = dot_hand_frame((720, 1280), palms)
    models = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"], threads=1)
    with HandJointDetector(**models) as plain:
        found = plain.detect(frame)
    means = sorted(float(h.confidence.mean()) for h in found)
    assert len(means) == 3 and means[0] < 1.0
    floor = means[0] + 1e-4                      # just above the least confident hand
    with HandJointDetector(**models, min_hand_confidence=floor) as strict:
        kept = strict.detect(frame)
        given = strict.detect(frame, boxes=np.array([h.box for h in found]))
    assert len(kept) == sum(m >= floor for m in means) == 2
    assert all(float(h.confidence.mean()) >= floor for h in kept)
    assert len(given) == 3                       # boxes given by the caller: one hand each, never filtered
    with pytest.raises(ValueError, match="min_hand_confidence"):
        HandJointDetector(**models, min_hand_confidence=1.5)


def test_hand_threshold_votes_with_stage_one_as_verify_hands_says(dots):
    """detect() keeps exactly the stage-I hands postprocess.verify_hands keeps, for a vote that splits the
    three hands of a frame; given boxes are never dropped; bad values are refused by name."""
    palms = [(100, 100, 150), (600.5, 300.5, 150), (1000, 50.25, 150)]
    frame, _ = dot_hand_frame((720, 1280), palms)
    models = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"], threads=1)
    with HandJointDetector(**models, hand_threshold=0.0) as plain:
        found = plain.detect(frame)
    assert len(found) == 3
    votes = sorted(float(v) for v in hand_scores([h.score for h in found], [h.mean_confidence for h in found], 0.5))
    assert votes[0] < votes[-1]
    threshold = (votes[0] + votes[1]) / 2 if votes[1] > votes[0] else (votes[1] + votes[2]) / 2
    expected = verify_hands([h.score for h in found], [h.mean_confidence for h in found], threshold, 0.5)
    with HandJointDetector(**models, hand_threshold=threshold, confidence_weight=0.5) as voting:
        kept = voting.detect(frame)
        given = voting.detect(frame, boxes=np.array([h.box for h in found]))
    assert 1 <= len(kept) == len(expected) < 3
    np.testing.assert_allclose([h.box for h in kept], [found[i].box for i in expected], atol=1e-4)
    assert len(given) == 3
    for name, value in (("hand_threshold", 1.5), ("confidence_weight", -0.5)):
        with pytest.raises(ValueError, match=name):
            HandJointDetector(**models, **{name: value})


def test_box_refine_moves_found_boxes_as_refine_boxes_says(dots):
    """detect() reports stage I's hands with boxes moved towards their joints' boxes exactly as
    postprocess.refine_boxes moves them (the joints and scores untouched); boxes the caller gives come back as
    given; box_refine 0 keeps stage I's boxes; a bad value is refused by name."""
    palms = [(100, 100, 150), (600.5, 300.5, 150)]
    frame, _ = dot_hand_frame((720, 1280), palms)
    models = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"], threads=1)
    with HandJointDetector(**models, box_refine=0.0) as plain:
        found = plain.detect(frame)
    with HandJointDetector(**models, box_refine=0.8) as refining:
        refined = refining.detect(frame)
        given = refining.detect(frame, boxes=np.array([h.box for h in found]))
    assert len(found) == len(refined) == 2
    expected = refine_boxes(np.array([h.box for h in found]), np.array([h.keypoints for h in found]),
                            np.array([h.confidence for h in found]), (1280, 720), 0.8, BOX_REFINE_RAMP)
    np.testing.assert_allclose([h.box for h in refined], expected, atol=1e-3)
    assert np.abs(expected - np.array([h.box for h in found])).max() > 5     # palm squares vs the joints' box
    for a, b in zip(found, refined):
        assert a.score == b.score and np.allclose(a.keypoints, b.keypoints, atol=1e-4)
    np.testing.assert_allclose([h.box for h in given], [h.box for h in found], atol=1e-4)
    with pytest.raises(ValueError, match="box_refine"):
        HandJointDetector(**models, box_refine=1.5)


def test_frame_without_hands(detector):
    assert detector.detect(np.full((480, 640, 3), 20, np.uint8)) == []


def test_max_hands_keeps_the_best(dots):
    frame, _ = dot_hand_frame((720, 1280), [(100, 100, 150), (600, 300, 150), (1000, 50, 150)])
    with HandJointDetector(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"],
                           max_hands=2) as d:
        hands = d.detect(frame)
    assert len(hands) == 2
    assert hands[0].score >= hands[1].score


# ----------------------------------------------------------------------------------- stage II with boxes
def test_detect_with_boxes_returns_one_hand_per_box_in_order(detector):
    palms = [(100.25, 100.5, 200), (800, 300, 150)]
    frame, joints = dot_hand_frame((720, 1280), palms)
    boxes = [[x, y, x + s, y + s] for x, y, s in palms][::-1] + [[1000, 600, 1100, 700]]  # reversed + empty
    hands = detector.detect(frame, boxes=boxes)
    assert len(hands) == 3
    assert hands[0].box == tuple(float(v) for v in boxes[0])
    assert _joint_error(hands[0], joints[1]) < CELL_TOLERANCE * _cell_px(150)
    assert _joint_error(hands[1], joints[0]) < CELL_TOLERANCE * _cell_px(200)
    assert hands[1].score == pytest.approx(hands[1].mean_confidence)
    assert hands[2].mean_confidence < 0.2  # no hand in the last box
    assert detector.last_timings["localizer"] == 0.0
    assert detector.detect(frame, boxes=np.zeros((0, 4))) == []


@pytest.mark.parametrize("boxes, message", [
    ([10, 10, 50, 50], "for one box pass [box]"),
    ([[10, 10, 50]], "(N, 4)"),
    ([[50, 10, 10, 50]], "x1 <= x0"),
    ([[10, 10, np.nan, 50]], "NaN"),
])
def test_bad_boxes(detector, boxes, message):
    with pytest.raises(ValueError) as info:
        detector.detect(np.zeros((100, 100, 3), np.uint8), boxes=boxes)
    assert message in str(info.value)


def test_chunked_stage_two_matches_one_batch(dots):
    frame, _ = dot_hand_frame((480, 640), [(100, 100, 150)])
    boxes = [[100 + i, 100 - i, 250 + i, 250 - i] for i in range(5)]
    common = dict(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"])
    with HandJointDetector(**common) as one, HandJointDetector(max_batch=2, **common) as chunked:
        assert chunked.max_batch == 2
        a, b = one.detect(frame, boxes=boxes), chunked.detect(frame, boxes=boxes)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.keypoints, y.keypoints, atol=1e-4)


def test_timings_of_the_last_call(detector):
    frame, _ = dot_hand_frame((480, 640), [(100, 100, 150)])
    detector.detect(frame)
    t = detector.last_timings
    assert set(t) == set(TIMING_KEYS)
    assert all(v >= 0 for v in t.values()) and t["localizer"] > 0 and t["hands"] > 0
    assert t["orientation"] == 0.0   # any_angle off: no direction network
    assert t["total"] >= t["localizer"] + t["crop"] + t["hands"] + t["decode"] - 1e-6


# ----------------------------------------------------------------------------------- options and models
def test_options_are_checked(dots):
    common = dict(localizer_model=dots["localizer"], hand_model=dots["hand"])
    with pytest.raises(TypeError, match="unknown option"):
        HandJointDetector(max_hand=2, **common)
    with pytest.raises(ValueError, match="max_hands"):
        HandJointDetector(max_hands=0, **common)
    with pytest.raises(ValueError, match="backend must be one of"):
        HandJointDetector(backend="tflite", **common)
    with pytest.raises(TypeError, match="DetectorOptions"):
        HandJointDetector({"max_hands": 2})
    with pytest.raises(ValueError, match="nms_nested must be None"):
        HandJointDetector(nms_nested=90, **common)
    with pytest.raises(ValueError, match="flip_test must be True or False"):
        HandJointDetector(flip_test=1, **common)
    with pytest.raises(ValueError, match="refind_lost must be True or False"):
        HandJointDetector(refind_lost="no", **common)
    with pytest.raises(ValueError, match="track_hold must be True or False"):
        HandJointDetector(track_hold=0, **common)
    with pytest.raises(ValueError, match="track_recrop must be a number in 0..1"):
        HandJointDetector(track_recrop=1.5, **common)
    with pytest.raises(ValueError, match="unseen_confidence must be a number in 0..1"):
        HandJointDetector(unseen_confidence=-0.1, **common)
    for bad in (100, 200, True, 192.0, -32):
        with pytest.raises(ValueError, match="track_window must be 0 \\(off\\) or a window side"):
            HandJointDetector(track_window=bad, **common)
    for bad in (-1.0, True, "16"):
        with pytest.raises(ValueError, match="min_box_size must be a number of frame pixels"):
            HandJointDetector(min_box_size=bad, **common)
    options = DetectorOptions(backend="onnxruntime", max_hands=3, **common)
    with HandJointDetector(options, max_hands=1) as d:
        assert d.options.max_hands == 1 and options.max_hands == 3


def test_close_and_context_manager(dots):
    d = HandJointDetector(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"])
    with d:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        d.detect(np.zeros((32, 32, 3), np.uint8))
    d.close()


def test_swapped_models_are_named(dots):
    with pytest.raises(ValueError, match="swapped"):
        HandJointDetector(backend="onnxruntime", localizer_model=dots["hand"], hand_model=dots["localizer"])


def test_missing_model_files(dots, tmp_path):
    with pytest.raises(FileNotFoundError, match="handjoints export"):
        HandJointDetector(backend="onnxruntime", localizer_model=tmp_path / "x.onnx", hand_model=dots["hand"])


def test_missing_shipped_models_say_how_to_make_them(tmp_path, monkeypatch):
    from handjoints_trt import models_registry

    monkeypatch.setattr(models_registry, "WEIGHTS_DIR", tmp_path)   # a package without its weights
    assert not shipped_models_present("int8")
    with pytest.raises(FileNotFoundError) as info:
        default_model_paths("int8")
    assert str(tmp_path) in str(info.value) and ".int8.onnx" in str(info.value) and "calibration" in str(info.value)
    with pytest.raises(FileNotFoundError, match="handjoints export"):
        default_model_paths("fp32")
    with pytest.raises(ValueError, match="precision"):
        default_model_paths("fp8")


# ----------------------------------------------------------------------------------- shipped models
def _recall_and_pck(samples, found_hands) -> tuple[float, float]:
    """Recall (IoU >= 0.3) and PCK@0.2 over the found hands' visible joints, per frame lists of Hands."""
    from handjoints_trt.postprocess import box_iou

    found = total = correct = visible = 0
    for sample, hands in zip(samples, found_hands):
        for label in sample.hands:
            total += 1
            if not hands:
                continue
            box = np.asarray(label.box, np.float64)[None]
            best = max(hands, key=lambda h: float(box_iou(box, np.asarray(h.box)[None])[0, 0]))
            if box_iou(box, np.asarray(best.box)[None])[0, 0] < 0.3:
                continue
            found += 1
            side = float(max(box[0, 2] - box[0, 0], box[0, 3] - box[0, 1]))
            err = np.linalg.norm(best.keypoints - label.keypoints, axis=1)[label.visible]
            correct += int((err <= 0.2 * side).sum())
            visible += int(label.visible.sum())
    assert total > 0
    return found / total, correct / max(visible, 1)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_shipped_models_end_to_end_on_synthetic_frames(precision):
    """Recall and PCK@0.2 of the shipped (trained) models on generated frames, FP32 and INT8 Q/DQ, with the
    default operating point (the learned vote), with the linear vote and with stage II's check off."""
    if not shipped_models_present(precision):
        pytest.skip(f"the trained {precision} models are not in {WEIGHTS_DIR} yet")
    synthetic = pytest.importorskip("handjoints_trt.data.synthetic", reason="the synthetic generator is absent")

    generator = synthetic.SyntheticHands(seed=123)
    samples = [generator.frame(index) for index in range(40)]
    with HandJointDetector(backend="onnxruntime", precision=precision, vote="linear", hand_threshold=0.0) as off:
        unfiltered = [off.detect(sample.image) for sample in samples]
    o = DetectorOptions()    # what the linear vote would keep
    linear = [[hands[i] for i in verify_hands([h.score for h in hands], [h.mean_confidence for h in hands],
                                              o.hand_threshold, o.confidence_weight, o.min_hand_confidence)]
              for hands in unfiltered]
    with HandJointDetector(backend="onnxruntime", precision=precision) as detector:    # the default: learned
        kept = [detector.detect(sample.image) for sample in samples]
    recall_off, pck_off = _recall_and_pck(samples, unfiltered)
    recall, pck = _recall_and_pck(samples, kept)
    # A regression guard for the shipped models, not their target: on these 40 synthetic frames (70 hands from
    # 20 px, cartoon-rendered, 384x384 frames) the models of 2026-12-02 (session 7, localizer loc_rs3) at their
    # operating point (box_threshold 0.30, floor 0.15) measured, FP32 / INT8: floor off, recall 41/70 (0.586) /
    # 41/70, PCK@0.2 0.481 / 0.458; with the floor, recall 35/70 (0.500) / 37/70, PCK@0.2 0.509 / 0.484.
    # Session 9 (the deep hand network): off 41/70 / 41/70, PCK 0.472 / 0.473; with the floor 36/70 (0.514) /
    # 36/70, PCK 0.509 / 0.515. Session 6: 0.543 / 0.506 off, 0.486 / 0.522 with the floor. The floor drops
    # cartoon hands in unusual views, and keeps the better joints. Session 10 (hand_deep4, surer of real hands):
    # off 41/70 / 41/70, PCK 0.467 / 0.472; with the floor 32/70 (0.457) / 33/70, PCK 0.547 / 0.539: one more
    # cartoon hand under the floor, better joints on the rest. Session 11 (localizer loc_ov2, the overlap-heavy
    # fine-tune; INT8 re-calibrated after the letterbox change): off 45/70 / 45/70, PCK 0.496 / 0.484; with the
    # floor 36/70 (0.514) / 38/70, PCK 0.552 / 0.545. Session 12 (localizer loc_ov4, 5 epochs more): off 47/70 /
    # 47/70, PCK 0.507 / 0.501; with the floor 38/70 (0.543) / 38/70, PCK 0.565 / 0.573. Session 15 (the same
    # models; stage II's vote in place of the floor): off 47/70 / 47/70, PCK 0.507 / 0.501; with the vote 39/70
    # (0.557) / 41/70 (0.586), PCK 0.550 / 0.537. Session 15's hand network (hand_rr05) with the vote: off 47/70 /
    # 47/70, PCK 0.494 / 0.491; with the vote 41/70 (0.586) / 43/70 (0.614), PCK 0.540 / 0.515 (more hands kept,
    # so more hard ones among those scored). Session 16 (boxes refined towards the joints' box): the same figures.
    # Session 17 (both networks fine-tuned for camera light and noise, each averaged with a shipped ingredient):
    # off 46/70 (0.657) / 45/70, PCK 0.503 / 0.518; with the vote 39/70 (0.557) / 38/70 (0.543), PCK 0.516 / 0.545.
    # The new localizer proposes one cartoon hand fewer and scores the rest lower (with session 16's localizer and
    # the new hand network 41/70 / 43/70): the price of its recall in dark and noisy real frames (RESULTS.md
    # sections 7 and 12), so the vote's bound came down from 0.55 to 0.53 here. Session 22 (any_angle by default,
    # hand_threshold 0.37 -> 0.41): off 46/70 / 45/70, PCK 0.545 / 0.542; with the vote 37/70 (0.529) / 38/70, PCK
    # 0.611 / 0.585: cartoon hands lie at any angle (their joints +10 points), the higher threshold drops two more
    # of them (on real frames it costs no recall: RESULTS.md section 16), so the vote's bounds are 0.52 and 0.55.
    # Session 23 (stage I proposes from 0.15, hand_threshold 0.41 -> 0.44): off 52/70 (0.743) / 51/70, PCK 0.541 /
    # 0.540; with the vote 36/70 (0.514) / 33/70 (0.471), PCK 0.617 / 0.610: the vote asks doubtful boxes for surer
    # joints, which cartoon hands in odd views lack, while real frames gain (turned photos' recall +5.8 points,
    # upright +1.2, composed frames the same: RESULTS.md section 17); so the vote's recall bound is 0.45.
    # Session 33 (the three networks trained with drawn faces as negatives, RESULTS.md section 28): off 52/70 (0.743)
    # / 52/70, PCK 0.498 / 0.507; with the vote 25/70 (0.357) / 26/70 (0.371), PCK 0.588 / 0.588. Drawn faces share
    # the renderer's look, and the networks became unsure of cartoon hands too (synthetic val PCK 0.749 -> 0.728)
    # while real photos gained precision (0.944 -> 0.966) and real faces are taken for hands half as often; so the
    # bounds came down to 0.48 (off) and 0.33 / 0.56 (the vote).
    # Session 34 (the aligned network 2 epochs more with synthetic hands weighted up, RESULTS.md section 29): off
    # 52/70 / 52/70, PCK 0.493 / 0.511; with the vote 26/70 (0.371) / 27/70 (0.386), PCK 0.626 / 0.593; the vote's
    # PCK bound rose to 0.58.
    # Session 36 (the learned vote by default, RESULTS.md section 31; the linear vote's figures as above): with the
    # learned vote 28/70 (0.400) / 30/70 (0.429), PCK 0.677 / 0.598; the recall bound rose to 0.37.
    # Session 37 (the localizer fine-tuned on faces in real skin, the vote fitted again, RESULTS.md section 33): off
    # 50/70 (0.714) / 52/70, PCK 0.490 / 0.522; learned 27/70 (0.386) / 27/70, PCK 0.669 / 0.703; linear 29/70
    # (0.414) / 29/70, PCK 0.570 / 0.593: the linear vote keeps two more cartoon hands than session 34's pair did,
    # with unsure joints, so its PCK bound came down to 0.55.
    # Session 39 (both hand networks fine-tuned on drawn faces in the skin of real palms, the vote fitted again,
    # RESULTS.md section 37): off 51/70 (0.729) / 52/70, PCK 0.466 / 0.517; learned 27/70 / 27/70, PCK 0.683 /
    # 0.682; linear 23/70 (0.329) / 25/70, PCK 0.612 / 0.621. The networks now read every cartoon hand a little
    # less surely (faces in real skin were their new negatives): the off PCK bound came down to 0.46 and the linear
    # recall bound to 0.32, while the default vote's PCK rose.
    # An untrained pair scores 0 and 0. Raise these as the models improve.
    assert recall_off >= 0.70 and pck_off >= 0.46, (recall_off, pck_off)
    assert recall >= 0.37 and pck >= 0.58, (recall, pck)
    linear_recall, linear_pck = _recall_and_pck(samples, linear)
    assert linear_recall >= 0.32 and linear_pck >= 0.55, (linear_recall, linear_pck)


def test_shipped_models_find_hands_in_small_real_photos(hagrid_dir, monkeypatch):
    """Real hagrid_mp val photos (median ~110 px long side), each a whole frame through detect(): stage I must
    find the hand at the default (capped) input, and the cap must cost nothing against blowing the photo up to
    384 px. The session-4 localizer needed the cap (74 vs 61 of these 80); the session-6 one, trained at the
    runtime's scale, also copes at 384, where the cap is then a 3-7x faster stage I on such frames."""
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    import handjoints_trt.detector as detector_module
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import box_iou

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:80]
    samples = [r.load() for r in records]

    def photos_found() -> int:
        found = 0
        with HandJointDetector(backend="onnxruntime", threads=1) as detector:
            for sample in samples:
                boxes = np.array([h.box for h in detector.detect(sample.image)], np.float64).reshape(-1, 4)
                truth = np.asarray(sample.hands[0].box, np.float64)[None]
                found += bool(len(boxes)) and float(box_iou(truth, boxes).max()) >= 0.5
        return found

    capped = photos_found()
    monkeypatch.setattr(detector_module, "AUTO_MAX_UPSCALE", 1e9)     # the old rule: always the model's 384
    uncapped = photos_found()
    # Measured 2026-12-02: session-6 models 73/80 capped, 71/80 uncapped (session-4 models: 74 / 61).
    assert capped >= 70, (capped, uncapped)
    assert capped >= uncapped - 3, (capped, uncapped)


def test_min_box_size_drops_only_tiny_false_boxes_on_real_photos(hagrid_dir):
    """On real hagrid_mp val photos, the shipped localizer's boxes with a long side under MIN_BOX_SIZE px are
    fingertips and borders, not the labelled hand: the default drops them and keeps every box that matched."""
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import box_iou
    from handjoints_trt.types import MIN_BOX_SIZE

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][500:700]
    counts = {}
    for floor in (0.0, MIN_BOX_SIZE):
        tiny = matched = found = 0
        with HandJointDetector(backend="onnxruntime", threads=1, min_box_size=floor) as detector:
            for record in records:
                sample = record.load()
                boxes, _ = detector.localize(sample.image)
                truth = np.array([h.box for h in sample.hands], np.float64)
                long_sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
                tiny += int((long_sides < MIN_BOX_SIZE).sum())
                found += len(boxes)
                matched += int((box_iou(truth, boxes) >= 0.5).any(axis=1).sum()) if len(boxes) else 0
        counts[floor] = (tiny, matched, found)
    (tiny_off, matched_off, found_off), (tiny_on, matched_on, found_on) = counts[0.0], counts[MIN_BOX_SIZE]
    # Measured 2026-12-02 (loc_rs3, these 200 photos, before the stage-II floor): off 6 tiny boxes of 220,
    # on 0 of 214; 189 photos' hands matched either way. Session 23 (boxes from 0.15): off 27 tiny of 303, on 0 of
    # 279, 198 matched either way: the floor runs before the max_hands cap, so a box the tiny ones crowded out of the
    # cap comes back (279 > 303 - 27).
    assert tiny_off >= 3 and tiny_on == 0, counts
    assert matched_on == matched_off and found_off - tiny_off <= found_on < found_off, counts


def test_joint_nms_reports_a_real_hand_found_twice_once(hagrid_dir):
    """A real val photo on which stage I boxes one hand twice (two boxes too far apart for box NMS, both through
    the vote) and stage II draws both skeletons on the same fingers: with joint_nms off detect() reports two hands,
    by default one, the surer, as it was. On a composed val frame (model_eval's 320x320 frame 12) two different
    hands whose joints lie 0.15-0.35 of a hand apart both stay at the default, and 0.35 would merge them."""
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    from handjoints_trt.data.compose import ComposeConfig, ComposedFrames
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands
    from handjoints_trt.postprocess import box_iou

    records = load_hagrid_mp(hagrid_dir, split="val")
    # Photo 11 with session 37's localizer (photo 18 until then, whose two boxes' skeletons now lie 0.18 of the hand
    # apart): the joints' median distance is 0.09 of the hand's size.
    photo = [r for r in records if r.hands][11].load().image
    with HandJointDetector(backend="onnxruntime", threads=1, joint_nms=0.0) as detector:
        twice = detector.detect(photo)
    with HandJointDetector(backend="onnxruntime", threads=1) as detector:
        once = detector.detect(photo)
    assert len(twice) == 2 and len(once) == 1, (len(twice), len(once))
    a, b = twice
    size = np.ptp(a.keypoints, axis=0).max()
    assert np.median(np.linalg.norm(a.keypoints - b.keypoints, axis=1)) < 0.15 * size     # one hand's fingers
    surer = max(twice, key=lambda h: h.mean_confidence)
    np.testing.assert_array_equal(once[0].keypoints, surer.keypoints)

    seed = 20261125                                            # benchmarks/model_eval.py's VAL_SEED
    frame = ComposedFrames(records, ComposeConfig(frame_sizes=((320, 320),)), seed=seed,
                           synthetic=SyntheticHands(SynthConfig(width=320, height=320), seed=seed)).frame(12)
    truth = np.array([h.box for h in frame.hands])
    found = {}
    for distance in (0.0, DetectorOptions().joint_nms, 0.35):
        with HandJointDetector(backend="onnxruntime", threads=1, joint_nms=distance) as detector:
            boxes = np.array([h.box for h in detector.detect(frame.image)]).reshape(-1, 4)
        found[distance] = int((box_iou(truth, boxes).max(axis=1) >= 0.5).sum()) if len(boxes) else 0
    # Measured 2026-12-05 (session 25): 4 of 4 labelled hands found with it off and at 0.15, 3 at 0.3. The two close
    # hands' joints lay 0.294 of a hand apart; with session 33's networks 0.304, so the test merges at 0.35 (3 found).
    assert found[0.0] == found[DetectorOptions().joint_nms] == 4 > found[0.35], found


def test_retry_long_side(dots):
    """retry_scale x the first look's long side, a multiple of 32, at least 128 and smaller than the first look."""
    with HandJointDetector(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"],
                           threads=1) as d:
        first = max(d.localizer_input_size((640, 480)))
        assert d.retry_long_side((640, 480)) == int(round(first * d.options.retry_scale / 32)) * 32 < first
        assert d.retry_long_side((1280, 720)) % 32 == 0
        assert d.retry_long_side((90, 60)) is None                   # the first look is already 128 px
    with HandJointDetector(backend="onnxruntime", localizer_model=dots["localizer"], hand_model=dots["hand"],
                           threads=1, retry_scale=0.0) as d:
        assert d.retry_long_side((640, 480)) is None
    for bad in (1.0, -0.1, True, "0.5"):
        with pytest.raises(ValueError, match="retry_scale"):
            DetectorOptions(retry_scale=bad).validate()


def test_retry_finds_a_real_hand_close_to_the_camera(hagrid_dir):
    """A real val photo blown up so that its hand is 1.1x the height of a 640x480 frame (cut by its edges): the
    localizer's first look finds no hand there, the coarser second look finds it (IoU >= 0.5 with the label), and
    the frame's timings add both looks up. A frame where the first look finds the hand takes no second one."""
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from retry_scale import placed

    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import box_iou

    photo = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][22].load()
    close = placed(photo, 1.1)
    with HandJointDetector(backend="onnxruntime", threads=1, retry_scale=0.0) as detector:
        assert detector.detect(close.image) == []
        one_look = detector.last_timings["localizer"]
    with HandJointDetector(backend="onnxruntime", threads=1) as detector:
        hands = detector.detect(close.image)
        assert len(hands) == 1 and box_iou(close.hands[0].box[None], np.array([hands[0].box]))[0, 0] >= 0.5
        timings = detector.last_timings
        assert timings["hands"] > 0 and timings["total"] >= timings["localizer"] + timings["hands"]
        calls = []
        localize = detector.localize
        detector.localize = lambda image, long_side=None: calls.append(long_side) or localize(image, long_side)
        assert len(detector.detect(placed(photo, 0.5).image)) == 1 and calls == [None]
        assert detector.detect(close.image) and calls == [None, None, detector.retry_long_side((640, 480))]
    print("one look", one_look, "two", timings)


def test_flip_test_is_mirror_symmetric_and_no_worse_on_real_hands(hagrid_dir):
    """flip_test averages a crop's maps with its mirror's, mirrored back: so a mirrored crop gets exactly the
    mirrored maps (plain inference does not), and on real val hands the joints are at least as good."""
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.evaluation import PCKAccumulator

    records = load_hagrid_mp(hagrid_dir, split="val")[:150]
    samples = [r.load() for r in records]
    pck = {}
    for flip in (False, True):
        acc = PCKAccumulator()
        with HandJointDetector(backend="onnxruntime", threads=1, flip_test=flip) as detector:
            crops = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3, 128, 128)).astype(np.float32)
            maps, mirrored = detector.detect_crops(crops), detector.detect_crops(crops[..., ::-1].copy())
            gap = float(np.abs(maps[..., ::-1] - mirrored).max())
            assert (gap < 1e-4) if flip else (gap > 1e-3), (flip, gap)
            for sample in samples:
                hands = detector.estimate(sample.image, np.stack([h.box for h in sample.hands]))
                acc.add(np.stack([h.keypoints for h in hands]), np.stack([h.keypoints for h in sample.hands]),
                        np.stack([h.visible for h in sample.hands]))
        pck[flip] = float(acc.result().pck[1])
    # Measured 2026-12-02 on these 150 photos: plain 0.958, flip 0.959 (1,000 photos: 0.962 -> 0.967).
    assert pck[True] >= pck[False] - 0.005 and pck[True] > 0.9, pck
