"""The epoch loop of the small trainings (the handedness head, the hand-direction network): one class both use.

A subclass sets ``name`` (the progress bar's), calls EpochTrainer.__init__(cfg) first (cfg: out_dir, threads, seed,
epochs, epoch_size, batch_size, num_workers, progress, checkpoint_every) and provides model, optimizer, train_set
(with set_epoch), and the methods _train_mode(), _batch_loss(batch) -> tensor or None (None: nothing to learn from in this batch), _lr(), state() and
_end_epoch(seconds, running loss) -> metrics.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .loop import save_checkpoint


class EpochTrainer:
    """fit() runs (or resumes) the epochs; OUT/last.pt every cfg.checkpoint_every steps."""

    name = "training"

    def __init__(self, cfg) -> None:
        """The run's folder, torch threads and seed (before any network is built), and its step counts."""
        self.cfg, self.out = cfg, Path(cfg.out_dir)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.steps_per_epoch = max(1, cfg.epoch_size // cfg.batch_size)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.step, self.epoch = 0, 0

    def fit(self) -> dict:
        from tqdm import tqdm

        self.out.mkdir(parents=True, exist_ok=True)
        metrics: dict = {}
        while self.epoch < self.cfg.epochs:
            self.train_set.set_epoch(self.epoch)
            done = self.step - self.epoch * self.steps_per_epoch
            # items are drawn per (seed, epoch, index): resuming skips the batches already seen
            subset = torch.utils.data.Subset(self.train_set, list(range(done * self.cfg.batch_size,
                                                                        self.steps_per_epoch * self.cfg.batch_size)))
            bar = tqdm(total=self.steps_per_epoch, initial=done, disable=not self.cfg.progress,
                       desc=f"{self.name} epoch {self.epoch + 1}/{self.cfg.epochs}", dynamic_ncols=True)
            t0, running = time.time(), None
            self._train_mode()
            for batch in self._loader(subset):
                loss = self._train_step(batch)
                if loss is not None:
                    running = loss if running is None else 0.98 * running + 0.02 * loss
                    bar.set_postfix(loss=f"{running:.4f}")
                bar.update(1)
                if self.step % self.cfg.checkpoint_every == 0:
                    save_checkpoint(self.out / "last.pt", self.state())
            bar.close()
            self.epoch += 1
            metrics = self._end_epoch(time.time() - t0, running)
        return metrics

    def _train_step(self, batch) -> float | None:
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr()
        loss = self._batch_loss(batch)
        self.step += 1
        if loss is None:
            return None
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def _loader(self, dataset) -> DataLoader:
        workers = self.cfg.num_workers
        return DataLoader(dataset, batch_size=self.cfg.batch_size, shuffle=False, num_workers=workers,
                          persistent_workers=False, prefetch_factor=4 if workers else None)
