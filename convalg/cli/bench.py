"""``convalg bench SUITE``: run a benchmark suite (see :mod:`convalg.bench`)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from ..bench import SUITES

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks: " + ", ".join(SUITES))
    p.add_argument("suite", choices=SUITES, help="which benchmark suite")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the suite")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"convalg.bench.{args.suite}")
    return int(module.main(args.rest) or 0)
