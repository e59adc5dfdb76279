"""Stage II: SSHFR + a cascade of MSFF modules -> 21 joint heatmaps per hand crop (METHOD.md).

Shapes for the "paper" preset (a 256 x 256 crop, stride 4):
    crop (B, 3, 256, 256) -> SSHFR (B, 256, 64, 64)
    MSFF_i: branches (B, c, 64, 64), (B, c, 32, 32), (B, c, 16, 16) -> fusion (B, 3c, 64, 64)
            -> TP (B, 6c, 64, 64) -> attention (B, 6c, 64, 64) -> head (B, 21, 64, 64) -> AOMR (B, 21, 64, 64)
    MSFF_{i+1} input = 1x1 conv(concat(SH, heatmaps_i)) -> (B, 256, 64, 64)   (CPM-style hand-off)
Heatmaps are raw conv outputs (no softmax), trained with MSE against Gaussians of peak 1.
Every ablation switch of the config removes exactly its module (and the channels it added).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..skeleton import BONES, normalized_adjacency
from .config import HandNetConfig

# fn(stage_index, heatmaps (B, K, h, w)) -> (B, K) weights or None; eq. 8 error weighting (training only).
HandoffWeights = Callable[[int, torch.Tensor], Optional[torch.Tensor]]


class ConvBNReLU(nn.Sequential):
    """k x k conv (padding k//2, no bias: BN follows) + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class SSHFR(nn.Sequential):
    """Shallow spatial hand features representation (eq. 2): ten conv+BN+ReLU layers.

    Layers 1-5 are 5x5, 6-10 are 3x3; the first log2(stride) layers have stride 2, so a (B, 3, S, S) crop
    becomes (B, channels[-1], S/stride, S/stride) (paper: 256 x 64 x 64 for a 256 crop).
    """

    def __init__(self, channels: tuple[int, ...], stride: int):
        num_strided = stride.bit_length() - 1
        layers, in_channels = [], 3
        for index, out_channels in enumerate(channels):
            kernel = 5 if index < 5 else 3
            layers.append(ConvBNReLU(in_channels, out_channels, kernel, 2 if index < num_strided else 1))
            in_channels = out_channels
        super().__init__(*layers)


class MinimalStem(nn.Sequential):
    """The "no SSHFR" ablation's entry: one conv with kernel = stride = `stride` (a learned patchify) + BN +
    ReLU, the least needed to bring the crop to the MSFF feature size (the paper feeds the image "straight to
    the MSFF"; its branches need S/stride resolution and some channels)."""

    def __init__(self, out_channels: int, stride: int):
        super().__init__(
            nn.Conv2d(3, out_channels, stride, stride, 0, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class ResidualUnit(nn.Module):
    """RU: two 3x3 conv + BN with an identity shortcut (a 1x1 conv + BN when the channel count changes)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = ConvBNReLU(in_channels, out_channels, 3)
        self.conv2 = nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(out_channels))
        self.shortcut = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class FEC(nn.Sequential):
    """Feature extraction conv: p conv blocks (CB) of q residual units each, at constant resolution."""

    def __init__(self, in_channels: int, out_channels: int, p: int, q: int):
        blocks = []
        for block in range(p):
            units = [ResidualUnit(in_channels if block == 0 and unit == 0 else out_channels, out_channels)
                     for unit in range(q)]
            blocks.append(nn.Sequential(*units))
        super().__init__(*blocks)


class Branch(nn.Sequential):
    """One parallel MSFF branch: `num_down` DSCs (3x3, stride 2) then an FEC; c channels out."""

    def __init__(self, in_channels: int, c: int, num_down: int, p: int, q: int):
        layers, channels = [], in_channels
        for _ in range(num_down):
            layers.append(ConvBNReLU(channels, c, 3, 2))  # DSC
            channels = c
        layers.append(FEC(channels, c, p, q))
        super().__init__(*layers)


class ChannelShuffleTP(nn.Module):
    """Transpose (eq. 4): (B, 3c, h, w) -> view (B, 3, c, h, w) -> (B, c, 3, h, w) -> 3c channels that
    interleave the three scales, concatenated with the un-shuffled input: (B, 6c, h, w)."""

    def __init__(self, c: int, groups: int = 3):
        super().__init__()
        self.c, self.groups = c, groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # unflatten/flatten keep the batch axis symbolic, so the ONNX export stays batch-dynamic.
        shuffled = x.unflatten(1, (self.groups, self.c)).transpose(1, 2).flatten(1, 2)
        return torch.cat([x, shuffled], dim=1)


class ChannelAttention(nn.Module):
    """AT (eq. 5): x * sigmoid(f(maxpool(x)) + f(avgpool(x))), f a shared 1x1 bottleneck (CBAM-style)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.f = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        max_pooled = torch.amax(x, dim=(2, 3), keepdim=True)
        avg_pooled = torch.mean(x, dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.f(max_pooled) + self.f(avg_pooled))


class AOMR(nn.Module):
    """Anatomy-oriented mutual reinforcement (eq. 7): hm'_k = hm_k + sum_q L[k, q] hm_q.

    L = D^-1/2 A D^-1/2 of the hand skeleton. Applied as a 1x1 conv whose (K, K) weight is L, so it exports
    as a plain Conv. With learnable=True each bone gets its own scale (shared by both directions),
    initialised from L.
    """

    def __init__(self, learnable: bool = False):
        super().__init__()
        mixing = torch.from_numpy(normalized_adjacency())
        self.learnable = learnable
        if learnable:
            # basis[e] is 1 at (parent, child) and (child, parent) of bone e: matrix = sum_e scale_e basis_e.
            basis = torch.zeros(len(BONES), *mixing.shape)
            for edge, (parent, child) in enumerate(BONES):
                basis[edge, parent, child] = basis[edge, child, parent] = 1.0
            self.register_buffer("basis", basis)
            self.edge_scale = nn.Parameter(torch.tensor([float(mixing[p, c]) for p, c in BONES]))
        else:
            self.register_buffer("mixing", mixing)

    def matrix(self) -> torch.Tensor:
        """The (K, K) mixing matrix in use (L, or the learned per-bone scales)."""
        if self.learnable:
            return (self.basis * self.edge_scale[:, None, None]).sum(0)
        return self.mixing

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        weight = self.matrix()
        return heatmaps + F.conv2d(heatmaps, weight[:, :, None, None])


class MSFF(nn.Module):
    """One multi-scale feature fusion module: 3 branches -> fuse -> [TP] -> [AT] -> head -> [AOMR]."""

    def __init__(self, in_channels: int, config: HandNetConfig):
        super().__init__()
        c = config.c
        self.branches = nn.ModuleList(Branch(in_channels, c, num_down, config.p, config.q) for num_down in range(3))
        self.tp = ChannelShuffleTP(c) if config.use_tp else None
        self.attention = ChannelAttention(config.fusion_channels, config.attention_reduction) if config.use_at else None
        self.head = nn.Conv2d(config.fusion_channels, config.num_joints, 1)
        self.aomr = AOMR(config.aomr_learnable) if config.use_aomr else None

    def fuse(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 3: branches 2 and 3 up-sampled bilinearly to branch 1's size and concatenated: (B, 3c, h, w)."""
        full, half, quarter = (branch(x) for branch in self.branches)
        # scale_factor (not size=) keeps the graph free of shape arithmetic; validate() guarantees exact sizes.
        half = F.interpolate(half, scale_factor=2.0, mode="bilinear", align_corners=False)
        quarter = F.interpolate(quarter, scale_factor=4.0, mode="bilinear", align_corners=False)
        return torch.cat([full, half, quarter], dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, h, w) -> the fused features the head reads, after TP and attention:
        (B, fusion_channels, h, w)."""
        fused = self.fuse(x)
        if self.tp is not None:
            fused = self.tp(fused)
        if self.attention is not None:
            fused = self.attention(fused)
        return fused

    def predict(self, fused: torch.Tensor) -> torch.Tensor:
        """Fused features (B, fusion_channels, h, w) -> heatmaps (B, K, h, w)."""
        heatmaps = self.head(fused)
        return self.aomr(heatmaps) if self.aomr is not None else heatmaps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, h, w) -> heatmaps (B, K, h, w)."""
        return self.predict(self.features(x))


class Handoff(nn.Module):
    """CPM-style hand-off: 1x1 conv(concat(SH, heatmaps)) -> SH channels, computed as
    conv_f(SH) + conv_h(heatmaps) (the same linear map) so the big conv keeps SH's channel count, a
    multiple of 16 that ORT's NCHWc kernels run fast; the 48+21-channel concat ran ~10x slower per FLOP."""

    def __init__(self, feature_channels: int, num_joints: int):
        super().__init__()
        self.features_conv = nn.Conv2d(feature_channels, feature_channels, 1)
        self.heatmaps_conv = nn.Conv2d(num_joints, feature_channels, 1, bias=False)

    def forward(self, shallow: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        """shallow (B, F, h, w), heatmaps (B, K, h, w) -> next MSFF's input (B, F, h, w)."""
        return self.features_conv(shallow) + self.heatmaps_conv(heatmaps)


def upright_layout(positions: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """(B, K, 2) joint positions (x, y; y down) -> the same layout turned and scaled so that the wrist (joint 0)
    is at the origin and the middle finger's knuckle (joint 9) at (0, -1). A turn, not a reflection: a hand's
    chirality (which side its thumb is on) is kept, while the angle it is held at is removed."""
    p = positions - positions[:, :1]
    v = p[:, 9:10]                                                                    # (B, 1, 2)
    length = torch.sqrt((v * v).sum(dim=2, keepdim=True) + eps * eps)
    ux, uy = (v / length).unbind(dim=2)                                               # (B, 1) each
    x, y = p.unbind(dim=2)                                                            # (B, K) each
    # the rotation taking u to (0, -1): [[-uy, ux], [-ux, -uy]] (determinant 1)
    return torch.stack([-uy * x + ux * y, -ux * x - uy * y], dim=2) / length


class HandednessHead(nn.Module):
    """[ours] P(right hand) of each crop, from the last MSFF's fused features and its heatmaps.

    Handedness is the joints' 2-D chirality (is the thumb left or right of the index-to-little line) combined with
    which side of the hand faces the camera (palm or back: nails, knuckles, creases), so the head reads both:
    the features around every joint (a 1x1 conv to `channels`, `context` 3x3 convs for the surroundings, pooled
    under each joint's softmax-sharpened heatmap: what the skin looks like at the knuckles and tips) and the
    joints' soft-argmax positions in [-1, 1]; an MLP mixes them. fused (B, F, h, w), heatmaps (B, K, h, w) ->
    (B, 1) probability, float32. Defaults chosen on hagrid_mp val (agreement with MediaPipe, the model card):
    after one epoch of head training no 3x3 conv 0.839, one at 48 channels 0.936, two at 32 channels 0.935;
    after two, 0.957 (one at 48) against 0.946 (two at 32).
    """

    def __init__(self, fusion_channels: int, num_joints: int, channels: int = 48, hidden: int = 64,
                 sharpness: float = 10.0, context: int = 1, upright: bool = False):
        super().__init__()
        self.upright = upright
        position_features = 4 if upright else 2
        layers = [ConvBNReLU(fusion_channels, channels, 1)]
        layers += [ConvBNReLU(channels, channels, 3) for _ in range(context)]
        self.reduce = nn.Sequential(*layers) if context else layers[0]
        self.sharpness = sharpness
        self.mlp = nn.Sequential(nn.Linear(num_joints * (channels + position_features), hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, 1))

    def forward(self, fused: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        h, w = heatmaps.shape[2:]
        # softmax over each joint's map: where the joint is (a peak of ~1 x sharpness dominates the background)
        weights = torch.softmax(heatmaps.flatten(2) * self.sharpness, dim=2)            # (B, K, h*w)
        features = self.reduce(fused).flatten(2).transpose(1, 2)                        # (B, h*w, C)
        at_joints = torch.matmul(weights, features)                                     # (B, K, C)
        ys = torch.linspace(-1.0, 1.0, h, device=heatmaps.device, dtype=heatmaps.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=heatmaps.device, dtype=heatmaps.dtype)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(h * w, 2)  # (h*w, 2) x, y
        positions = torch.matmul(weights, grid)                                         # (B, K, 2)
        if self.upright:
            positions = torch.cat([positions, upright_layout(positions)], dim=2)          # (B, K, 4)
        logits = self.mlp(torch.cat([at_joints, positions], dim=2).flatten(1))
        return torch.sigmoid(logits)


class HandNet(nn.Module):
    """SSHFR (or the minimal stem) + N cascaded MSFF modules.

    forward(x (B, 3, S, S) float, BGR x/255 - 0.5) -> (B, K, S/stride, S/stride), the last MSFF's heatmaps.
    forward(x, return_all=True) -> list of the N MSFFs' heatmaps.
    forward_with_handedness(x) -> (heatmaps, P(right hand) (B, 1)) when config.handedness_head.
    handoff_weights: fn(stage_index, heatmaps) -> (B, K) or None; the heatmaps of MSFF_i (0-based
        stage_index i < N-1) handed on to MSFF_{i+1} are multiplied per joint by those weights (eq. 8).
        The returned heatmaps are never weighted.
    """

    def __init__(self, config: HandNetConfig):
        super().__init__()
        self.config = config.validate()
        features = config.feature_channels
        self.sshfr = SSHFR(config.sshfr_channels, config.stride) if config.use_sshfr else None
        self.stem = MinimalStem(features, config.stride) if not config.use_sshfr else None
        self.msff = nn.ModuleList(MSFF(features, config) for _ in range(config.num_msff))
        # CPM-style hand-off: MSFF_{i+1} sees concat(SH, heatmaps_i) reduced back to the SH channel count.
        self.handoff = nn.ModuleList(Handoff(features, config.num_joints) for _ in range(config.num_msff - 1))
        self.handedness = HandednessHead(config.fusion_channels, config.num_joints,
                                         upright=config.handedness_upright) if config.handedness_head else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """SH: (B, 3, S, S) -> (B, feature_channels, S/stride, S/stride)."""
        return self.sshfr(x) if self.sshfr is not None else self.stem(x)

    def forward(self, x: torch.Tensor, return_all: bool = False,
                handoff_weights: Optional[HandoffWeights] = None):
        all_heatmaps, _ = self._cascade(x, handoff_weights)
        return all_heatmaps if return_all else all_heatmaps[-1]

    def forward_with_handedness(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, S, S) -> (the last MSFF's heatmaps (B, K, h, w), P(right hand) (B, 1))."""
        if self.handedness is None:
            raise ValueError("this HandNet has no handedness head (config.handedness_head is False); train one "
                             "with `handjoints train-handedness`")
        all_heatmaps, fused = self._cascade(x, None, last_features=True)
        return all_heatmaps[-1], self.handedness(fused, all_heatmaps[-1])

    def _cascade(self, x: torch.Tensor, handoff_weights: Optional[HandoffWeights], last_features: bool = False):
        """(every MSFF's heatmaps, the last MSFF's fused features when last_features, else None).
        MSFFs run as module(x), so forward hooks on them fire, except the last one when its features are asked
        for (it then runs as features + predict, the same computation)."""
        shallow = self.features(x)
        stage_input = shallow
        all_heatmaps, fused = [], None
        for index, module in enumerate(self.msff):
            if last_features and index + 1 == len(self.msff):
                fused = module.features(stage_input)
                heatmaps = module.predict(fused)
            else:
                heatmaps = module(stage_input)
            all_heatmaps.append(heatmaps)
            if index + 1 < len(self.msff):
                handed = self._weighted(index, heatmaps, handoff_weights)
                stage_input = self.handoff[index](shallow, handed)
        return all_heatmaps, fused

    @staticmethod
    def _weighted(index: int, heatmaps: torch.Tensor, handoff_weights: Optional[HandoffWeights]) -> torch.Tensor:
        if handoff_weights is None:
            return heatmaps
        weights = handoff_weights(index, heatmaps)
        if weights is None:
            return heatmaps
        expected = tuple(heatmaps.shape[:2])
        if tuple(weights.shape) != expected:
            raise ValueError(f"handoff_weights({index}, heatmaps) must return a (B, K) = {expected} tensor or None, "
                             f"got shape {tuple(weights.shape)}")
        return heatmaps * weights.to(heatmaps.dtype)[:, :, None, None]
