"""[ours] Train the hand-direction network (models/orient_net.py) on hand crops at any angle.

Each training crop is a stage-II crop (HandCrops: the box of the hand's labelled joints, scale and shift jitter,
mirrored half the time, the recipe's photometric augmentation) turned by a uniform random angle
(recipe "orientation-camera": CropJitter.p_any_rotation 1.0); the label is the unit vector from the wrist to the
middle finger's knuckle in the crop. Loss: 1 - cos(angle error); head "vector" adds a small pull of the raw vector's
length towards 1 (it keeps the normalisation well conditioned), head "points" each joint map's cross-entropy against
a Gaussian of one cell around the labelled joint (models/orient_net.py). Crops where either joint is unlabelled or
outside the crop carry no direction loss (and a joint outside the crop no map loss).

Validation each epoch: the same crops of hagrid_mp val photos every time (HandCrops with fixed seed and epoch, so
jittered and turned like training crops, but reproducible): median angle error (degrees) and the share within 15 /
30 degrees; best.pt by the median error. Checkpoints (OUT/last.pt every `checkpoint_every` steps and each epoch,
with optimizer; OUT/best.pt without) are written atomically; a run resumes from OUT/last.pt.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..models.config import OrientNetConfig
from .datasets import HandCrops, recipe_hash
from .epochs import EpochTrainer
from .loop import TrainConfig, append_csv_row, build_datasets, jitter_config, load_checkpoint, save_checkpoint

VAL_SEED, VAL_EPOCH = 20261205, 0   # the validation crops' fixed draw


@dataclass
class OrientationConfig:
    """One training run. epoch_size / val_size: crops per epoch / validation crops. lr: AdamW peak, 200 steps of
    warm-up, cosine to 0 over the run. recipe: a resolved data recipe (training/recipes.py)."""

    out_dir: str
    recipe: dict
    model: dict | None = None   # OrientNetConfig fields; None = the defaults
    epochs: int = 12
    epoch_size: int = 16000
    val_size: int = 2000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    num_workers: int = 1
    threads: int = 0
    seed: int = 0
    checkpoint_every: int = 50
    progress: bool = True
    init_from: str = ""         # start from this checkpoint's weights (the same network); "" = fresh


def direction_targets(batch: dict, joints=(0, 9)) -> tuple[torch.Tensor, torch.Tensor]:
    """(unit vectors from the wrist to the mean of ``joints[1:]`` (B, 2), mask (B,) of crops that have all of them
    labelled) from a HandCrops batch."""
    points, trainable = batch["keypoints"], batch["trainable"]
    joints = list(joints)
    v = points[:, joints[1:]].mean(1) - points[:, 0]
    length = v.norm(dim=1)
    mask = (trainable[:, joints] > 0).all(1) & (length > 1e-3)
    if "negative" in batch:
        mask &= batch["negative"] < 0.5
    return v / length.clamp_min(1e-3)[:, None], mask


def angle_errors(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Degrees between unit vectors, (B,)."""
    cos = (predicted * target).sum(1).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.acos(cos))


def orientation_loss(raw: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
    """Head "vector": raw (B, 2) unnormalised directions."""
    if not bool(mask.any()):
        return None
    raw, target = raw[mask], target[mask]
    length = raw.norm(dim=1)
    cos = (raw * target).sum(1) / length.clamp_min(1e-6)
    return (1 - cos).mean() + 0.01 * ((length - 1) ** 2).mean()


def points_loss(model, logits: torch.Tensor, batch: dict, sigma_cells: float = 1.0) -> torch.Tensor | None:
    """Head "points": logits (B, 2, h, w) of the wrist and middle-knuckle maps; map cross-entropy against a Gaussian
    around each labelled joint inside the crop, plus 1 - cos of the soft-argmax direction's error."""
    from ..models.orient_net import points_direction

    names = list(model.config.joints)
    target, mask = direction_targets(batch, names)
    # HandCrops keypoints are in its heatmap cells (stride 4): crop pixels are 4x
    joints = batch["keypoints"][:, names] * 4.0
    labelled = batch["trainable"][:, names] > 0
    if "negative" in batch:
        labelled &= (batch["negative"] < 0.5)[:, None]
    if not bool(labelled.any()):
        return None
    squared = ((model.grid[None, None] - joints[:, :, None]) ** 2).sum(-1) / (model.stride * sigma_cells) ** 2
    wanted = torch.softmax(-0.5 * squared, dim=2)                     # (B, 2, cells), each sums to 1
    log_p = torch.log_softmax(torch.flatten(logits, 2), dim=2)
    loss = -(wanted * log_p).sum(2)[labelled].mean()
    if bool(mask.any()):
        direction = points_direction(model.points(logits))
        loss = loss + (1 - (direction[mask] * target[mask]).sum(1)).mean()
    return loss


class OrientationTrainer(EpochTrainer):
    """Train (or resume) one run; fit() -> the last validation metrics."""

    name = "orientation"

    def __init__(self, cfg: OrientationConfig) -> None:
        from ..models.orient_net import build_orient_net

        super().__init__(cfg)
        self.model_cfg = OrientNetConfig.from_dict(cfg.model or {})
        self.model = build_orient_net(self.model_cfg)
        data_cfg = TrainConfig(stage="hand", out_dir=cfg.out_dir, model={}, recipe=cfg.recipe,
                               epoch_size=cfg.epoch_size, val_size=cfg.val_size, seed=cfg.seed)
        self.train_set, _ = build_datasets(data_cfg, _CropShape(self.model_cfg.crop_size))
        self.val_set = self._val_set(cfg)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.best = math.inf
        if cfg.init_from and not (self.out / "last.pt").is_file():
            self._init_weights(Path(cfg.init_from))
        self._resume()

    def _val_set(self, cfg: OrientationConfig) -> HandCrops:
        """hagrid val crops jittered and turned like training crops, the same draw every epoch (no photometric)."""
        from .datasets import hand_source

        size = self.model_cfg.crop_size
        sources = [(hand_source(s, size), 1.0) for s in cfg.recipe["val"]]
        val = HandCrops(sources, size, 4, 1.5, cfg.val_size, seed=VAL_SEED, augment=True,
                        jitter=jitter_config(cfg.recipe))
        val.set_epoch(VAL_EPOCH)
        return val

    def _init_weights(self, path: Path) -> None:
        state = load_checkpoint(path)
        if state.get("stage") != "orientation" or OrientNetConfig.from_dict(state["model_config"]) != self.model_cfg:
            raise ValueError(f"--init-from {path} is not a checkpoint of this direction network ({self.model_cfg}); "
                             f"pass --model with its configuration")
        self.model.load_state_dict(state["model"])
        print(f"initialised from {path}", flush=True)

    def _resume(self) -> None:
        last = self.out / "last.pt"
        if not last.is_file():
            return
        state = load_checkpoint(last)
        if OrientNetConfig.from_dict(state["model_config"]) != self.model_cfg:   # older runs lack newer fields
            raise ValueError(f"{last} belongs to another network ({state['model_config']}); use a new --out folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.epoch, self.best = state["step"], state["epoch"], state["best"]
        print(f"resumed from {last}: epoch {self.epoch}, step {self.step}, best {self.best:.2f} deg", flush=True)

    def state(self, with_optimizer: bool = True) -> dict:
        state = {"model": self.model.state_dict(), "step": self.step, "epoch": self.epoch, "best": self.best,
                 "stage": "orientation", "model_config": self.model_cfg.to_dict(), "train_config": asdict(self.cfg),
                 "recipe": self.cfg.recipe, "recipe_hash": recipe_hash(self.cfg.recipe), "version": __version__}
        if with_optimizer:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def _lr(self) -> float:
        warm = min(1.0, (self.step + 1) / 200)
        progress = min(self.step / max(self.total_steps, 1), 1.0)
        return self.cfg.lr * warm * 0.5 * (1 + math.cos(math.pi * progress))

    @torch.no_grad()
    def validate(self) -> dict:
        self.model.eval()
        errors = []
        for batch in self._loader(self.val_set):
            target, mask = direction_targets(batch)
            errors.append(angle_errors(self.model(batch["image"])[mask], target[mask]))
        e = torch.cat(errors).numpy()
        return {"val_median_deg": float(np.median(e)), "val_mean_deg": float(e.mean()),
                "val_within15": float((e < 15).mean()), "val_within30": float((e < 30).mean()), "val_crops": len(e)}

    def _train_mode(self) -> None:
        self.model.train()

    def _batch_loss(self, batch) -> torch.Tensor | None:
        raw = self.model.raw(batch["image"])
        if self.model_cfg.head == "points":
            return points_loss(self.model, raw, batch)
        return orientation_loss(raw, *direction_targets(batch))

    def _end_epoch(self, seconds: float, loss: float | None) -> dict:
        metrics = self.validate()
        print(f"epoch {self.epoch}: val median error {metrics['val_median_deg']:.1f} deg, within 15 deg "
              f"{metrics['val_within15']:.3f}, within 30 {metrics['val_within30']:.3f} ({metrics['val_crops']} crops)",
              flush=True)
        if metrics["val_median_deg"] < self.best:
            self.best = metrics["val_median_deg"]
            save_checkpoint(self.out / "best.pt", self.state(with_optimizer=False))
        save_checkpoint(self.out / "last.pt", self.state())
        append_csv_row(self.out / "epochs.csv", {"epoch": self.epoch, "step": self.step, "seconds": round(seconds, 1),
                                                 "train_loss": None if loss is None else round(loss, 5), **metrics})
        return metrics


class _CropShape:
    """What build_datasets reads of a hand network's config: the crop side and the heatmap stride."""

    def __init__(self, crop_size: int, stride: int = 4) -> None:
        self.crop_size, self.stride = crop_size, stride


def train_orientation(cfg: OrientationConfig) -> dict:
    """Run (or resume) a training; returns the last validation metrics."""
    return OrientationTrainer(cfg).fit()
