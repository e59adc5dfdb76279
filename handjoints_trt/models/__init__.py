"""The PyTorch networks (nn.Modules only; the runtime never imports this package).

build_hand_net / build_localizer / build_model make a network from a config (a preset name, a dict or a
config dataclass); count_flops measures parameters and FLOPs with forward hooks.
Importing this package (and models.config) does not import torch: the configs are plain dataclasses that
export and tooling can read without it; torch is imported when a network is built or named
(HandNet, Localizer are resolved lazily).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .config import (HAND_PRESETS, LOCALIZER_PRESETS, HandNetConfig, LocalizerConfig, hand_config,
                     localizer_config)

if TYPE_CHECKING:
    from torch import nn

    from .hand_net import HandNet
    from .localizer import Localizer


def __getattr__(name: str):
    # Lazy: "from handjoints_trt.models import HandNet" imports torch only then.
    if name == "HandNet":
        from .hand_net import HandNet
        return HandNet
    if name == "Localizer":
        from .localizer import Localizer
        return Localizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_hand_net(config: str | Mapping[str, Any] | HandNetConfig = "lite") -> HandNet:
    """A HandNet from a preset name ("paper", "lite"), a config dict or a HandNetConfig."""
    from .hand_net import HandNet

    return HandNet(hand_config(config))


def build_localizer(config: str | Mapping[str, Any] | LocalizerConfig = "lite") -> Localizer:
    """A Localizer from a preset name ("lite", "paper"), a config dict or a LocalizerConfig."""
    from .localizer import Localizer

    return Localizer(localizer_config(config))


MODEL_KINDS = ("hand", "localizer", "orientation")


def build_model(kind: str, config: str | Mapping[str, Any] | HandNetConfig | LocalizerConfig) -> nn.Module:
    """kind "hand" -> HandNet, "localizer" -> Localizer, "orientation" -> OrientNet (models/orient_net.py); config
    as for build_hand_net / build_localizer (an OrientNetConfig or its dict for "orientation")."""
    if kind == "hand":
        return build_hand_net(config)  # type: ignore[arg-type]
    if kind == "localizer":
        return build_localizer(config)  # type: ignore[arg-type]
    if kind == "orientation":
        from .orient_net import build_orient_net

        return build_orient_net(config)  # type: ignore[arg-type]
    raise ValueError(f"unknown model kind {kind!r}; choose one of {MODEL_KINDS}")


def _layer_macs(module: "nn.Module", output) -> int:
    """Multiply-adds of one conv or linear call: output elements x inputs per output."""
    from torch import nn

    if isinstance(module, nn.Conv2d):
        kernel_h, kernel_w = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kernel_h * kernel_w
    return output.numel() * module.in_features  # nn.Linear


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """(parameters, FLOPs) of one forward pass on a zero tensor of `input_shape`, e.g. (1, 3, 256, 256).

    FLOPs = 2 x the multiply-adds of every nn.Conv2d and nn.Linear call, counted by forward hooks (so a
    module called twice counts twice). BatchNorm, activations, pooling, resizes, element-wise products
    and functional convs (the 21 x 21 AOMR mixing: 0.5 % of lite, 0.04 % of paper) are not counted.
    Parameters are all of the model's parameters (buffers excluded). The model is run in eval mode under no_grad and its
    mode is restored afterwards.
    """
    import torch
    from torch import nn

    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (B, 3, H, W), got {tuple(input_shape)}")
    total_macs = 0

    def hook(module: nn.Module, _inputs, output) -> None:
        nonlocal total_macs
        total_macs += _layer_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(*input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return params, 2 * total_macs


__all__ = ["HandNet", "Localizer", "HandNetConfig", "LocalizerConfig", "HAND_PRESETS", "LOCALIZER_PRESETS",
           "hand_config", "localizer_config", "build_hand_net", "build_localizer", "build_model", "count_flops",
           "MODEL_KINDS"]
