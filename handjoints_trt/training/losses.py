"""Losses of both stages: the loss-wise mechanism (METHOD.md eqs. 9-11), the error weighting of the heatmaps
handed on between MSFFs (eq. 8), and the localizer's CenterNet-style loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def argmax_joints(heatmaps: torch.Tensor) -> torch.Tensor:
    """(B, K, h, w) -> (B, K, 2) arg-max positions in heatmap continuous coords (cell centres, eq. 9)."""
    b, k, h, w = heatmaps.shape
    idx = heatmaps.flatten(2).argmax(dim=2)
    return torch.stack([(idx % w).float() + 0.5, (idx // w).float() + 0.5], dim=2)


def joint_errors(heatmaps: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    """(B, K) Euclidean distance, in heatmap cells, between each decoded joint and its ground truth."""
    return (argmax_joints(heatmaps.detach()) - keypoints).norm(dim=2)


def masked_mse(heatmaps: torch.Tensor, targets: torch.Tensor, trainable: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the maps of trainable joints only (invisible joints carry no loss)."""
    per_joint = ((heatmaps - targets) ** 2).mean(dim=(2, 3))  # (B, K)
    return (per_joint * trainable).sum() / trainable.sum().clamp(min=1.0)


def loss_wise_weights(stage_heatmaps: list[torch.Tensor], keypoints: torch.Tensor,
                      trainable: torch.Tensor) -> torch.Tensor:
    """W_i of eq. 10: each MSFF's mean joint error over the batch, detached and normalised to sum to N so the
    loss scale does not drift ([ours], METHOD.md). Returns (N,)."""
    errors = torch.stack([(joint_errors(hm, keypoints) * trainable).sum() / trainable.sum().clamp(min=1.0)
                          for hm in stage_heatmaps])
    n = len(stage_heatmaps)
    return (errors * n / errors.sum().clamp(min=1e-6)).detach()


def handoff_weights(heatmaps: torch.Tensor, keypoints: torch.Tensor, trainable: torch.Tensor,
                    floor: float = 0.25) -> torch.Tensor:
    """Eq. 8: per-joint weights Ed_k / sum_k Ed_k for the heatmaps handed to the next MSFF. [ours] scaled by K
    so they average 1 (inference passes heatmaps unweighted, i.e. weight 1) and floored so a joint that is
    already right is damped, not erased. Untrainable joints get weight 1. Returns (B, K), detached."""
    err = joint_errors(heatmaps, keypoints) * trainable
    k = heatmaps.shape[1]
    weights = err * k / err.sum(dim=1, keepdim=True).clamp(min=1e-6)
    weights = torch.where(trainable > 0, weights.clamp(min=floor), torch.ones_like(weights))
    return weights.detach()


def hand_loss(stage_heatmaps: list[torch.Tensor], targets: torch.Tensor, keypoints: torch.Tensor,
              trainable: torch.Tensor, loss_wise: bool = True,
              located: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 11: sum_i W_i * MSE(hm_i, targets). Without loss-wise (the HRNet ablation) only the last MSFF is
    supervised. ``located`` (B, K): the joints whose position is known, for the weights W_i (default
    ``trainable``; hand-free crops train their maps but have no position). Returns (loss, W)."""
    if not loss_wise:
        w = torch.zeros(len(stage_heatmaps), device=targets.device)
        w[-1] = 1.0
        return masked_mse(stage_heatmaps[-1].float(), targets, trainable), w
    w = loss_wise_weights(stage_heatmaps, keypoints, trainable if located is None else located)
    loss = sum(wi * masked_mse(hm.float(), targets, trainable) for wi, hm in zip(w, stage_heatmaps))
    return loss, w


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on centre heatmaps, normalised by the number of hands."""
    logits = logits.float()
    pos = targets.eq(1.0).float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    pos_loss = -(log_p * (1 - p) ** alpha * pos).sum()
    neg_loss = -(log_not_p * p ** alpha * (1 - targets) ** beta * (1 - pos)).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1.0)


def localizer_loss(stages: list[dict[str, torch.Tensor]], targets: dict[str, torch.Tensor],
                   size_weight: float = 1.0, offset_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over CPM stages of focal(centres) + L1(log sizes) + L1(offsets) at the hands' centre cells.
    Each stage dict holds centre *logits* (the model's logits=True output)."""
    mask = targets["mask"]
    n = mask.sum().clamp(min=1.0)
    total = 0.0
    parts = {"center": 0.0, "size": 0.0, "offset": 0.0}
    for out in stages:
        c = focal_loss(out["centers"], targets["centers"])
        s = (F.l1_loss(out["sizes"].float(), targets["sizes"], reduction="none") * mask).sum() / n
        o = (F.l1_loss(out["offsets"].float(), targets["offsets"], reduction="none") * mask).sum() / n
        total = total + c + size_weight * s + offset_weight * o
        parts["center"] += float(c.detach())
        parts["size"] += float(s.detach())
        parts["offset"] += float(o.detach())
    return total, parts
