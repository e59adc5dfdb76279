"""An exponential moving average of a model's weights during training (Polyak averaging).

Why: on this CPU the networks fine-tune a few thousand steps at a time, and their validation figures move by one
to two points from one epoch to the next (the localizer's recall on 300 frames most). The average of the last few
hundred steps' weights sits nearer the middle of the basin the optimiser wanders around, so it scores steadier
and usually higher than the weights of any one step; selecting best.pt on it wastes fewer epochs on noise. The
shipped soups (`handjoints interpolate`) average two runs' ends; this averages along one run.

Every floating-point entry of the state dict is averaged, BatchNorm running statistics included (they follow the
weights they normalise); integer entries (BatchNorm's step counter) are copied. The decay ramps up from 0 as
``min(decay, (1 + n) / (10 + n))`` after n updates, so early averages are not dominated by the start weights.
"""
from __future__ import annotations

import copy

import torch


class WeightAverage:
    """EMA of ``model``'s weights: ``update(model)`` after each optimiser step; ``module`` is the averaged copy
    (eval mode, no gradients), ``state_dict()`` / ``load_state_dict()`` checkpoint it with its update count.

    decay: in (0, 1); the averaging horizon is about 1 / (1 - decay) steps (0.998: the last ~500 steps).
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay!r} (0 turns the average off in TrainConfig)")
        self.decay = float(decay)
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = self.current_decay()
        source = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = source[name].detach()
            if avg.dtype.is_floating_point:
                avg.lerp_(value.to(avg.dtype), 1.0 - d)
            else:
                avg.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"weights": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
