"""``convalg prove [name ...] [--bound N] [--markdown]``: run the theorems of ``proofs/`` (checked with SymPy).

``proofs/`` lives at the repository root next to ``convalg/``; it is found
when convalg runs from a checkout (the repository root, or an editable
install).  Elsewhere the command says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run", "load_proofs"]


def load_proofs() -> Any:
    """Import the ``proofs`` package from the checkout that holds this convalg (or the current directory)."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (root, Path.cwd()):
        if (candidate / "proofs" / "__init__.py").is_file() and str(candidate) not in sys.path:
            sys.path.insert(0, str(candidate))
    try:
        return importlib.import_module("proofs.runner")
    except ModuleNotFoundError as e:
        if e.name not in ("proofs", "proofs.runner"):
            raise
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
        print("convalg prove: error: the 'proofs' package was not found; it ships with the source checkout "
              "(run from the repository root, or install convalg with 'pip install -e .')", file=sys.stderr)
        return 2
    return int(runner.run_from_args(args, "convalg prove"))
