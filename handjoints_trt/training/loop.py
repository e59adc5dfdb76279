"""The training loop of both stages: progress bars, validation each epoch, atomic resumable checkpoints that
carry the model config and the data recipe, CSV logs (+ TensorBoard when installed), mixed precision on CUDA,
DistributedDataParallel under torchrun (gloo on CPU, NCCL on GPUs), deterministic under a seed."""
from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler

from .. import __version__
from ..fileio import atomic_path
from . import losses
from .datasets import recipe_hash
from .ema import WeightAverage
from .targets import CENTER_SIGMA

LOCALIZER_STRIDE = 4  # the localizer's outputs are at 1/4 of its input (models/localizer.py)


@dataclass
class TrainConfig:
    """One training run. stage: 'hand' or 'localizer'. model: a preset name or a config dict.
    recipe: {"train": [sources], "val": [sources]} (see datasets.py). epoch_size: items per epoch.
    lr: peak learning rate (AdamW, cosine decay after `warmup_steps`). checkpoint_every: steps between
    checkpoints (plus one per epoch). loss_wise / error_weighting: the training mechanisms of METHOD.md.
    init_from: a checkpoint of the same stage whose weights a new run starts from (ignored when out_dir already
    holds last.pt): the same model config is loaded as is, a narrower localizer is widened to this run's and a hand network
    with fewer MSFF modules deepened (models/widen.py), so a bigger model starts where a trained one stands.
    runtime_scale: localizer only: train on input-sized windows of frames scaled as detect() scales them
    (datasets.runtime_scale_window) rather than on whole frames letterboxed to the input.
    ema_decay: 0 = off; else the run also keeps an exponential moving average of its weights (training/ema.py,
    horizon about 1 / (1 - ema_decay) steps), validates it beside the raw weights (epochs.csv: val_* for the
    average, raw_val_* for the raw weights), selects best.pt on it and writes it as best.pt's weights."""

    stage: str
    out_dir: str
    model: object = "lite"
    recipe: dict = field(default_factory=dict)
    epochs: int = 10
    epoch_size: int = 20000
    val_size: int = 1000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    sigma: float = 1.5
    loss_wise: bool = True
    error_weighting: bool = True
    num_workers: int = 1
    threads: int = 0
    seed: int = 0
    checkpoint_every: int = 200
    amp: bool = True
    max_steps: int = 0          # stop after this many steps in total (0 = no limit), for short runs
    progress: bool = True
    init_from: str = ""
    runtime_scale: bool = False  # localizer: train on windows of frames at the runtime's scale (datasets.py)
    ema_decay: float = 0.0       # 0 = no weight average; e.g. 0.998 averages about the last 500 steps

    def to_dict(self) -> dict:
        d = asdict(self)
        return d


# ----------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint behind."""
    with atomic_path(path, ".pt") as tmp:
        torch.save(state, tmp)


def append_csv_row(path: Path, row: dict) -> None:
    """Append ``row`` to the CSV file at ``path``, writing the header first when the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row), extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


def load_checkpoint(path: str | Path, average: bool = False) -> dict:
    """Read a checkpoint written by this trainer; raises a clear error for anything else. ``average``: the
    run's weight average (TrainConfig.ema_decay) at the checkpoint's step in place of its raw weights, for the
    last.pt of a run with a weight average (best.pt already holds the average of its best epoch, which is not the
    last: a cosine schedule's end is often wanted; ValueError when the checkpoint holds no average)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated, foreign or corrupt file
        raise ValueError(f"{path} is not a readable handjoints_trt checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        raise ValueError(f"{path} is not a handjoints_trt checkpoint (no model/model_config entries)")
    return _with_average(state, path) if average else state


def _with_average(state: dict, path: Path) -> dict:
    """``state`` with its weight average as its model (see load_checkpoint): a last.pt's average, its optimizer's
    state left out (it belongs to the raw weights); a best.pt as it is."""
    if state.get("weights") == "ema":  # best.pt: its model already is the average
        return state
    saved = state.get("ema")
    if not saved or set(saved.get("weights", {})) != set(state["model"]):
        raise ValueError(f"{path} holds no weight average of its network: use a last.pt of a run trained with "
                         "--ema-decay, or leave out --average")
    kept = {k: v for k, v in state.items() if k not in ("optimizer", "scaler", "ema")}
    return {**kept, "model": saved["weights"], "weights": "ema"}


def derived_checkpoint(state: dict) -> dict:
    """``state`` without what belongs to its training run's raw weights (optimizer, scheduler, scaler, weight average,
    which weights it holds): the start of a checkpoint made from it with other weights (a soup, a grafted head)."""
    return {k: v for k, v in state.items() if k not in ("optimizer", "scheduler", "scaler", "ema", "weights")}


def full_model_config(state: dict) -> dict:
    """A checkpoint's model config with every field, so that a checkpoint written before a field existed (e.g.
    session 18's handedness_head, default off) compares equal to a newer one of the same network."""
    from ..models import hand_config, localizer_config

    config = state.get("model_config")
    if state.get("stage") == "hand":
        return hand_config(config).to_dict()
    return localizer_config(config).to_dict() if state.get("stage") == "localizer" else config


def _without_handedness_head(weights: dict, config: dict, model_cfg) -> tuple[dict, dict]:
    """(weights, config) of a hand checkpoint for a run whose network has no handedness head: the head (a
    train-handedness addition, trained on the frozen network) dropped, so a shipped network with its head can start
    a joint fine-tune; anything else unchanged."""
    if not config.get("handedness_head") or getattr(model_cfg, "handedness_head", True):
        return weights, config
    config = {**config, "handedness_head": False, "handedness_upright": False}
    return {k: v for k, v in weights.items() if not k.startswith("handedness.")}, config


# ----------------------------------------------------------------------------------------- set-up
def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def build_model(cfg: TrainConfig):
    from ..models import build_model as build
    from ..models.config import hand_config, localizer_config

    if cfg.stage == "hand":
        model_cfg = hand_config(cfg.model)
    elif cfg.stage == "localizer":
        model_cfg = localizer_config(cfg.model)
    else:
        raise ValueError(f"stage must be 'hand' or 'localizer', got {cfg.stage!r}")
    return build(cfg.stage, model_cfg.to_dict()), model_cfg


def build_datasets(cfg: TrainConfig, model_cfg):
    from ..data.augment import photometric
    from . import datasets as D

    aug_cfg = augment_config(cfg.recipe)

    def photo(image, rng):
        return photometric(image, rng, aug_cfg)

    recipe = cfg.recipe
    if cfg.stage == "hand":
        def sources(specs):
            return [(D.hand_source(s, model_cfg.crop_size), float(s.get("weight", 1.0))) for s in specs]

        common = dict(crop_size=model_cfg.crop_size, stride=model_cfg.stride, sigma=cfg.sigma)
        train = D.HandCrops(sources(recipe["train"]), length=cfg.epoch_size, seed=cfg.seed, augment=True,
                            photometric=photo, jitter=jitter_config(recipe), **common)
        val_sources = [(D.hand_source(s, model_cfg.crop_size), 1.0) for s in recipe.get("val", [])]
        val_len = min(cfg.val_size, sum(len(s) for s, _ in val_sources)) if val_sources else 0
        # validation crops jitter nothing, but stand upright like the training crops under CropJitter.align
        val = D.HandCrops(val_sources, length=val_len, seed=cfg.seed, augment=False, jitter=jitter_config(recipe),
                          **common) if val_sources else None
        return train, val
    frames = build_frames(recipe["train"], cfg.seed)
    val_frames = build_frames(recipe.get("val", recipe["train"]), cfg.seed + 7919)
    size = tuple(model_cfg.input_size)
    # "center_sigma": the recipe's centre peak width (targets.center_radius); training items only, since
    # validation decodes boxes and never reads the targets' peaks
    sigma = float(recipe.get("center_sigma", CENTER_SIGMA))
    train = D.LocalizerFrames(frames, size, LOCALIZER_STRIDE, cfg.epoch_size, cfg.seed, True, photo,
                              runtime_scale=cfg.runtime_scale, p_turn=float(recipe.get("p_frame_turn", 0.0)),
                              center_sigma=sigma)
    if cfg.runtime_scale:   # validate as detect() runs: whole frames at the runtime's input sizes
        from ..detector import AUTO_HD_LONG_SIDE

        side = max(AUTO_HD_LONG_SIDE, max(size))
        val = D.LocalizerFrames(val_frames, (side, side), LOCALIZER_STRIDE, cfg.val_size, cfg.seed, False,
                                runtime_scale=True, model_long_side=max(size))
    else:
        val = D.LocalizerFrames(val_frames, size, LOCALIZER_STRIDE, cfg.val_size, cfg.seed, False)
    return train, val


def augment_config(recipe: dict):
    """The photometric augmentation of a recipe: AugmentConfig's defaults, with the recipe's optional
    "augment" object overriding fields by name (e.g. {"p_low_light": 0.15}); ValueError naming an unknown field."""
    from ..data.augment import AugmentConfig

    return _overridden(AugmentConfig, recipe, "augment")


def jitter_config(recipe: dict):
    """How a recipe's training crops stray from their boxes (stage II): CropJitter's defaults, with the recipe's
    optional "jitter" object overriding fields by name (e.g. {"p_any_rotation": 0.5}); ValueError naming an
    unknown field."""
    from .datasets import CropJitter

    return _overridden(CropJitter, recipe, "jitter")


def _overridden(config_class, recipe: dict, key: str):
    from dataclasses import fields

    overrides = dict(recipe.get(key, {}))
    known = {f.name for f in fields(config_class)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"recipe '{key}' has unknown fields {unknown}; {config_class.__name__} has {sorted(known)}")
    return config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


def build_frames(specs: list[dict], seed: int):
    """Whole-frame source of the localizer: composed real hands (+ synthetic frames) from the recipe."""
    from ..data.compose import ComposeConfig, ComposedFrames
    from ..data.synthetic import SynthConfig, SyntheticHands

    records, synthetic, options = [], None, {}
    for spec in specs:
        if spec["kind"] == "synthetic":
            synthetic = SyntheticHands(SynthConfig(**spec.get("config", {})), seed=seed)
        elif spec["kind"] == "composed":
            options = spec.get("config", {})
        else:
            from ..data.loaders import load_dataset

            opts = {k: v for k, v in spec.items() if k not in ("kind", "weight", "root", "limit")}
            recs = load_dataset(spec["kind"], spec["root"], **opts)
            records += recs[: int(spec["limit"])] if spec.get("limit") else recs
    if not records:
        if synthetic is None:
            raise ValueError("the localizer recipe needs a data set of hands or a synthetic source")
        return synthetic  # its frames already hold 0..4 hands
    return ComposedFrames(records, ComposeConfig(**options), seed=seed, synthetic=synthetic)


# ----------------------------------------------------------------------------------------- validation
@torch.no_grad()
def validate_hand(model, loader, device) -> dict:
    from ..evaluation import PCKAccumulator
    from ..postprocess import decode_heatmaps

    was_training = model.training
    model.eval()
    acc = PCKAccumulator()
    for batch in loader:
        heatmaps = model(batch["image"].to(device)).float().cpu().numpy()
        coords, _ = decode_heatmaps(heatmaps)
        located = batch["trainable"].numpy() > 0
        if "negative" in batch:   # hand-free crops have no joints to score
            located &= batch["negative"].numpy()[:, None] == 0
        acc.add(coords, batch["keypoints"].numpy(), located)
    result = acc.result()
    model.train(was_training)
    return {"val_pck@0.2": float(result.pck[1]), "val_auc": float(result.auc), "val_epe_cells": float(result.epe)}


@torch.no_grad()
def validate_localizer(model, loader, device, stride: int) -> dict:
    from ..evaluation import detection_pr
    from ..postprocess import decode_boxes

    was_training = model.training
    model.eval()
    preds, scores, gts = [], [], []
    for batch in loader:
        out = model(batch["image"].to(device))
        for i in range(len(batch["image"])):
            boxes, sc = decode_boxes(out["centers"][i:i + 1].float().cpu().numpy(),
                                     out["sizes"][i:i + 1].float().cpu().numpy(),
                                     out["offsets"][i:i + 1].float().cpu().numpy(), stride=stride)
            gt = batch["boxes"][i].numpy()
            preds.append(boxes)
            scores.append(sc)
            gts.append(gt[gt[:, 0] >= 0])
    pr = detection_pr(preds, scores, gts, iou=0.5)
    model.train(was_training)
    return {"val_recall": float(pr["recall"]), "val_precision": float(pr["precision"])}


# ----------------------------------------------------------------------------------------- the loop
class Trainer:
    """Train one stage; resumes from out_dir/last.pt when it exists."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out_dir)
        self.rank, self.world = _distributed()
        self.device = _device(self.rank)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.model, self.model_cfg = build_model(cfg)
        self.model.to(self.device)
        self.net = self.model
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.train_set, self.val_set = build_datasets(cfg, self.model_cfg)
        self.steps_per_epoch = max(1, len(self.train_set) // (cfg.batch_size * self.world))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.use_amp = cfg.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        if self.rank == 0:
            print(f"training {cfg.stage} on {self.device}, world_size={self.world}, "
                  f"{self.steps_per_epoch} steps per epoch", flush=True)
        self.step, self.epoch, self.best = 0, 0, -math.inf
        self.recipe_history = [{"step": 0, "recipe_hash": recipe_hash(cfg.recipe), "recipe": cfg.recipe}]
        if cfg.init_from and not (self.out / "last.pt").is_file():
            self._init_weights(Path(cfg.init_from))
        ema_state = self._resume()
        self.ema = self._weight_average(ema_state)

    # -- state
    def state(self) -> dict:
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "step": self.step, "epoch": self.epoch, "best": self.best,
            "stage": self.cfg.stage, "model_config": self.model_cfg.to_dict(), "train_config": self.cfg.to_dict(),
            "recipe": self.cfg.recipe, "recipe_hash": recipe_hash(self.cfg.recipe), "version": __version__,
            "recipe_history": self.recipe_history, "ema": self.ema.state_dict() if self.ema else None,
        }

    def _weight_average(self, saved: dict | None) -> WeightAverage | None:
        """The run's weight average (TrainConfig.ema_decay), carried on from last.pt when it holds one."""
        if not self.cfg.ema_decay:
            return None
        ema = WeightAverage(self.model, self.cfg.ema_decay)
        if saved is not None:
            ema.load_state_dict(saved)
        elif self.step and self.rank == 0:
            print(f"weight average starts at step {self.step} from the resumed weights", flush=True)
        return ema

    def _resume(self) -> dict | None:
        """Load out_dir/last.pt when it exists; returns its weight average's state (None without one)."""
        last = self.out / "last.pt"
        if not last.is_file():
            return None
        state = load_checkpoint(last)
        if state["stage"] != self.cfg.stage or full_model_config(state) != self.model_cfg.to_dict():
            raise ValueError(f"{last} was trained with another stage or model config; use a new --out folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.best = state["step"], state["epoch"], state["best"]
        # A run may go on with another data recipe (data added between sessions): keep the whole story.
        self.recipe_history = state.get("recipe_history", self.recipe_history)
        if self.recipe_history[-1]["recipe_hash"] != recipe_hash(self.cfg.recipe):
            self.recipe_history.append({"step": self.step, "recipe_hash": recipe_hash(self.cfg.recipe),
                                        "recipe": self.cfg.recipe})
        if self.rank == 0:
            print(f"resumed from {last}: epoch {self.epoch}, step {self.step}, best {self.best:.4f}")
        return state.get("ema")

    def _init_weights(self, path: Path) -> None:
        """Start from another run's weights (TrainConfig.init_from); optimizer and schedule start afresh."""
        state = load_checkpoint(path)
        if state["stage"] != self.cfg.stage:
            raise ValueError(f"--init-from {path} is a {state['stage']} checkpoint; this run trains {self.cfg.stage}")
        weights, old_config = _without_handedness_head(state["model"], full_model_config(state), self.model_cfg)
        if old_config != self.model_cfg.to_dict():
            weights = self._grown(path, weights, old_config)
        self.model.load_state_dict(weights)
        if self.rank == 0:
            print(f"initialised from {path} (step {state['step']}, best {state['best']:.4f})", flush=True)

    def _grown(self, path: Path, weights: dict, old_config: dict) -> dict:
        """Another config's weights grown into this run's: a localizer widened, a hand network deepened."""
        from ..models import hand_config, localizer_config
        from ..models.widen import deepen_hand_state, widen_localizer_state

        try:
            if self.cfg.stage == "localizer":
                return widen_localizer_state(weights, localizer_config(old_config), self.model_cfg,
                                             seed=self.cfg.seed)
            return deepen_hand_state(weights, hand_config(old_config), self.model_cfg)
        except ValueError as error:
            raise ValueError(f"--init-from {path}: {error}") from error

    def _checkpoint(self, name: str = "last.pt") -> None:
        if self.rank == 0:
            save_checkpoint(self.out / name, self.state())

    def _checkpoint_best(self) -> None:
        """best.pt holds the weights that were validated: the average when the run keeps one."""
        if self.rank != 0:
            return
        state = self.state()
        if self.ema is not None:
            state.update(model=self.ema.module.state_dict(), weights="ema")  # the raw ones: last.pt
        save_checkpoint(self.out / "best.pt", state)

    # -- schedule
    def _lr(self) -> float:
        cfg = self.cfg
        if self.step < cfg.warmup_steps:
            return cfg.lr * (self.step + 1) / cfg.warmup_steps
        t = (self.step - cfg.warmup_steps) / max(1, self.total_steps - cfg.warmup_steps)
        return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    # -- one step
    def _loss(self, batch: dict) -> tuple[torch.Tensor, dict]:
        dev = self.device
        if self.cfg.stage == "hand":
            kp, ok = batch["keypoints"].to(dev), batch["trainable"].to(dev)
            located = ok * (1.0 - batch["negative"].to(dev))[:, None] if "negative" in batch else ok
            weigh = None
            if self.cfg.error_weighting:
                def weigh(_i, hm):
                    return losses.handoff_weights(hm, kp, located)
            stages = self.net(batch["image"].to(dev), return_all=True, handoff_weights=weigh)
            loss, w = losses.hand_loss(stages, batch["heatmaps"].to(dev), kp, ok, self.cfg.loss_wise, located)
            return loss, {f"W{i + 1}": float(x) for i, x in enumerate(w)}
        stages = self.net(batch["image"].to(dev), return_all=True, logits=True)
        targets = {k: batch[k].to(dev) for k in ("centers", "sizes", "offsets", "mask")}
        return losses.localizer_loss(stages, targets)

    def _loader(self, dataset, shuffle: bool) -> DataLoader:
        sampler = DistributedSampler(dataset, self.world, self.rank, shuffle=shuffle, seed=self.cfg.seed) \
            if self.world > 1 else SequentialSampler(dataset)
        return DataLoader(dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.num_workers, drop_last=shuffle,
                          persistent_workers=False, pin_memory=self.device.type == "cuda")

    def validate(self) -> dict:
        """Validation metrics (val_*) of the weights best.pt would hold; with a weight average, those of the
        average, and the raw weights' as raw_val_*."""
        if self.val_set is None or len(self.val_set) == 0:
            return {}
        if self.ema is None:
            return self._validate(self.model)
        raw = {f"raw_{k}": v for k, v in self._validate(self.model).items()}
        return {**self._validate(self.ema.module), **raw}

    def _validate(self, model) -> dict:
        loader = self._loader(self.val_set, shuffle=False)
        if self.cfg.stage == "hand":
            return validate_hand(model, loader, self.device)
        return validate_localizer(model, loader, self.device, LOCALIZER_STRIDE)

    def _log(self, name: str, row: dict) -> None:
        """Append a row to out_dir/<name>.csv (readable without any service) and to TensorBoard if present."""
        if self.rank != 0:
            return
        append_csv_row(self.out / f"{name}.csv", row)
        if self.tensorboard is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k not in ("time", "step"):
                    self.tensorboard.add_scalar(f"{name}/{k}", v, self.step)

    @property
    def tensorboard(self):
        if not hasattr(self, "_tb"):
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out / "tensorboard")) if self.rank == 0 else None
            except ImportError:  # TensorBoard is optional; the CSV logs carry everything
                self._tb = None
        return self._tb

    def fit(self) -> dict:
        """Run to the end (or to max_steps); returns the last validation metrics."""
        from tqdm import tqdm

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        metrics: dict = {}
        key = "val_pck@0.2" if cfg.stage == "hand" else "val_recall"
        self.model.train()
        while self.epoch < cfg.epochs and not self._done():
            self.train_set.set_epoch(self.epoch)
            loader = self._loader(self.train_set, shuffle=True)
            if isinstance(loader.sampler, DistributedSampler):
                loader.sampler.set_epoch(self.epoch)
            skip = self.step - self.epoch * self.steps_per_epoch  # resume mid-epoch
            bar = tqdm(total=self.steps_per_epoch, initial=max(skip, 0), disable=not cfg.progress or self.rank,
                       desc=f"{cfg.stage} epoch {self.epoch + 1}/{cfg.epochs}", dynamic_ncols=True)
            t0, running = time.time(), None
            for i, batch in enumerate(loader):
                if i < skip:
                    continue
                if i >= self.steps_per_epoch or self._done():
                    break
                for group in self.optimizer.param_groups:
                    group["lr"] = self._lr()
                with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                    loss, parts = self._loss(batch)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if self.ema is not None:
                    self.ema.update(self.model)
                self.step += 1
                value = float(loss.detach())
                running = value if running is None else 0.95 * running + 0.05 * value
                bar.set_postfix(loss=f"{running:.4g}", lr=f"{self._lr():.2g}")
                bar.update(1)
                if self.step % cfg.checkpoint_every == 0:
                    self._checkpoint()
                    self._log("steps", {"time": round(time.time(), 1), "epoch": self.epoch, "step": self.step,
                               "loss": running, "lr": self._lr(), **parts})
            bar.close()
            if self.step - self.epoch * self.steps_per_epoch >= self.steps_per_epoch:
                self.epoch += 1
            metrics = self.validate() if self.rank == 0 else {}
            metrics.update(loss=running, epoch=self.epoch, step=self.step,
                           seconds=round(time.time() - t0, 1))
            if self.rank == 0:
                print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
                self._log("epochs", {"time": round(time.time(), 1), **metrics})
                if metrics.get(key, -math.inf) > self.best:
                    self.best = metrics[key]
                    self._checkpoint_best()
            self._checkpoint()
        return metrics

    def _done(self) -> bool:
        return bool(self.cfg.max_steps) and self.step >= self.cfg.max_steps

    def close(self) -> None:
        if getattr(self, "_tb", None) is not None:
            self._tb.close()
        if dist.is_initialized():
            dist.destroy_process_group()
