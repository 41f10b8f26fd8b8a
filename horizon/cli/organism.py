"""``horizon organism``: the embedded model organisms' data (``data``) and training (``train``, resumable)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from horizon.cli.progress import INTERRUPTED_EXIT, bar, start_at, writer


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from horizon.organism.config import ORGANISMS, TrainConfig

    p = sub.add_parser("organism", help="the embedded model organisms: synthetic data and training")
    osub = p.add_subparsers(dest="organism_command", required=True)
    d = osub.add_parser("data", help="write the synth benchmark (parquet) generated from a seed")
    d.add_argument(
        "--out", type=Path, required=True, help="folder to write (use $HORIZON_DATA/synth to evaluate on it)"
    )
    d.add_argument("--n", type=int, default=600, help="rows (the six tasks in turn)")
    d.add_argument("--seed", type=int, default=0)
    t = osub.add_parser(
        "train",
        help="train an organism on synth (from scratch, or from a finished run with --init); resumes from "
        "OUT/checkpoint.pt; writes OUT/model when done",
    )
    t.add_argument("organism", choices=ORGANISMS)
    t.add_argument("--out", type=Path, required=True, help="run folder (checkpoint.pt, train.json, log, model/)")
    defaults = TrainConfig(organism="organism-llava")
    for name in ("steps", "pretrain_steps", "batch", "warmup", "seed", "threads", "checkpoint_every", "eval_every",
                 "eval_rows", "point_layer"):  # fmt: skip
        t.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in ("lr", "min_lr_ratio", "aux_weight", "weight_decay", "clip", "point_weight", "probe_weight",
                 "copy_weight"):  # fmt: skip
        t.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    t.add_argument("--dense", action="store_true", help="every question a scene supports per chat, not six")
    t.add_argument(
        "--exists-first",
        action="store_true",
        help="exists questions first in each chat (no earlier answer names the scene's objects)",
    )
    t.add_argument("--lookup-exists", action="store_true",
                   help="the pointing / probe / copy losses for exists questions too (the kind word looks at the "
                   "matching shapes, or at the first token when none)")  # fmt: skip
    t.add_argument("--init", default="", help="a finished run folder to start from (a further training stage)")
    t.add_argument("--stop-after", type=int, default=None, help="end this call after N steps (resume later)")
    s = osub.add_parser("ship", help="score a finished run on the held-out rows and install it with its model card")
    s.add_argument("run", type=Path, help="a finished training run folder")
    s.add_argument("--dest", type=Path, help="default: the package's horizon/organism/weights/<organism>")
    s.add_argument("--notes", type=Path, help="a Markdown file: what was tried and what limited it (goes on the card)")


def cmd_organism(args: argparse.Namespace) -> int:
    return COMMANDS[args.organism_command](args)


def _data(args: argparse.Namespace) -> int:
    from horizon.benchmarks.fixtures import write_parquet
    from horizon.benchmarks.synth import rows

    path = write_parquet("synth", args.out, rows(args.n, seed=args.seed))
    print(f"{args.n} synth rows (seed {args.seed}) -> {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from horizon.organism.config import TrainConfig
    from horizon.organism.train import train

    names = [f.name for f in fields(TrainConfig) if f.name != "organism"]
    cfg = TrainConfig(organism=args.organism, **{n: getattr(args, n) for n in names})
    args.out.mkdir(parents=True, exist_ok=True)
    reached = [0, cfg.pretrain_steps + cfg.steps, 0]  # steps done, in all (what Ctrl-C reports), started
    with open(args.out / "log.txt", "a") as logf, bar(reached[1], f"{cfg.organism} training", unit="step") as shown:

        say = writer(shown)

        def log(line: str) -> None:
            say(line)
            logf.write(line + "\n")
            logf.flush()

        def tell(step: int, total: int) -> None:
            if not reached[2]:  # the first call: where this run starts (a resumed one mid-way)
                start_at(shown, step)
            reached[:] = [step, total, 1]
            shown.update(step - shown.n)

        try:
            summary = train(cfg, args.out, log=log, stop_after=args.stop_after, progress=tell)
        except KeyboardInterrupt:
            shown.leave = False
            shown.close()
            ckpt = args.out / "checkpoint.pt"
            kept = (f"{ckpt} holds the training up to its last checkpoint: run the same command again to resume"
                    if ckpt.exists() else f"no checkpoint yet (one every {cfg.checkpoint_every} steps): nothing to "
                    "resume")  # fmt: skip
            print(f"horizon: interrupted at step {reached[0]} of {reached[1]}; {kept}", file=sys.stderr)
            return INTERRUPTED_EXIT
    done = summary["step"] >= cfg.pretrain_steps + cfg.steps
    print(f"{'finished' if done else 'paused'} at step {summary['step']} ({summary['minutes']} min); "
          f"{'model in ' + str(args.out / 'model') if done else 'run again to resume'}")  # fmt: skip
    return 0


def _ship(args: argparse.Namespace) -> int:
    import json

    from horizon.evaluation import heldout
    from horizon.models.loading import BUNDLED
    from horizon.organism.ship import ship

    name = json.loads((args.run / "train.json").read_text())["config"]["organism"]
    dest = args.dest or BUNDLED / name
    record = ship(args.run, dest, name, heldout.heldout_run, args.notes.read_text() if args.notes else "")
    scores = record["scores"]
    print(f"{name} -> {dest}: held-out global {scores['accuracy_global']} fine {scores['accuracy_fine']} "
          f"(all {scores['accuracy']})")  # fmt: skip
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"data": _data, "train": _train, "ship": _ship}
