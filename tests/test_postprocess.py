"""postprocess: sub-pixel heatmap decoding, spread/confidence, mapping back to the frame, boxes and NMS."""
from __future__ import annotations

import numpy as np
import pytest

from handjoints_trt import postprocess as pp
from handjoints_trt.preprocess import apply_affine, crop_affine


def render_gaussian(x: float, y: float, sigma: float, h: int = 32, w: int = 32) -> np.ndarray:
    """(h, w) float32 Gaussian peaking at continuous (x, y); cell (i, j) is sampled at its centre."""
    xs = np.arange(w) + 0.5
    ys = np.arange(h)[:, None] + 0.5
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma * sigma)).astype(np.float32)


# Interior, next to each border and in the corners (the 3x3 stencil must slide inwards there).
PEAKS = [(16.3, 15.8), (12.5, 12.5), (0.6, 5.2), (1.2, 30.9), (31.6, 31.3), (2.4, 3.1), (8.77, 0.25),
         (30.1, 14.6), (5.55, 27.45)]


@pytest.mark.parametrize("sigma", [1.5, 2.0, 2.5])
def test_decode_heatmaps_recovers_subpixel_peaks(sigma):
    maps = np.stack([render_gaussian(x, y, sigma) for x, y in PEAKS])[None]
    coords, peaks = pp.decode_heatmaps(maps)
    assert coords.shape == (1, len(PEAKS), 2) and coords.dtype == np.float32
    error = np.hypot(*(coords[0] - np.array(PEAKS)).T)
    assert error.max() < 0.1, error
    np.testing.assert_allclose(peaks[0], maps[0].max(axis=(1, 2)))


def test_decode_heatmaps_beats_argmax_on_noisy_maps():
    rng = np.random.default_rng(0)
    truth = rng.uniform(6, 26, (200, 2))
    maps = np.stack([render_gaussian(x, y, 2.0) for x, y in truth])[None]
    noisy = np.clip(maps + rng.normal(0, 0.05, maps.shape), 0, None).astype(np.float32)
    coords, _ = pp.decode_heatmaps(noisy)
    index = noisy[0].reshape(200, -1).argmax(axis=1)
    argmax_xy = np.stack([index % 32 + 0.5, index // 32 + 0.5], axis=1)
    refined = np.hypot(*(coords[0] - truth).T).mean()
    assert refined < 0.15
    assert refined < 0.5 * np.hypot(*(argmax_xy - truth).T).mean()


def test_decode_heatmaps_flat_and_negative_maps_give_argmax_cell_centre():
    maps = np.zeros((2, 1, 8, 8), np.float32)
    maps[1, 0] = -1.0
    maps[1, 0, 3, 5] = -0.5                                  # the max of an all-negative map
    coords, peaks = pp.decode_heatmaps(maps)
    np.testing.assert_array_equal(coords[:, 0], [[0.5, 0.5], [5.5, 3.5]])
    np.testing.assert_array_equal(peaks[:, 0], [0.0, -0.5])
    assert np.isfinite(coords).all()


def test_spread_grows_with_sigma_and_confidence_falls():
    # On a cell centre, so every map peaks at exactly 1 and only the spread differs.
    maps = np.stack([render_gaussian(16.5, 15.5, s) for s in (1.0, 1.5, 2.0, 3.0, 4.0)])[None]
    coords, peaks = pp.decode_heatmaps(maps)
    spread = pp.heatmap_spread(maps, coords)
    assert np.all(np.diff(spread[0]) > 0), spread
    # A Gaussian's spread is ~ 2/3 of the radius where it falls to the threshold.
    radius = 2.0 * np.sqrt(2 * np.log(1 / pp.SPREAD_THRESHOLD))
    assert spread[0, 2] == pytest.approx(2 / 3 * radius, rel=0.1)
    confidence = pp.spread_to_confidence(spread, peaks)
    assert np.all(np.diff(confidence[0]) < 0) and np.all((confidence >= 0) & (confidence <= 1))


def test_spread_undefined_without_a_peak():
    maps = np.zeros((1, 1, 8, 8), np.float32)
    spread = pp.heatmap_spread(maps, np.full((1, 1, 2), 4.0))
    assert np.isnan(spread[0, 0])
    assert pp.spread_to_confidence(spread, np.zeros((1, 1)))[0, 0] == 0.0


def test_confidence_is_monotone():
    spread = np.linspace(0, 20, 41)[None]
    conf = pp.spread_to_confidence(spread, np.ones_like(spread))
    assert np.all(np.diff(conf[0]) < 0)
    peaks = np.linspace(0, pp.PEAK_REFERENCE, 11)[None]   # rises with the peak up to the reference...
    conf = pp.spread_to_confidence(np.full_like(peaks, 3.0), peaks)
    assert np.all(np.diff(conf[0]) > 0) and conf[0, 0] == 0.0
    high = np.linspace(pp.PEAK_REFERENCE, 2, 11)[None]    # ...and never falls beyond it
    assert np.all(np.diff(pp.spread_to_confidence(np.full_like(high, 3.0), high)[0]) >= 0)


def test_decode_joints_maps_back_through_crop_affine():
    crop_size, heatmap_size = 128, 32
    stride = crop_size / heatmap_size
    frame_points = np.array([[412.3, 287.9], [455.1, 250.4], [380.6, 330.2]])
    box = np.array([370.0, 240.0, 470.0, 340.0])
    affines = np.stack([crop_affine(box, crop_size), crop_affine(box, crop_size, rotation_deg=30.0)])
    maps = []
    for m in affines:
        heat_xy = apply_affine(m, frame_points) / stride            # crop px -> heatmap cells
        maps.append([render_gaussian(x, y, 2.0) for x, y in heat_xy])
    keypoints, confidence, spread = pp.decode_joints(np.array(maps), affines, stride)
    assert keypoints.shape == (2, 3, 2) and confidence.shape == (2, 3) and spread.shape == (2, 3)
    error = np.hypot(*(keypoints - frame_points[None]).reshape(-1, 2).T)
    assert error.max() < 0.5, error
    assert np.all(confidence > 0.5)


def test_heatmap_to_crop_scales_cell_edges():
    np.testing.assert_allclose(pp.heatmap_to_crop(np.array([[0.0, 1.0], [0.5, 32.0]]), 4), [[0, 4], [2, 128]])


def box_maps(hands, h=40, w=48, stride=4):
    """Centre, size and offset maps for hands [(cx, cy, bw, bh, score)] in input pixels."""
    centers = np.zeros((1, 1, h, w), np.float32)
    sizes = np.zeros((1, 2, h, w), np.float32)
    offsets = np.zeros((1, 2, h, w), np.float32)
    for cx, cy, bw, bh, score in hands:
        col, row = int(cx // stride), int(cy // stride)
        gy, gx = np.mgrid[0:h, 0:w]
        centers[0, 0] = np.maximum(centers[0, 0], score * np.exp(-((gx - col) ** 2 + (gy - row) ** 2) / 4.0))
        sizes[0, :, row, col] = np.log([bw, bh])
        offsets[0, :, row, col] = [cx / stride - col, cy / stride - row]
    return centers, sizes, offsets


def test_decode_boxes_finds_peaks():
    hands = [(50.0, 60.0, 40.0, 50.0, 0.9), (150.2, 110.6, 30.0, 24.0, 0.7), (100.0, 20.0, 10.0, 10.0, 0.3)]
    boxes, scores = pp.decode_boxes(*box_maps(hands))
    expected = np.array([[cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2] for cx, cy, bw, bh, _ in hands[:2]])
    assert boxes.shape == (2, 4) and boxes.dtype == np.float32       # the 0.3 hand is under the threshold
    np.testing.assert_allclose(boxes, expected, atol=1e-3)
    np.testing.assert_allclose(scores, [0.9, 0.7], atol=1e-6)
    boxes, _ = pp.decode_boxes(*box_maps(hands), max_boxes=1)
    assert len(boxes) == 1


def test_decode_boxes_empty_map():
    boxes, scores = pp.decode_boxes(*box_maps([]))
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_nms_keeps_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]], float)
    scores = np.array([0.6, 0.9, 0.5, 0.7])
    np.testing.assert_array_equal(pp.nms(boxes, scores, 0.4), [1, 2])
    np.testing.assert_array_equal(pp.nms(boxes, scores, 0.99), [1, 3, 0, 2])


def test_nms_nested_drops_a_box_inside_a_better_one():
    # A knuckle box (score 0.6) inside its hand (0.9): IoU 100 / 1600 is far below any IoU threshold.
    boxes = np.array([[0, 0, 40, 40], [10, 10, 20, 20], [35, 35, 45, 45], [60, 0, 70, 10]], float)
    scores = np.array([0.9, 0.6, 0.5, 0.4])
    np.testing.assert_array_equal(pp.nms(boxes, scores, 0.4), [0, 1, 2, 3])
    # 25 % of the third box lies inside the first, so only the knuckle goes.
    np.testing.assert_array_equal(pp.nms(boxes, scores, 0.4, nested=0.9), [0, 2, 3])
    np.testing.assert_array_equal(pp.nms(boxes, scores, 0.4, nested=0.2), [0, 3])
    # A better small box keeps a worse large one round it: the large one does not lie inside the small one.
    np.testing.assert_array_equal(pp.nms(boxes, np.array([0.5, 0.9, 0.3, 0.2]), 0.4, nested=0.9), [1, 0, 2, 3])
    with pytest.raises(ValueError, match="nested must be a fraction"):
        pp.nms(boxes, scores, 0.4, nested=1.5)


def test_box_inside_hand_computed():
    inside = pp.box_inside(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [2, 2, 4, 4], [20, 20, 30, 30],
                                                                 [3, 3, 3, 5]]))
    np.testing.assert_allclose(inside, [[0.5, 1.0, 0.0, 0.0]])          # an empty box lies nowhere


def test_decode_boxes_nested_option():
    hands = [(80.0, 80.0, 120.0, 120.0, 0.9), (60.0, 100.0, 16.0, 16.0, 0.6)]
    maps = box_maps(hands, h=50, w=50)
    assert len(pp.decode_boxes(*maps)[0]) == 2
    boxes, scores = pp.decode_boxes(*maps, nms_nested=0.9)
    np.testing.assert_allclose(boxes, [[20, 20, 140, 140]], atol=1e-3)
    np.testing.assert_allclose(scores, [0.9], atol=1e-6)


def test_decode_boxes_min_size_drops_tiny_boxes_before_the_cap():
    # A fingertip-sized box (long side 12 px) scoring above two real hands, then a 20 x 14 hand.
    hands = [(30.0, 30.0, 12.0, 8.0, 0.95), (80.0, 80.0, 60.0, 70.0, 0.9), (150.0, 40.0, 20.0, 14.0, 0.8)]
    maps = box_maps(hands)
    boxes, scores = pp.decode_boxes(*maps, min_size=16.0, max_boxes=2)
    np.testing.assert_allclose(scores, [0.9, 0.8], atol=1e-6)          # the tiny box took no slot of the two
    np.testing.assert_allclose(boxes[1], [140, 33, 160, 47], atol=1e-3)  # kept on its long side, 20 >= 16
    assert len(pp.decode_boxes(*maps, max_boxes=2)[0]) == 2 and pp.decode_boxes(*maps)[1][0] == np.float32(0.95)
    assert len(pp.decode_boxes(*maps, min_size=21.0)[0]) == 1


def test_box_iou_hand_computed():
    iou = pp.box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]]))
    np.testing.assert_allclose(iou, [[50 / 150, 0.0, 1.0]])


@pytest.mark.parametrize("call, name", [
    (lambda: pp.decode_heatmaps(np.zeros((21, 32, 32))), "heatmaps"),
    (lambda: pp.heatmap_spread(np.zeros((1, 21, 8, 8)), np.zeros((1, 20, 2))), "coords"),
    (lambda: pp.crop_to_frame(np.zeros((2, 21, 2)), np.zeros((1, 2, 3))), "affines"),
    (lambda: pp.crop_to_frame(np.zeros((2, 21)), np.zeros((2, 2, 3))), "points"),
    (lambda: pp.decode_boxes(np.zeros((1, 10, 10)), np.zeros((1, 2, 10, 10)), np.zeros((1, 2, 10, 10))),
     "centers"),
    (lambda: pp.decode_boxes(np.zeros((1, 1, 10, 10)), np.zeros((1, 2, 10, 9)), np.zeros((1, 2, 10, 10))),
     "sizes"),
    (lambda: pp.nms(np.zeros((3, 4)), np.zeros(2)), "scores"),
    (lambda: pp.box_iou(np.zeros((3, 5)), np.zeros((1, 4))), "a"),
])
def test_bad_shapes_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        call()


def test_nms_max_keep_stops_early():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float)
    np.testing.assert_array_equal(pp.nms(boxes, np.array([0.5, 0.9, 0.7]), max_keep=2), [1, 2])


def test_decode_boxes_noisy_map_stays_bounded():
    rng = np.random.default_rng(0)
    centers = rng.uniform(0.4, 0.5, (1, 1, 80, 80)).astype(np.float32)
    sizes = np.full((1, 2, 80, 80), np.log(6.0), np.float32)
    boxes, scores = pp.decode_boxes(centers, sizes, np.zeros((1, 2, 80, 80), np.float32), max_boxes=7)
    assert len(boxes) == 7 and np.all(np.diff(scores) <= 0)
    assert scores[0] == centers.max()                      # the best peak survives the candidate cut


def test_hand_scores_and_verify_hands_hand_computed():
    """The vote: (s + w c) / (1 + w) >= hand_threshold, and the floor on c."""
    s, c = np.array([0.9, 0.35, 0.3, 0.6]), np.array([0.05, 0.9, 0.4, 0.5])
    np.testing.assert_allclose(pp.hand_scores(s, c, 0.5), [(0.9 + 0.025) / 1.5, 0.8 / 1.5, 0.5 / 1.5, 0.85 / 1.5])
    np.testing.assert_allclose(pp.hand_scores(s, c, 0.0), s)               # weight 0: the box score alone
    # 0.617, 0.533, 0.333, 0.567 at w 0.5: a sure box with unsure joints (an edge-cut hand) stays, a doubtful
    # box stays only with sure joints.
    assert pp.verify_hands(s, c, 0.5, 0.5).tolist() == [0, 1, 3]
    assert pp.verify_hands(s, c, 0.55, 0.5).tolist() == [0, 3]
    assert pp.verify_hands(s, c, 0.5, 0.5, min_hand_confidence=0.1).tolist() == [1, 3]   # the floor as well
    assert pp.verify_hands(s, c, 0.0, 0.5).tolist() == [0, 1, 2, 3]
    assert pp.verify_hands([], [], 0.37, 0.5).tolist() == []
    with pytest.raises(ValueError, match="one value per hand"):
        pp.verify_hands(s, c[:2], 0.37, 0.5)
    with pytest.raises(ValueError, match="confidence_weight"):
        pp.hand_scores(s, c, -1.0)


def spread_hand(x: float, y: float, size: float) -> np.ndarray:
    """(21, 2) joints of an open hand, wrist at (x, y), fingers fanned upwards, joints' box about ``size`` px."""
    points = [(0.0, 0.0)]
    for finger, angle in enumerate(np.radians([-60, -25, -5, 15, 35])):
        for step in range(1, 5):
            r = 0.25 * step * (0.8 if finger == 0 else 1.0)
            points.append((np.sin(angle) * r, -np.cos(angle) * r))
    p = np.array(points)
    return (p / np.ptp(p, axis=0).max() * size + [x, y]).astype(np.float32)


def test_joint_nms_reports_a_hand_found_twice_once():
    """A second skeleton on the same fingers (a few px off) goes, the surer one stays; a hand beside it, under
    it, or held in front of a larger one stays; rank overrides confidence; distance 0 is off."""
    hand = spread_hand(100, 200, 100)
    twice = hand + np.float32(4.0)                         # 4 % of the hand's size off: the same hand
    beside = spread_hand(140, 200, 100)                    # overlapping boxes, joints 40 px apart
    small = spread_hand(110, 170, 35)                      # a small hand in front of the large one
    joints = np.stack([hand, twice, beside, small])
    conf = np.array([0.8, 0.9, 0.7, 0.6])[:, None].repeat(21, axis=1)
    assert pp.joint_nms(joints, conf, 0.15).tolist() == [1, 2, 3]        # the surer of the pair: index 1
    assert pp.joint_nms(joints, conf, 0.15, rank=[4, 3, 2, 1]).tolist() == [0, 2, 3]
    assert pp.joint_nms(joints, conf, 0.0).tolist() == [0, 1, 2, 3]
    assert pp.joint_nms(joints, conf, 0.5).tolist() == [1]               # too far: different hands merged
    assert pp.joint_nms(joints[:1], conf[:1], 0.15).tolist() == [0]
    assert pp.joint_nms(np.zeros((0, 21, 2)), np.zeros((0, 21)), 0.15).tolist() == []
    with pytest.raises(ValueError, match=r"keypoints \(N, 21, 2\)"):
        pp.joint_nms(joints[:, :20], conf, 0.15)
    with pytest.raises(ValueError, match="fraction"):
        pp.joint_nms(joints, conf, 1.5)
    with pytest.raises(ValueError, match="rank"):
        pp.joint_nms(joints, conf, 0.15, rank=[1, 2])


def test_refine_boxes_hand_computed():
    """Each box moves towards its joints' tight box (clipped to the frame) by weight x the ramp of its mean joint
    confidence: not at all below the ramp, halfway up it by half the weight, fully above it."""
    boxes = np.array([[0, 0, 100, 100]] * 4, np.float32)
    joints = np.zeros((4, 21, 2), np.float32)
    joints[:, :, 0] = np.linspace(20, 60, 21)          # joints' box x 20..60, y 10..50
    joints[:, :, 1] = np.linspace(10, 50, 21)
    joints[3, 0] = (-30, 10)                            # a joint left of the frame: the box is clipped at 0
    conf = np.array([0.5, 0.75, 0.95, 0.95])[:, None].repeat(21, axis=1)
    out = pp.refine_boxes(boxes, joints, conf, (640, 480), 0.5, (0.6, 0.9))
    assert out.dtype == np.float32 and out.shape == (4, 4)
    np.testing.assert_allclose(out[0], [0, 0, 100, 100])                          # under the ramp: stage I's box
    np.testing.assert_allclose(out[1], 0.75 * boxes[1] + 0.25 * np.array([20, 10, 60, 50]), atol=1e-5)
    np.testing.assert_allclose(out[2], [10, 5, 80, 75], atol=1e-5)                 # the full weight, 0.5
    np.testing.assert_allclose(out[3], [0, 5, 80, 75], atol=1e-5)                  # clipped joint box x0 = 0
    np.testing.assert_allclose(pp.refine_boxes(boxes, joints, conf, (640, 480), 0.0, (0.6, 0.9)), boxes)
    np.testing.assert_allclose(pp.refine_boxes(boxes, joints, conf, (640, 480), 1.0, (0.6, 0.9))[2],
                               [20, 10, 60, 50], atol=1e-5)
    assert pp.refine_boxes(np.zeros((0, 4)), np.zeros((0, 21, 2)), np.zeros((0, 21)), (64, 64), 0.5,
                           (0.6, 0.9)).shape == (0, 4)
    # A box reaching past the frame (a tracked hand's enlarged, moved-ahead joints' box) comes back clipped.
    wide = np.array([[-10, -5, 700, 500]], np.float32)
    for weight in (0.0, 0.5):
        np.testing.assert_allclose(pp.refine_boxes(wide, joints[:1], conf[:1], (640, 480), weight, (0.6, 0.9)),
                                   [[0, 0, 640, 480]])
    with pytest.raises(ValueError, match="keypoints"):
        pp.refine_boxes(boxes, joints[:2], conf, (640, 480), 0.5, (0.6, 0.9))
    with pytest.raises(ValueError, match="ramp"):
        pp.refine_boxes(boxes, joints, conf, (640, 480), 0.5, (0.9, 0.6))
    with pytest.raises(ValueError, match="weight"):
        pp.refine_boxes(boxes, joints, conf, (640, 480), 1.5, (0.6, 0.9))
