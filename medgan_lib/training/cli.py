"""``medgan train``: one GAN run from a preset (or a config file), on one process or data-parallel.

``torchrun --nproc_per_node 4 -m medgan_lib.cli train --preset paper --gan stylegan2`` trains on four GPUs (any
torchrun launch works, several nodes included); ``--processes 4`` starts torchrun on this machine itself.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import yaml

from medgan_lib.config import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train one GAN run (data-parallel with --processes or torchrun)")
    train.add_argument("--preset", default="quick", help="preset name or chain, e.g. quick, paper, quick+Vanilla2")
    train.add_argument("--gan", default=None, help="registered GAN name (default: the preset's)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="a TrainConfig field over the preset (YAML value), e.g. --set iterations=2000")
    train.add_argument("--config", default=None, help="a TrainConfig JSON/YAML file (replaces --preset/--gan)")
    train.add_argument("--study", default=None, help="study folder whose runs/ holds the run (default: <runs>/default)")
    train.add_argument("--resume", default="auto",
                       help="'auto' (a run with the same hyperparameters), 'none' (a new run) or a run folder")
    train.add_argument("--processes", type=int, default=1,
                       help="data-parallel processes on this machine (one per GPU), started with torchrun")
    train.set_defaults(func=_train)


def _config(args: argparse.Namespace):
    from medgan_lib.training.config import TrainConfig, preset

    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set iterations=2000")
        overrides[key.strip()] = yaml.safe_load(value)
    if args.config is not None:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"--config {path}: no such file")
        values = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
        return TrainConfig.from_dict({**values, **overrides}, where=str(path))
    if args.gan is not None:
        overrides["gan"] = args.gan
    return preset(args.preset, **overrides)


def _train(args: argparse.Namespace) -> int:
    from medgan_lib.training.train import train_gan

    try:
        config = _config(args)
    except ConfigError as err:
        print(f"error: {err}")
        return 2
    resume = None if args.resume == "none" else args.resume
    run = train_gan(config, args.study, resume=resume, processes=args.processes)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one line for the run, not one per process
        print(run)
    return 0
