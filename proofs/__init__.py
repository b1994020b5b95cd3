"""convalg's theorems: the identities of convolution algebra the library relies on, machine-checked with SymPy.

Each module states its theorems in its docstring (claim, scope, method) and
registers a ``check(bound)`` per theorem; ``python -m proofs`` (or
``convalg prove``) runs them and prints ``PROVED (general; ...)``,
``PROVED (all weights, sizes <= N)`` or ``FAILED`` with a counterexample.
"""

from ._core import THEOREMS, Disproved, MissingDependency, Result, Theorem, Unproved, run_theorem
from .runner import load_all, markdown, run, select

__all__ = [
    "THEOREMS", "Theorem", "Result", "Disproved", "Unproved", "MissingDependency", "run_theorem",
    "load_all", "select", "run", "markdown",
]
