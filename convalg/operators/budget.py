"""The size budget for materialised operator matrices.

A SymPy ``SparseMatrix`` costs roughly a kilobyte and a few microseconds per
stored entry, so concrete matrices are for small sizes only.  Two limits apply
before anything is built:

=====================  ==================  ==============================================
limit                  default             meaning
=====================  ==================  ==============================================
``max_nnz``            ``250_000``         upper bound on stored entries (taps x outputs)
``max_entries``        ``2**26``           ``rows * cols`` of the (mostly zero) matrix
=====================  ==================  ==============================================

Beyond either the builder raises :class:`~convalg.SpecError` and points at the
index-map form, ``layer.index_map(spatial)``, which describes the same
operator at any size.

>>> check_budget(rows=1024, cols=1024, nnz=9216, what="Conv")
>>> try:
...     check_budget(rows=10**5, cols=10**5, nnz=10**6, what="Conv")
... except Exception as e:
...     print(str(e)[:60])
Conv matrix: 100000 x 100000 with up to 1000000 stored entri
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError

__all__ = ["Budget", "DEFAULT_BUDGET", "check_budget"]


@dataclass(frozen=True)
class Budget:
    """Limits on a materialised matrix (see the module docstring)."""

    max_nnz: int = 250_000
    max_entries: int = 2**26


DEFAULT_BUDGET = Budget()


def check_budget(rows: int, cols: int, nnz: int, what: str, budget: Budget | None = None) -> None:
    """Raise :class:`SpecError` when a ``rows x cols`` matrix with up to ``nnz`` entries exceeds ``budget``."""
    budget = budget or DEFAULT_BUDGET
    if nnz > budget.max_nnz or rows * cols > budget.max_entries:
        raise SpecError(
            f"{what} matrix: {rows} x {cols} with up to {nnz} stored entries exceeds the budget "
            f"(max_nnz={budget.max_nnz}, max_entries=rows*cols={budget.max_entries}); use the index-map form "
            "layer.index_map(spatial) for large sizes, or pass budget=convalg.operators.Budget(...) to raise it"
        )
