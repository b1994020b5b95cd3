"""convalg's theorems: the identities of convolution algebra the library relies on, checked with SymPy.

Each module states its theorems in its docstring (claim, scope, method) and
registers a ``check(bound)`` per theorem that returns the :class:`Cases` it
checked; ``python -m proofs`` (or ``convalg prove``) runs them and prints
``PROVED (general)``, ``PROVED (all weights, sizes <= N)`` (with ``general
outline`` where a hand-written outline's steps are SymPy-checked) or
``FAILED`` with a counterexample or the coverage it lost.  The library is
compared against :mod:`proofs.definitions`, written without its index maps;
``python -m proofs.mutate`` breaks the library on purpose and requires the
theorems to notice.
"""

from ._core import THEOREMS, Cases, Disproved, MissingDependency, Result, Theorem, Unproved, run_theorem
from .runner import load_all, markdown, run, select

__all__ = [
    "THEOREMS", "Theorem", "Result", "Cases", "Disproved", "Unproved", "MissingDependency", "run_theorem",
    "load_all", "select", "run", "markdown",
]
