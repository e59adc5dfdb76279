"""Stage I: a CPM-style fully convolutional hand localizer with centre-net style outputs at stride 4.

    frame (B, 3, H, W), H and W divisible by 32, BGR x/255 - 0.5 (preprocess.letterbox)
    -> backbone: plain 3x3 convs to stride 32 (+ a global-context term, so hands filling the frame are seen)
    -> neck: up-sampling path (FPN-style, lateral 1x1 + 3x3) back to stride 4
    -> num_stages CPM stages at stride 4; stage t > 1 sees the features + stage t-1's maps
    -> per stage {"centers": (B, 1, H/4, W/4) in 0..1, "sizes": (B, 2, H/4, W/4) log(box w, h in input
       pixels), "offsets": (B, 2, H/4, W/4) in 0..1, the centre's position inside its cell}.
Plain convs with few channels, no depthwise convs: ORT and TensorRT run those far better per FLOP.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import LocalizerConfig

CENTER_PRIOR = 0.1  # CenterNet: initial centre probability, so the focal loss starts stable
CENTER_BIAS = -math.log((1 - CENTER_PRIOR) / CENTER_PRIOR)  # -2.197
SIZE_PRIOR_PX = 48.0  # initial predicted box side, input pixels (a mid-sized hand)
NUM_MAPS = 5  # 1 centre + 2 sizes + 2 offsets


class ConvBNReLU(nn.Sequential):
    """3x3 (or k x k) conv + BN + ReLU, with optional stride and dilation ('same' padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1):
        padding = dilation * (kernel_size // 2)
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class GlobalContext(nn.Module):
    """x + broadcast(1x1 conv(global average of x)): a frame-wide receptive field for very large hands."""

    def __init__(self, channels: int):
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(torch.mean(x, dim=(2, 3), keepdim=True))


class Backbone(nn.Module):
    """Five stride-2 levels (strides 2..32); levels 4..32 add `depth` stride-1 convs (dilated at stride 32)."""

    def __init__(self, channels: tuple[int, ...], depth: tuple[int, ...]):
        super().__init__()
        levels, in_channels = [], 3
        for level, out_channels in enumerate(channels):
            layers = [ConvBNReLU(in_channels, out_channels, 3, 2)]
            extra = depth[level - 1] if level > 0 else 0
            dilation = 2 if level == len(channels) - 1 else 1  # widen the stride-32 receptive field cheaply
            layers += [ConvBNReLU(out_channels, out_channels, 3, 1, dilation) for _ in range(extra)]
            levels.append(nn.Sequential(*layers))
            in_channels = out_channels
        self.levels = nn.ModuleList(levels)
        self.context = GlobalContext(channels[-1])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features at strides 2, 4, 8, 16, 32 (the last with global context)."""
        outputs = []
        for level in self.levels:
            x = level(x)
            outputs.append(x)
        outputs[-1] = self.context(outputs[-1])
        return outputs


class UpMerge(nn.Module):
    """One neck step: 1x1(top) up-sampled x2 + 1x1(skip), then a 3x3 conv (refine=False: no 3x3, used at
    stride 4 where the first CPM stage's convs follow at once and a 3x3 there costs the most)."""

    def __init__(self, top_channels: int, skip_channels: int, out_channels: int, refine: bool = True):
        super().__init__()
        self.top = nn.Sequential(nn.Conv2d(top_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.skip = nn.Sequential(nn.Conv2d(skip_channels, out_channels, 1, bias=False),
                                  nn.BatchNorm2d(out_channels))
        self.merge = ConvBNReLU(out_channels, out_channels, 3) if refine else nn.Identity()

    def forward(self, top: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.top(top), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.merge(F.relu(up + self.skip(skip)))


class Stage(nn.Module):
    """One CPM stage at stride 4: `depth` 3x3 conv+BN+ReLU layers (the last dilated by 2) + a 1x1 head.

    A refining stage also sees the previous stage's maps. conv(concat(features, maps)) is computed as
    conv_f(features) + conv_m(maps) (the same linear map): the features conv keeps a multiple of 32
    input channels, which ORT's NCHWc kernels (block 16 on AVX-512) run several times faster per FLOP
    than the 37-channel concat would be.
    """

    def __init__(self, in_channels: int, hidden: int, depth: int, refines: bool):
        super().__init__()
        first_dilation = 2 if depth == 1 else 1
        self.features_conv = nn.Conv2d(in_channels, hidden, 3, 1, first_dilation, first_dilation, bias=False)
        self.maps_conv = (nn.Conv2d(NUM_MAPS, hidden, 3, 1, first_dilation, first_dilation, bias=False)
                          if refines else None)
        self.first = nn.Sequential(nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.body = nn.Sequential(*[ConvBNReLU(hidden, hidden, 3, 1, 2 if layer == depth - 2 else 1)
                                    for layer in range(depth - 1)])
        self.head = nn.Conv2d(hidden, NUM_MAPS, 1)
        nn.init.normal_(self.head.weight, std=0.01)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([CENTER_BIAS, math.log(SIZE_PRIOR_PX), math.log(SIZE_PRIOR_PX),
                                               0.0, 0.0]))

    def forward(self, features: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
        """features (B, C, h, w) [+ previous stage's maps (B, 5, h, w), as Localizer._handoff gives them]
        -> raw maps (B, 5, h, w): centre logit, log w, log h, offset logits x, y."""
        hidden = self.features_conv(features)
        if self.maps_conv is not None:
            hidden = hidden + self.maps_conv(previous)
        return self.head(self.body(self.first(hidden)))


def _split(raw: torch.Tensor, logits: bool) -> dict[str, torch.Tensor]:
    centers, sizes, offsets = raw[:, 0:1], raw[:, 1:3], raw[:, 3:5]
    return {"centers": centers if logits else torch.sigmoid(centers), "sizes": sizes,
            "offsets": torch.sigmoid(offsets)}


class Localizer(nn.Module):
    """forward(x (B, 3, H, W)) -> {"centers", "sizes", "offsets"} of the last stage (see module docstring).

    return_all=True: a list with one such dict per stage (training supervises every stage).
    logits=True: "centers" are the pre-sigmoid logits (for a numerically stable focal loss).
    """

    STRIDE = LocalizerConfig.STRIDE

    def __init__(self, config: LocalizerConfig):
        super().__init__()
        self.config = config.validate()
        backbone, neck = config.backbone_channels, config.neck_channels
        self.backbone = Backbone(backbone, config.backbone_depth)
        tops = (backbone[4], neck[0], neck[1])
        skips = (backbone[3], backbone[2], backbone[1])  # strides 16, 8, 4
        self.neck = nn.ModuleList(UpMerge(top, skip, out, refine=level < 2)
                                  for level, (top, skip, out) in enumerate(zip(tops, skips, neck)))
        self.stages = nn.ModuleList(
            Stage(neck[-1], config.stage_channels, config.stage_depth, refines=index > 0)
            for index in range(config.num_stages))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, neck_channels[-1], H/4, W/4)."""
        levels = self.backbone(x)
        top = levels[4]
        for merge, skip in zip(self.neck, (levels[3], levels[2], levels[1])):
            top = merge(top, skip)
        return top

    def forward(self, x: torch.Tensor, return_all: bool = False, logits: bool = False):
        features = self.features(x)
        outputs, raw = [], None
        for stage in self.stages:
            raw = stage(features, None if raw is None else self._handoff(raw))
            outputs.append(_split(raw, logits))
        return outputs if return_all else outputs[-1]

    @staticmethod
    def _handoff(raw: torch.Tensor) -> torch.Tensor:
        """Previous stage's maps as the next stage sees them: centre and offset probabilities, sizes in
        log-pixels scaled to about unit range (log(px)/4 is ~1 for hands of 20-300 px)."""
        return torch.cat([torch.sigmoid(raw[:, 0:1]), raw[:, 1:3] * 0.25, torch.sigmoid(raw[:, 3:5])], dim=1)
