"""The ``medgan`` command. Each command group lives beside the code it drives and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules exposing ``register(subparsers)``; each adds one command group (``medgan data ...``).
COMMAND_MODULES = ("medgan_lib.data.cli", "medgan_lib.study.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medgan", description="GANs for medical image synthesis: the study.")
    subparsers = parser.add_subparsers(dest="group", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
