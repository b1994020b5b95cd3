"""Kronecker decomposition of an N-d convolution matrix.

Convolution is separable over the spatial axes, so its matrix is a sum over
the N-d taps ``k = (k0, k1, ...)`` of Kronecker products::

    A = sum_k  W_k  (x)  S_0(k0)  (x)  S_1(k1)  (x) ...

``W_k`` is the ``C_out x C_in`` channel matrix of tap ``k`` (the weights
``w[co, ci, tap(k)]`` placed in the group blocks) and ``S_a(k_a)`` the 0/1
``n_out x n`` shift matrix of axis ``a``: ``S[o, i] = 1`` where tap ``k_a`` of
output ``o`` reads input ``i`` (from the axis table of the index map; for
circular / reflect / replicate the folded index).  For a ``ConvTranspose``
the shift matrices are those of its map read backwards (transposed).

>>> from convalg import Conv
>>> layer = Conv(2, in_channels=1, out_channels=1, ndim=2)
>>> terms = kronecker_terms(layer, (2, 3))
>>> len(terms), terms[1].tap, terms[1].shifts[1].tolist()
(4, (0, 1), [[0, 1, 0], [0, 0, 1]])
>>> kronecker_sum(terms) == layer.matrix((2, 3))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import SpecError
from ..vocabulary import CONV_KINDS, kind_of
from .budget import Budget, check_budget
from .linear import weight_array
from .tables import AxisTable, axis_table, concrete_map, resolve_channels, tap_tuples

__all__ = ["KroneckerTerm", "shift_matrix", "sparse_kron", "kronecker_terms", "kronecker_sum"]


@dataclass(frozen=True)
class KroneckerTerm:
    """One tap's term ``channel (x) shifts[0] (x) shifts[1] ...``; ``tap`` is the N-d tap ``k``."""

    tap: tuple[int, ...]
    channel: sp.SparseMatrix
    shifts: tuple[sp.SparseMatrix, ...]

    def matrix(self) -> sp.SparseMatrix:
        return sparse_kron(self.channel, *self.shifts)


def shift_matrix(table: AxisTable, k: int, transposed: bool = False) -> sp.SparseMatrix:
    """The 0/1 ``n_out x n`` matrix of tap ``k`` of an axis table (``n x n_out`` when ``transposed``).

    >>> from convalg import Conv
    >>> from convalg.operators.tables import axis_table
    >>> axis = Conv(2, in_channels=1, out_channels=1, ndim=1).index_map((3,)).axes[0]
    >>> shift_matrix(axis_table(axis), 1)           # tap 1: output o reads input o + 1
    Matrix([
    [0, 1, 0],
    [0, 0, 1]])
    """
    entries = {(int(o), int(i)): sp.Integer(1) for o, i in zip(table.o[k], table.i[k])}
    S = sp.SparseMatrix(table.n_out, table.n, entries)
    return S.T if transposed else S


def sparse_kron(*mats: sp.MatrixBase) -> sp.SparseMatrix:
    """Kronecker product of sparse matrices, built from their nonzero entries.

    >>> import sympy as sp
    >>> sparse_kron(sp.Matrix([[1, 2]]), sp.eye(2))
    Matrix([
    [1, 0, 2, 0],
    [0, 1, 0, 2]])
    """
    if not mats:
        raise SpecError("sparse_kron: needs at least one matrix")
    rows, cols, entries = 1, 1, {(0, 0): sp.Integer(1)}
    for M in mats:
        dok = M.todok()
        entries = {(r * M.rows + i, c * M.cols + j): v * w for (r, c), v in entries.items() for (i, j), w in dok.items()}
        rows, cols = rows * M.rows, cols * M.cols
    return sp.SparseMatrix(rows, cols, {k: v for k, v in entries.items() if v != 0})


def kronecker_terms(layer: Any, spatial: Sequence[int], in_channels: int | None = None, weights: Any = None,
                    budget: Budget | None = None) -> list[KroneckerTerm]:
    """The Kronecker terms of a Conv / ConvTranspose matrix, one per N-d tap (row-major).

    >>> from convalg import Conv
    >>> layer = Conv(2, in_channels=1, out_channels=1, ndim=1)
    >>> terms = kronecker_terms(layer, (3,))
    >>> [t.tap for t in terms], kronecker_sum(terms) == layer.matrix((3,))
    ([(0,), (1,)], True)
    """
    if kind_of(layer) not in CONV_KINDS:
        raise SpecError(f"layer={layer!r}: the Kronecker decomposition is for Conv / ConvTranspose")
    layer = resolve_channels(layer, in_channels, spatial)
    m = concrete_map(layer, spatial)
    ch = m.channels
    check_budget(ch.out_channels * math.prod(m.output_shape), ch.in_channels * math.prod(m.input_shape),
                 ch.out_channels * ch.in_per_group * math.prod(int(a.n_out) * int(a.kernel) for a in m.axes),
                 type(layer).__name__, budget)
    W = weight_array(layer, weights)
    tables = [axis_table(a, "zeros" if m.transposed else m.padding_mode, m.flip_kernel) for a in m.axes]
    terms = []
    for ks in tap_tuples(tables):
        tap = tuple(t.tap[k] for t, k in zip(tables, ks))
        entries = {}
        for co in range(ch.out_channels):
            for ci in range(ch.in_per_group):
                c = ch.input_channel(co, ci)
                entries[(co, c)] = W[(c, co % ch.out_per_group, *tap)] if m.transposed else W[(co, ci, *tap)]
        channel = sp.SparseMatrix(ch.out_channels, ch.in_channels, entries)
        shifts = tuple(shift_matrix(t, k, m.transposed) for t, k in zip(tables, ks))
        terms.append(KroneckerTerm(tuple(ks), channel, shifts))
    return terms


def kronecker_sum(terms: Sequence[KroneckerTerm]) -> sp.SparseMatrix:
    """``sum_k channel_k (x) shifts_k``: equals the layer's :func:`~convalg.operators.matrix`.

    >>> from convalg import Conv
    >>> kronecker_sum(kronecker_terms(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,), weights=[[[1, -1]]]))
    Matrix([
    [1, -1,  0],
    [0,  1, -1]])
    """
    if not terms:
        raise SpecError("kronecker_sum: no terms")
    total = terms[0].matrix()
    for t in terms[1:]:
        total = total + t.matrix()
    return total
