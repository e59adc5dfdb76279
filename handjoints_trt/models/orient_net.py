"""[ours] The hand-direction network (OrientNetConfig): a hand's upright crop -> which way the hand points.

    crops (B, 3, S, S), the hand network's input (preprocess.crop_hands), averaged down config.pool times
    -> stride-2 3x3 conv+BN+ReLU per entry of config.channels (one more 3x3 at strides 4 and 8)
    -> head "points": two dilated 3x3 convs, a 1x1 conv to one map per joint of config.joints (the wrist, the
       middle knuckle); each map's softmax over its cells gives the joint's expected position (soft-argmax), the
       wrist -> the others' mean the direction
       head "vector": flatten -> linear, the direction regressed directly
    -> direction (B, 2): the unit vector from the wrist to the middle finger's knuckle in crop pixels (x right,
       y down); (0, -1) is a hand pointing up.
Plain 3x3 convs with few channels: a small fraction of stage II's work.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import OrientNetConfig
from .localizer import ConvBNReLU



class OrientNet(nn.Module):
    """forward(crops) -> (B, 2) unit direction vectors (see the module docstring)."""

    def __init__(self, config: OrientNetConfig):
        super().__init__()
        self.config = config.validate()
        layers, in_channels = [nn.AvgPool2d(config.pool)] if config.pool > 1 else [], 3
        for level, out_channels in enumerate(config.channels):
            layers.append(ConvBNReLU(in_channels, out_channels, 3, 2))
            if level in (1, 2):   # strides 4 and 8: more view of the hand at little cost
                layers.append(ConvBNReLU(out_channels, out_channels, 3, 1))
            in_channels = out_channels
        self.stride = config.pool * 2 ** len(config.channels)
        side = config.crop_size // self.stride
        if config.head == "points":   # a view of the whole hand from every cell before the maps
            layers += [ConvBNReLU(in_channels, in_channels, 3, 1, 2), ConvBNReLU(in_channels, in_channels, 3, 1, 4)]
            self.head = nn.Conv2d(in_channels, len(config.joints), 1)
            centres = (torch.arange(side, dtype=torch.float32) + 0.5) * self.stride   # cell centres, crop pixels
            grid_y, grid_x = torch.meshgrid(centres, centres, indexing="ij")
            self.register_buffer("grid", torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], 1), persistent=False)
        else:
            self.head = nn.Linear(in_channels * side * side, 2)
        self.body = nn.Sequential(*layers)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        if self.config.head == "points":
            return points_direction(self.points(self.raw(crops)))
        return F.normalize(self.raw(crops), dim=1, eps=1e-6)

    def raw(self, crops: torch.Tensor) -> torch.Tensor:
        """"points": the joint maps' logits (B, J, h, w); "vector": the unnormalised direction (B, 2)."""
        features = self.body(crops)
        return self.head(features) if self.config.head == "points" else self.head(torch.flatten(features, 1))

    def points(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, J, h, w) map logits -> (B, J, 2) soft-argmax positions (x, y) in crop pixels."""
        probabilities = torch.softmax(torch.flatten(logits, 2), dim=2)
        return probabilities @ self.grid


def points_direction(points: torch.Tensor) -> torch.Tensor:
    """(B, J, 2) joint positions, the wrist first -> (B, 2) unit vectors from the wrist to the others' mean."""
    return F.normalize(points[:, 1:].mean(1) - points[:, 0], dim=1, eps=1e-6)


def build_orient_net(config=None) -> OrientNet:
    """An OrientNet from an OrientNetConfig, a dict or None (the defaults)."""
    if config is None:
        config = OrientNetConfig()
    elif not isinstance(config, OrientNetConfig):
        config = OrientNetConfig.from_dict(config)
    return OrientNet(config)
