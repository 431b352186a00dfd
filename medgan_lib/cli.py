"""The ``medgan`` command. Each command group lives beside the code it drives and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys

# Modules exposing ``register(subparsers)``; each adds one command group (``medgan data ...``).
COMMAND_MODULES = ("medgan_lib.data.cli", "medgan_lib.training.cli", "medgan_lib.study.cli", "medgan_lib.turing.cli")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default where it has a meaningful one (not None, False or an empty list)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" not in text and action.default not in (None, False, [], argparse.SUPPRESS) \
                and action.option_strings:
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """Every ``medgan`` (sub)command's parser: help with defaults (sub-parsers inherit the parser's class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> Parser:
    parser = Parser(prog="medgan", description="GANs for medical image synthesis: the study.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {importlib.metadata.version('medgan-study')}")
    subparsers = parser.add_subparsers(dest="group", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.group is None:  # ``medgan`` alone: show what there is to do
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
