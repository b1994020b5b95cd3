"""The ``convalg`` command line: one small module per sub-command.

Each module in :data:`COMMANDS` defines ``register(subparsers)``, which adds
its parser and sets ``func(args) -> int`` as the handler.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import SpecError
from .syntax import syntax_help

__all__ = ["main", "build_parser", "COMMANDS"]

#: Sub-command modules, in help order.
COMMANDS = ("demo", "shape", "rf", "matrix", "draw", "check", "bench", "prove")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convalg", description="Convolution algebra you can trust.")
    parser.add_argument("--version", action="version", version=f"convalg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:  # a command whose module is not installed (optional extra)
            if e.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    for command in sub.choices.values():  # the commands that take a layer list list its names and keys
        if any(action.dest in ("layers", "layer") for action in command._actions):
            command.epilog = syntax_help()
            command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SpecError as e:
        print(f"convalg {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. ``convalg matrix ... | head``: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 141  # 128 + SIGPIPE, the status a shell reports for a tool killed by the pipe
    except KeyboardInterrupt:
        print(f"convalg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
