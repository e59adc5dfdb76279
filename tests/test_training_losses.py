"""Training mechanisms on hand-made cases: targets, loss-wise weights (eq. 10), error weighting (eq. 8)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.training import losses  # noqa: E402
from handjoints_trt.training.targets import center_radius, gaussian_heatmaps, localizer_targets  # noqa: E402


def one_hot_maps(points, size=16, k=3):
    """(1, k, size, size) maps with a single 1 at each (x, y) cell."""
    maps = torch.zeros(1, k, size, size)
    for j, (x, y) in enumerate(points):
        maps[0, j, y, x] = 1.0
    return maps


def test_gaussian_targets_peak_at_the_point_and_untrainable_maps_are_empty():
    pts = np.array([[3.5, 5.5], [10.0, 2.0]], np.float32)
    maps = gaussian_heatmaps(pts, np.array([True, False]), (16, 12), sigma=1.5)
    assert maps.shape == (2, 12, 16)
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (5, 3)  # cell (3, 5) has centre (3.5, 5.5)
    assert maps[0].max() == pytest.approx(1.0)
    assert maps[1].max() == 0.0


def test_loss_wise_weights_follow_eq10():
    # Ground truth at cell centres (2.5, 2.5), (8.5, 8.5), (12.5, 4.5).
    gt = torch.tensor([[[2.5, 2.5], [8.5, 8.5], [12.5, 4.5]]])
    ok = torch.ones(1, 3)
    stage1 = one_hot_maps([(2, 2), (8, 12), (12, 4)])   # errors 0, 4, 0 -> mean 4/3
    stage2 = one_hot_maps([(5, 6), (8, 8), (12, 4)])    # errors 5, 0, 0 -> mean 5/3
    w = losses.loss_wise_weights([stage1, stage2], gt, ok)
    raw = torch.tensor([4 / 3, 5 / 3])
    assert torch.allclose(w, raw * 2 / raw.sum())       # normalised to sum to N = 2
    # An invisible joint's error is not counted.
    ok_masked = torch.tensor([[1.0, 0.0, 1.0]])
    w_masked = losses.loss_wise_weights([stage1, stage2], gt, ok_masked)
    assert w_masked[0] == pytest.approx(0.0) and w_masked[1] == pytest.approx(2.0)


def test_hand_loss_weighs_each_stage_and_no_loss_wise_keeps_only_the_last():
    gt = torch.tensor([[[2.5, 2.5], [8.5, 8.5], [12.5, 4.5]]])
    ok = torch.ones(1, 3)
    targets = torch.zeros(1, 3, 16, 16)
    s1, s2 = one_hot_maps([(2, 2), (8, 12), (12, 4)]), one_hot_maps([(5, 6), (8, 8), (12, 4)])
    loss, w = losses.hand_loss([s1, s2], targets, gt, ok, loss_wise=True)
    expected = w[0] * losses.masked_mse(s1, targets, ok) + w[1] * losses.masked_mse(s2, targets, ok)
    assert loss.item() == pytest.approx(expected.item())
    loss_last, w_last = losses.hand_loss([s1, s2], targets, gt, ok, loss_wise=False)
    assert w_last.tolist() == [0.0, 1.0]
    assert loss_last.item() == pytest.approx(losses.masked_mse(s2, targets, ok).item())


def test_handoff_weights_follow_eq8_scaled_to_mean_one_with_a_floor():
    gt = torch.tensor([[[2.5, 2.5], [8.5, 8.5], [12.5, 4.5]]])
    maps = one_hot_maps([(2, 2), (8, 12), (12, 7)])     # errors 0, 4, 3
    w = losses.handoff_weights(maps, gt, torch.ones(1, 3), floor=0.25)
    assert torch.allclose(w, torch.tensor([[0.25, 3 * 4 / 7, 3 * 3 / 7]]))
    w_masked = losses.handoff_weights(maps, gt, torch.tensor([[1.0, 0.0, 1.0]]), floor=0.25)
    assert w_masked[0, 1] == 1.0                         # untrainable joints pass unweighted


def test_masked_mse_ignores_invisible_joints():
    hm = torch.zeros(1, 2, 4, 4)
    tg = torch.zeros(1, 2, 4, 4)
    tg[0, 1] = 5.0
    assert losses.masked_mse(hm, tg, torch.tensor([[1.0, 0.0]])).item() == 0.0
    assert losses.masked_mse(hm, tg, torch.tensor([[1.0, 1.0]])).item() == pytest.approx(12.5)


def test_localizer_targets_mark_each_centre_with_size_and_offset():
    t = localizer_targets(np.array([[10, 20, 50, 60], [100, 100, 140, 180]], np.float32), (160, 192), 4)
    assert t["centers"].shape == (1, 48, 40) and t["mask"].sum() == 2
    # Hand 1: centre (30, 40) -> cell (7, 10), offset (0.5, 0).
    assert t["mask"][0, 10, 7] == 1 and t["centers"][0, 10, 7] == 1.0
    assert np.allclose(t["offsets"][:, 10, 7], [0.5, 0.0])
    assert np.allclose(np.exp(t["sizes"][:, 10, 7]), [40, 40])
    assert np.allclose(np.exp(t["sizes"][:, 35, 30]), [40, 80])


def test_localizer_targets_center_sigma_narrows_the_peaks_and_keeps_overlapping_hands_apart():
    # Two 80 px hands overlapping at box IoU 0.5 (offset by a third of their side), stride 4.
    boxes = np.array([[40, 40, 120, 120], [67, 40, 147, 120]], np.float32)
    wide = localizer_targets(boxes, (192, 160), 4)["centers"][0]
    sharp = localizer_targets(boxes, (192, 160), 4, center_sigma=0.08)["centers"][0]
    assert wide[20, 20] == sharp[20, 20] == 1.0 and wide[20, 26] == sharp[20, 26] == 1.0
    # halfway between the centres: wide peaks nearly merge, sharp ones fall well below
    assert wide[20, 23] > 0.6 and sharp[20, 23] < 0.25
    assert sharp.sum() < 0.5 * wide.sum()
    # the sigma never falls below 0.8 cell, and a non-positive scale is refused
    assert center_radius(4, 4, 4, 0.01) == 0.8
    with pytest.raises(ValueError, match="scale"):
        center_radius(40, 40, 4, 0.0)


def test_focal_loss_is_lower_for_logits_that_match_the_peaks():
    t = torch.from_numpy(localizer_targets(np.array([[10, 20, 50, 60]], np.float32), (64, 64), 4)["centers"])[None]
    good = torch.where(t == 1, torch.tensor(6.0), torch.tensor(-6.0))
    bad = torch.zeros_like(t)
    assert losses.focal_loss(good, t) < 0.1 * losses.focal_loss(bad, t)
