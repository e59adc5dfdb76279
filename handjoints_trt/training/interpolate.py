"""Weight interpolation of two checkpoints of one network ("model soup", WiSE-FT, Wortsman et al. 2022).

A fine-tune towards one target (more synthetic hands) drifts from what the base run learnt (real photos).
Averaging the weights of a base checkpoint and a fine-tune of it lands between the two: each alpha trades one
target for the other, usually better than either run's own curve, at no training cost. Both checkpoints must
hold the same network (same stage and model config); integer buffers (BatchNorm's batch counter) are taken from
the fine-tune. A base with a handedness head soups with a fine-tune trained from it without one (training drops the
head): the base's head is left out, as training left it out, and `handjoints graft-head` puts one back.

    handjoints interpolate BASE.pt FINETUNED.pt --alpha 0.7 --out soup.pt    # 0 = BASE, 1 = FINETUNED
"""
from __future__ import annotations

from pathlib import Path

import torch

from .loop import _without_handedness_head, derived_checkpoint, full_model_config, load_checkpoint, save_checkpoint


def interpolate_states(base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
                       alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) * base + alpha * tuned for every floating tensor of two state dicts with the same keys and
    shapes; other tensors from ``tuned``. ValueError naming the first key that differs."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in 0..1 (0 = the base checkpoint, 1 = the fine-tuned one), got {alpha}")
    missing = sorted(set(base) ^ set(tuned))
    if missing:
        raise ValueError(f"the checkpoints hold different networks: {missing[0]!r} is in only one of them")
    out = {}
    for key, value in tuned.items():
        if base[key].shape != value.shape:
            raise ValueError(f"the checkpoints hold different networks: {key!r} is {tuple(base[key].shape)} in "
                             f"one and {tuple(value.shape)} in the other")
        out[key] = torch.lerp(base[key].to(value.dtype), value, alpha) if value.is_floating_point() else value
    return out


def interpolate_checkpoints(base_path: str | Path, tuned_path: str | Path, alpha: float,
                            out_path: str | Path, average: bool = False) -> dict:
    """Write a checkpoint whose weights interpolate two trainer checkpoints of one network (see
    interpolate_states); everything else (config, recipe, step) is the fine-tune's, with an 'interpolated'
    record of the sources. ``average``: the fine-tune's weight average (a last.pt's; load_checkpoint) rather than
    its raw weights. Returns the written checkpoint."""
    base, tuned = load_checkpoint(base_path), load_checkpoint(tuned_path, average=average)
    base_config = full_model_config(base)
    if base.get("stage") == tuned.get("stage") == "hand":   # a headless fine-tune of a base with a head
        from ..models import hand_config

        base["model"], base_config = _without_handedness_head(base["model"], base_config,
                                                              hand_config(full_model_config(tuned)))
    for key, a, b in (("stage", base.get("stage"), tuned.get("stage")),
                      ("model_config", base_config, full_model_config(tuned))):
        if a != b:
            raise ValueError(f"{base_path} and {tuned_path} differ in {key} ({a!r} vs {b!r}); only checkpoints "
                             "of one network can be interpolated")
    # The fine-tune's weight average (TrainConfig.ema_decay) is not the soup's: leave it out.
    state = derived_checkpoint(tuned)
    state["model"] = interpolate_states(base["model"], tuned["model"], float(alpha))
    state["interpolated"] = {"base": str(base_path), "base_step": base.get("step"), "tuned": str(tuned_path),
                             "tuned_step": tuned.get("step"), "tuned_average": bool(average), "alpha": float(alpha)}
    save_checkpoint(Path(out_path), state)
    return state
