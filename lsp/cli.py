"""The `diffill` console script: every layer adds its own subcommands.

lsp adds `serve` and `bench`; infill adds `fill`, `eval`, `heldout`; model adds `train`
and `model`. Dependencies point one way (lsp -> infill -> model), so the script lives here.
"""

from __future__ import annotations

import argparse
import sys

from diffill.infill import cli as infill_cli
from diffill.model import cli as model_cli

from . import commands as lsp_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffill", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    model_cli.add_commands(sub)
    infill_cli.add_commands(sub)
    lsp_commands.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
