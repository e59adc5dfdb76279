"""Grow a trained localizer into a wider one without losing what it learned (Net2WiderNet, Chen et al. 2016).

CPU training is this project's long pole: a wider localizer trained from scratch would need sessions to catch up
with the one already trained. Widening copies every old channel into the new layer, adds the extra channels as
copies of randomly chosen old ones, and divides the weights that read a copied channel by its number of copies,
so the wider network computes the same function (exactly with ``noise=0``, up to float rounding). A little noise
on the copies' incoming weights breaks their symmetry: identical copies would get identical gradients forever.

Only channel counts may grow (backbone_channels, neck_channels, stage_channels); depths, stage count and input
size must match, since a new layer has no function-preserving start here. BatchNorm statistics are copied with
their channels.

    state = widen_localizer_state(lite_state, lite_config, wide_config, noise=0.01, seed=0)

A trained hand network grows in depth instead (``deepen_hand_state``): more MSFF modules, each added one a copy
of the last.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from .config import HandNetConfig, LocalizerConfig
from .localizer import NUM_MAPS

BN_ENTRIES = ("weight", "bias", "running_mean", "running_var")


def _layers(cfg: LocalizerConfig) -> list[tuple[str, str, str, str | None]]:
    """Every conv of a Localizer as (conv prefix, input space, output space, prefix of its BatchNorm or None).
    A space names a set of channels that must be widened alike (a residual or a sum shares one)."""
    layers, previous = [], "rgb"
    for level in range(5):
        space = f"b{level}"
        extra = cfg.backbone_depth[level - 1] if level > 0 else 0
        for k in range(extra + 1):
            layers.append((f"backbone.levels.{level}.{k}.0", previous if k == 0 else space, space,
                           f"backbone.levels.{level}.{k}.1"))
        previous = space
    layers.append(("backbone.context.project.0", "b4", "b4", None))     # x + project(mean(x)): x's channels
    for i, (top, skip) in enumerate(zip(("b4", "n0", "n1"), ("b3", "b2", "b1"))):
        layers += [(f"neck.{i}.top.0", top, f"n{i}", f"neck.{i}.top.1"),
                   (f"neck.{i}.skip.0", skip, f"n{i}", f"neck.{i}.skip.1")]   # summed: one space
        if i < 2:
            layers.append((f"neck.{i}.merge.0", f"n{i}", f"n{i}", f"neck.{i}.merge.1"))
    for s in range(cfg.num_stages):
        hidden = f"s{s}"
        layers.append((f"stages.{s}.features_conv", "n2", hidden, f"stages.{s}.first.0"))
        if s > 0:
            layers.append((f"stages.{s}.maps_conv", "maps", hidden, None))   # summed before the same BN
        layers += [(f"stages.{s}.body.{k}.0", hidden, hidden, f"stages.{s}.body.{k}.1")
                   for k in range(cfg.stage_depth - 1)]
        layers.append((f"stages.{s}.head", hidden, "maps", None))
    return layers


def _space_sizes(cfg: LocalizerConfig) -> dict[str, int]:
    sizes = {"rgb": 3, "maps": NUM_MAPS}
    sizes.update({f"b{i}": c for i, c in enumerate(cfg.backbone_channels)})
    sizes.update({f"n{i}": c for i, c in enumerate(cfg.neck_channels)})
    sizes.update({f"s{s}": cfg.stage_channels for s in range(cfg.num_stages)})
    return sizes


def _check_widenable(old: LocalizerConfig, new: LocalizerConfig) -> None:
    fixed = ("backbone_depth", "stage_depth", "num_stages")
    changed = [name for name in fixed if tuple(np.atleast_1d(getattr(old, name))) !=
               tuple(np.atleast_1d(getattr(new, name)))]
    if changed:
        raise ValueError(f"cannot widen: {changed} differ ({[getattr(old, n) for n in changed]} -> "
                         f"{[getattr(new, n) for n in changed]}); only channel counts may grow")
    old_sizes, new_sizes = _space_sizes(old), _space_sizes(new)
    shrunk = [k for k in old_sizes if new_sizes[k] < old_sizes[k]]
    if shrunk:
        raise ValueError(f"cannot widen: channels shrink in {shrunk} ({asdict(old)} -> {asdict(new)})")


def _mappings(old: dict[str, int], new: dict[str, int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per space: for each new channel, the old channel it copies (the first old-size ones copy themselves)."""
    return {k: np.concatenate([np.arange(old[k]), rng.integers(0, old[k], new[k] - old[k])]) for k in old}


def widen_localizer_state(state: dict[str, torch.Tensor], old: LocalizerConfig, new: LocalizerConfig,
                          noise: float = 0.01, seed: int = 0) -> dict[str, torch.Tensor]:
    """The state dict of a Localizer(new) computing what Localizer(old) with ``state`` computes.

    noise: std of the Gaussian added to the copied channels' incoming weights, relative to each weight
    tensor's std (0 = exact). Raises ValueError when new is not old with more channels.
    """
    _check_widenable(old, new)
    rng = np.random.default_rng(seed)
    maps = _mappings(_space_sizes(old), _space_sizes(new), rng)
    out: dict[str, torch.Tensor] = {}
    for conv, space_in, space_out, bn in _layers(old):
        g_in, g_out = (torch.from_numpy(maps[s]) for s in (space_in, space_out))
        copies = torch.bincount(g_in, minlength=int(g_in.max()) + 1).to(state[f"{conv}.weight"].dtype)
        weight = state[f"{conv}.weight"][g_out][:, g_in] / copies[g_in][None, :, None, None]
        fresh = torch.arange(len(g_out)) >= len(torch.unique(g_out))   # the added output channels
        if noise and fresh.any():
            scale = noise * float(state[f"{conv}.weight"].std())
            gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
            weight[fresh] += scale * torch.randn(weight[fresh].shape, generator=gen)
        out[f"{conv}.weight"] = weight
        if f"{conv}.bias" in state:
            out[f"{conv}.bias"] = state[f"{conv}.bias"][g_out].clone()
        if bn is not None:
            out.update({f"{bn}.{e}": state[f"{bn}.{e}"][g_out].clone() for e in BN_ENTRIES})
            out[f"{bn}.num_batches_tracked"] = state[f"{bn}.num_batches_tracked"].clone()
    missing = set(state) - set(out)
    if missing:  # a layer _layers does not know: the architecture changed under this module
        raise RuntimeError(f"widen_localizer_state does not cover {sorted(missing)}; update models/widen.py")
    return out


def deepen_hand_state(state: dict[str, torch.Tensor], old: HandNetConfig,
                      new: HandNetConfig) -> dict[str, torch.Tensor]:
    """The state dict of a HandNet(new) with more MSFF modules, grown from a trained HandNet(old) with ``state``.

    Every added MSFF (and its hand-off) starts as a copy of the last trained one: the new module refines
    heatmaps that are already about as good as the ones its original saw, so the deeper network starts where
    the trained one stands instead of at random (a cascade of refinement stages, METHOD.md). Not exact, unlike
    widening: the copy reads MSFF_N's heatmaps where its original read MSFF_{N-1}'s. Raises ValueError when
    new differs from old by anything but a larger num_msff.
    """
    changed = sorted(k for k, v in old.to_dict().items() if k != "num_msff" and new.to_dict()[k] != v)
    if changed or new.num_msff < old.num_msff:
        raise ValueError(f"cannot deepen: only num_msff may grow ({old.num_msff} -> {new.num_msff}); "
                         f"{changed or ['num_msff']} differ")
    if old.num_msff == 1 and new.num_msff > 1:   # no hand-off to copy: it would start from scratch
        raise ValueError("cannot deepen a single-MSFF network: it has no hand-off to copy")
    last_msff, last_handoff = f"msff.{old.num_msff - 1}.", f"handoff.{old.num_msff - 2}."
    out = {k: v.clone() for k, v in state.items()}
    for index in range(old.num_msff, new.num_msff):
        for key, value in state.items():
            if key.startswith(last_msff):
                out[f"msff.{index}." + key[len(last_msff):]] = value.clone()
            elif key.startswith(last_handoff):
                out[f"handoff.{index - 1}." + key[len(last_handoff):]] = value.clone()
    return out
