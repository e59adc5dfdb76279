"""[ours] Train the handedness head of a trained hand network, the network itself frozen.

The joint heatmaps (and every figure measured on them) stay exactly those of the checkpoint: only
HandNet.handedness learns, on the crops of a data recipe (HandednessConfig.recipe, else the checkpoint's own;
the CLI's default is hand-real, hagrid_mp photos only: MediaPipe's label swapped to the person's hand, see
data/loaders/hagrid.py), mirrored crops with the label swapped. Synthetic crops have exact labels, but the
renderer draws palm and back in one flat skin colour, and with them mixed in (model card, session 18) agreement on
real photos fell while the synthetic labels were not learnt.
The frozen network runs in eval mode (its BatchNorm statistics do not move).

Validation each epoch: accuracy on the recipe's val crops (hagrid_mp val: agreement with MediaPipe) and on
synthetic val crops (exact labels, data.synthetic seed SYNTHETIC_VAL_SEED, model_eval's synthetic val seed). Checkpoints
(OUT/last.pt every `checkpoint_every` steps and each epoch, OUT/best.pt by the recipe's val accuracy) are
written atomically, hold the whole network (model_config.handedness_head = True) and export with
`handjoints export` like any hand checkpoint; a run resumes from OUT/last.pt.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .. import __version__
from .datasets import HandCrops, SyntheticCrops, recipe_hash
from .epochs import EpochTrainer
from .loop import (TrainConfig, append_csv_row, build_datasets, derived_checkpoint, full_model_config,
                   load_checkpoint, save_checkpoint)

SYNTHETIC_VAL_SEED = 20261125   # benchmarks/model_eval.VAL_SEED: the synthetic val seed (training uses others)


@dataclass
class HandednessConfig:
    """One head-training run. init_from: a hand checkpoint (best.pt, or an averaged one). epoch_size /
    val_size / synthetic_val: crops per epoch / hagrid val crops / synthetic val crops. lr: AdamW peak,
    cosine to 0 over the run."""

    init_from: str
    out_dir: str
    epochs: int = 8
    epoch_size: int = 8000
    val_size: int = 1000
    synthetic_val: int = 500
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    num_workers: int = 1
    threads: int = 0
    seed: int = 0
    checkpoint_every: int = 50
    progress: bool = True
    recipe: dict | None = None   # the data recipe; None = the checkpoint's own
    upright: bool = False        # a new head also reads the joints' layout turned upright (HandNetConfig)


def head_model(checkpoint: dict, upright: bool = False):
    """The checkpoint's hand network with a handedness head (new, reading the upright layout too when
    ``upright``; or the checkpoint's own), everything but the head frozen."""
    from ..models import build_hand_net
    from ..models.config import hand_config

    if checkpoint.get("stage") != "hand":
        raise ValueError(f"a handedness head goes on a hand network; this checkpoint is a "
                         f"{checkpoint.get('stage')!r} one")
    config = hand_config(checkpoint["model_config"])
    if not config.handedness_head:
        config = replace(config, handedness_head=True, handedness_upright=upright)
    model = build_hand_net(config)
    missing, unexpected = model.load_state_dict(checkpoint["model"], strict=False)
    if unexpected or any(not key.startswith("handedness.") for key in missing):
        raise ValueError(f"the checkpoint's weights do not fit its hand network: missing {missing[:4]}, "
                         f"unexpected {unexpected[:4]}")
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("handedness.")
    return model, config


def set_frozen_mode(model, head_training: bool) -> None:
    """The network in eval mode (fixed BatchNorm statistics), the head in train mode when head_training."""
    model.eval()
    model.handedness.train(head_training)


@torch.no_grad()
def handedness_accuracy(model, loader) -> tuple[float, int]:
    """(share of labelled crops whose P(right) falls on the right side of 0.5, number of labelled crops)."""
    set_frozen_mode(model, False)
    right = total = 0
    for batch in loader:
        _, prob = model.forward_with_handedness(batch["image"])
        label = batch["handedness"]
        known = label >= 0
        right += int(((prob[:, 0] > 0.5).float() == label)[known].sum())
        total += int(known.sum())
    return (right / total if total else math.nan), total


def _loss(model, batch) -> torch.Tensor | None:
    label = batch["handedness"]
    known = label >= 0
    if not bool(known.any()):
        return None
    with torch.no_grad():   # the frozen network: heatmaps and fused features only
        heatmaps, fused = model._cascade(batch["image"], None, last_features=True)
    prob = model.handedness(fused, heatmaps[-1])[:, 0].clamp(1e-6, 1 - 1e-6)
    return torch.nn.functional.binary_cross_entropy(prob[known], label[known])


class HandednessTrainer(EpochTrainer):
    """Train the head; resumes from OUT/last.pt."""

    name = "handedness"

    def __init__(self, cfg: HandednessConfig) -> None:
        super().__init__(cfg)
        source = load_checkpoint(cfg.init_from)
        self.source = source
        self.model, self.model_cfg = head_model(source, cfg.upright)
        recipe = cfg.recipe or source["recipe"]
        train_cfg = TrainConfig(stage="hand", out_dir=cfg.out_dir, model=self.model_cfg.to_dict(), recipe=recipe,
                                epoch_size=cfg.epoch_size, val_size=cfg.val_size, seed=cfg.seed)
        self.train_set, self.val_set = build_datasets(train_cfg, self.model_cfg)
        c = self.model_cfg
        self.synthetic_val = HandCrops([(SyntheticCrops(SYNTHETIC_VAL_SEED, c.crop_size), 1.0)], c.crop_size,
                                       c.stride, 1.5, cfg.synthetic_val, augment=False)
        self.optimizer = torch.optim.AdamW(self.model.handedness.parameters(), lr=cfg.lr,
                                           weight_decay=cfg.weight_decay)
        self.best = -math.inf
        self._resume()

    def _resume(self) -> None:
        last = self.out / "last.pt"
        if not last.is_file():
            return
        state = load_checkpoint(last)
        same_source = Path(str(state.get("head_source", ""))).resolve() == Path(self.cfg.init_from).resolve()
        if state["model_config"] != self.model_cfg.to_dict() or not same_source:
            raise ValueError(f"{last} belongs to another run (other network or --init-from); use a new --out folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.epoch, self.best = state["step"], state["epoch"], state["best"]
        print(f"resumed from {last}: epoch {self.epoch}, step {self.step}, best {self.best:.4f}", flush=True)

    def state(self, with_optimizer: bool = True) -> dict:
        s = self.source
        state = {"model": self.model.state_dict(), "step": self.step, "epoch": self.epoch, "best": self.best,
                 "stage": "hand", "model_config": self.model_cfg.to_dict(), "train_config": s.get("train_config"),
                 "head_config": asdict(self.cfg), "head_source": self.cfg.init_from, "recipe": s["recipe"],
                 "recipe_hash": recipe_hash(s["recipe"]), "version": __version__,
                 "recipe_history": s.get("recipe_history", [])}
        if with_optimizer:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def _lr(self) -> float:
        return self.cfg.lr * 0.5 * (1 + math.cos(math.pi * min(self.step / max(self.total_steps, 1), 1.0)))

    def validate(self) -> dict:
        hagrid, n_hagrid = handedness_accuracy(self.model, self._loader(self.val_set))
        synthetic, n_synthetic = handedness_accuracy(self.model, self._loader(self.synthetic_val))
        return {"val_accuracy": hagrid, "val_crops": n_hagrid, "synthetic_accuracy": synthetic,
                "synthetic_crops": n_synthetic}

    def _train_mode(self) -> None:
        set_frozen_mode(self.model, True)

    def _batch_loss(self, batch) -> torch.Tensor | None:
        return _loss(self.model, batch)

    def _end_epoch(self, seconds: float, loss: float | None) -> dict:
        metrics = self.validate()
        # the recipe's val set picks the best epoch (synthetic crops do not show which hand they are: reported only)
        score = metrics["val_accuracy"] if not math.isnan(metrics["val_accuracy"]) else metrics["synthetic_accuracy"]
        print(f"epoch {self.epoch}: hagrid_mp val {metrics['val_accuracy']:.4f} ({metrics['val_crops']} crops), "
              f"synthetic val {metrics['synthetic_accuracy']:.4f} ({metrics['synthetic_crops']})", flush=True)
        if score > self.best:
            self.best = score
            save_checkpoint(self.out / "best.pt", self.state(with_optimizer=False))
        save_checkpoint(self.out / "last.pt", self.state())
        append_csv_row(self.out / "epochs.csv", {"epoch": self.epoch, "step": self.step, "seconds": round(seconds, 1),
                                                 "train_loss": None if loss is None else round(loss, 5), **metrics})
        return metrics


def train_handedness(cfg: HandednessConfig) -> dict:
    """Run (or resume) a head training; returns the last validation metrics."""
    return HandednessTrainer(cfg).fit()


HEAD_CONFIG_KEYS = ("handedness_head", "handedness_upright")


def graft_head(network_path: str | Path, head_path: str | Path, out_path: str | Path) -> dict:
    """Write a checkpoint holding ``network_path``'s hand network with ``head_path``'s handedness head: for a
    fine-tune of a network that had a head (the fine-tune drops it), the head trained on the network it came from.
    The heatmaps are those of ``network_path`` exactly; the head reads slightly moved features, so measure it
    (benchmarks/handedness.py). Both must hold the same architecture; ``head_path`` must have a head. Returns the
    written checkpoint (no optimizer state), with a 'grafted' record of the sources."""
    network, head = load_checkpoint(network_path), load_checkpoint(head_path)
    for name, state in (("network", network), ("head", head)):
        if state.get("stage") != "hand":
            raise ValueError(f"{name} checkpoint {state.get('stage')!r}: a handedness head goes on a hand network")
    net_cfg, head_cfg = full_model_config(network), full_model_config(head)
    if not head_cfg["handedness_head"]:
        raise ValueError(f"{head_path} has no handedness head to graft; train one with `handjoints train-handedness`")
    differ = [k for k in net_cfg if k not in HEAD_CONFIG_KEYS and net_cfg[k] != head_cfg.get(k)]
    if differ:
        raise ValueError(f"{network_path} and {head_path} hold different networks ({differ[0]}: {net_cfg[differ[0]]!r} "
                         f"vs {head_cfg.get(differ[0])!r}); a head only fits the network it was trained on")
    weights = {k: v for k, v in network["model"].items() if not k.startswith("handedness.")}
    weights.update({k: v for k, v in head["model"].items() if k.startswith("handedness.")})
    state = derived_checkpoint(network)
    state.update(model=weights, model_config={**net_cfg, **{k: head_cfg[k] for k in HEAD_CONFIG_KEYS}},
                 head_config=head.get("head_config"), head_source=head.get("head_source"),
                 grafted={"network": str(network_path), "head": str(head_path)})
    save_checkpoint(Path(out_path), state)
    return state
