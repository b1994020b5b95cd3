"""``convalg prove [name ...] [--bound N] [--markdown]``: run the theorems of ``proofs/`` (checked with SymPy).

The theorems are the repository's top-level ``proofs/`` folder; an install (regular or editable) puts that
folder in the package as ``convalg._proofs``.  A checkout used without installing (the repository root on
``sys.path``) imports it as ``proofs``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

__all__ = ["register", "run", "load_proofs", "RUNNER_MODULES"]


#: Where the theorem runner is found: the installed package first, then a checkout's ``proofs/`` folder.
RUNNER_MODULES = ("convalg._proofs.runner", "proofs.runner")


def load_proofs() -> Any:
    """The theorem runner module (the first of :data:`RUNNER_MODULES` that imports), or ``None``.

    >>> load_proofs().__name__ in RUNNER_MODULES
    True
    """
    for name in RUNNER_MODULES:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name not in (name, name.rpartition(".")[0]):
                raise  # the theorems are there but something they import is missing
    return None


def register(sub: Any) -> None:
    p = sub.add_parser("prove", help="run the theorems of proofs/, checked with SymPy",
                       description="e.g.  convalg prove            (all theorems)\n"
                                   "      convalg prove transpose --bound 7",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="theorem names or prefixes (default: all)")
    p.add_argument("--bound", type=int, default=None, help="size bound of the bounded checks")
    p.add_argument("--markdown", action="store_true", help="print the README table")
    p.add_argument("--list", action="store_true", help="list the theorems")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    runner = load_proofs()
    if runner is None:
        print("convalg prove: error: the theorems were not found (neither convalg._proofs nor a checkout's proofs/); "
              "reinstall convalg ('pip install .'), or run 'python -m proofs' from the repository root", file=sys.stderr)
        return 2
    return int(runner.run_from_args(args, "convalg prove"))
