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
    """One neck step: 1x1(top) up-sampled x2 + 1x1(skip), then a 3x3 conv; the 1x1s run at low cost."""

    def __init__(self, top_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.top = nn.Sequential(nn.Conv2d(top_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.skip = nn.Sequential(nn.Conv2d(skip_channels, out_channels, 1, bias=False),
                                  nn.BatchNorm2d(out_channels))
        self.merge = ConvBNReLU(out_channels, out_channels, 3)

    def forward(self, top: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.top(top), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.merge(F.relu(up + self.skip(skip)))


class Stage(nn.Module):
    """One CPM stage at stride 4: two 3x3 convs (the second dilated) + a 1x1 head to the 5 raw maps."""

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(ConvBNReLU(in_channels, hidden, 3), ConvBNReLU(hidden, hidden, 3, 1, 2))
        self.head = nn.Conv2d(hidden, NUM_MAPS, 1)
        nn.init.normal_(self.head.weight, std=0.01)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([CENTER_BIAS, math.log(SIZE_PRIOR_PX), math.log(SIZE_PRIOR_PX),
                                               0.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> raw maps (B, 5, h, w): centre logit, log w, log h, offset logits x, y."""
        return self.head(self.body(x))


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
        self.neck = nn.ModuleList(UpMerge(top, skip, out) for top, skip, out in zip(tops, skips, neck))
        self.stages = nn.ModuleList(
            Stage(neck[-1] + (NUM_MAPS if index else 0), config.stage_channels) for index in range(config.num_stages))

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
            raw = stage(features if raw is None else torch.cat([features, self._handoff(raw)], dim=1))
            outputs.append(_split(raw, logits))
        return outputs if return_all else outputs[-1]

    @staticmethod
    def _handoff(raw: torch.Tensor) -> torch.Tensor:
        """Previous stage's maps as the next stage sees them: centre and offset probabilities, sizes in
        log-pixels scaled to about unit range (log(px)/4 is ~1 for hands of 20-300 px)."""
        return torch.cat([torch.sigmoid(raw[:, 0:1]), raw[:, 1:3] * 0.25, torch.sigmoid(raw[:, 3:5])], dim=1)
