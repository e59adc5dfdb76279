"""The `handjoints` command line. Each subcommand imports what it needs when it runs, so `--help` is fast and
inference commands never import torch."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train one stage (hand network or localizer)",
        description="Train stage II (hand) or stage I (localizer). Resumes from OUT/last.pt when it exists.\n"
                    "Example: handjoints train hand --out runs/hand_lite --model lite --epochs 30",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["hand", "localizer"])
    p.add_argument("--out", required=True, help="run folder: checkpoints (last.pt, best.pt), steps.csv, epochs.csv")
    p.add_argument("--model", default="lite", help="preset name (lite, paper) or a JSON file of the model config")
    p.add_argument("--recipe", default=None,
                   help="data recipe: a name (hand, localizer, hand-synthetic, localizer-synthetic) or a JSON file; "
                        "default: the stage's shipped recipe")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--epoch-size", type=int, default=20000, help="training items per epoch")
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=1, help="data-loader worker processes")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = no limit)")
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--no-loss-wise", action="store_true", help="ablation: supervise only the last MSFF")
    p.add_argument("--no-error-weighting", action="store_true", help="ablation: hand heatmaps on unweighted")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load_json_or_name(value: str):
    path = Path(value)
    return json.loads(path.read_text()) if path.suffix == ".json" or path.is_file() else value


def cmd_train(args) -> int:
    from .training.loop import TrainConfig, Trainer
    from .training.recipes import get_recipe, resolve

    recipe_arg = args.recipe or args.stage
    recipe = resolve(_load_json_or_name(recipe_arg)) if Path(recipe_arg).is_file() else get_recipe(recipe_arg)
    cfg = TrainConfig(
        stage=args.stage, out_dir=args.out, model=_load_json_or_name(args.model), recipe=recipe,
        epochs=args.epochs, epoch_size=args.epoch_size, val_size=args.val_size, batch_size=args.batch_size,
        lr=args.lr, num_workers=args.workers, threads=args.threads, seed=args.seed, max_steps=args.max_steps,
        checkpoint_every=args.checkpoint_every, loss_wise=not args.no_loss_wise,
        error_weighting=not args.no_error_weighting, amp=not args.no_amp, progress=not args.quiet)
    trainer = Trainer(cfg)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return 0


COMMANDS = {"train": (_train_parser, cmd_train)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handjoints", description="Two-stage hand-joint detection SDK")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"handjoints {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
