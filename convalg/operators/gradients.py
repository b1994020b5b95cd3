"""Gradients of ``y = A(w) x + b`` as operators and as index-level formulas.

With upstream gradient ``g = dL/dy`` (flattened like the rows of ``A``):

=====================  ======================  =============================================
gradient               operator                index-level formula (``zeros`` padding)
=====================  ======================  =============================================
``dL/dx``              ``A(w)^T g``            ``sum_{co, k} w[co, ci, tap(k)] * g[co, o]``
                                               with ``o = gather_output(i, k)`` where
                                               ``gather_condition`` holds (a transposed conv
                                               in gather form)
``dL/dw``              ``B(x)^T g``            ``sum_o g[co, o] * x[c, input_index(o, k)]``
                                               where ``valid`` (a correlation of ``x`` with
                                               ``g``)
``dL/db``              ``sum_o g[co, o]``
=====================  ======================  =============================================

``B(x)`` is the unfold (im2col) matrix with ``A(w) x = B(x) w`` for the
weights flattened in PyTorch order; both come from the same axis tables.

>>> from convalg import Conv
>>> from convalg.operators import symbol_array, matrix, weight_symbols
>>> layer = Conv(2, in_channels=1, out_channels=1, ndim=1)
>>> x = symbol_array("x", (1, 3))
>>> unfold_matrix(layer, (3,), x)
Matrix([
[x_0_0, x_0_1],
[x_0_1, x_0_2]])
>>> lhs, rhs = grad_weight_formula(layer, (3,))
>>> lhs, rhs
(dw[co, ci, k0], Sum(Piecewise((g[co, o0]*x[ci, k0 + o0], (k0 + o0 >= 0) & (k0 + o0 < 3)), (0, True)), (o0, 0, 1)))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..index_map import index_map
from ..vocabulary import kind_of
from .budget import Budget, check_budget
from .linear import matrix
from .symbols import symbol_array, weight_symbols
from .tables import axis_table, combine, concrete_map, resolve_channels, sparse_from_dict, tap_tuples

__all__ = [
    "grad_input_matrix", "unfold_matrix", "im2col", "grad_weight", "grad_bias", "grad_weight_formula",
    "grad_input_formula",
]


def grad_input_matrix(layer: Any, spatial: Sequence[int], in_channels: int | None = None, weights: Any = None,
                      budget: Budget | None = None) -> sp.SparseMatrix:
    """``A(w)^T``: maps ``dL/dy`` to ``dL/dx`` (a ConvTranspose for a zero-padded Conv).

    >>> from convalg import Conv
    >>> grad_input_matrix(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,))
    Matrix([
    [w_0_0_0,       0],
    [w_0_0_1, w_0_0_0],
    [      0, w_0_0_1]])
    """
    return matrix(layer, spatial, in_channels, weights, budget=budget).T


def _input_array(layer: Any, m: Any, x: Any) -> np.ndarray:
    shape = (m.channels.in_channels, *m.input_shape)
    if x is None:
        return symbol_array("x", shape)
    arr = np.asarray(x, dtype=object)
    if arr.shape != shape:
        raise SpecError(f"x: shape {arr.shape} does not match the input shape {shape} (C_in, *spatial)")
    return arr


def unfold_matrix(layer: Any, spatial: Sequence[int], x: Any = None, in_channels: int | None = None,
                  budget: Budget | None = None) -> sp.SparseMatrix:
    """``B(x)`` with ``A(w) x = B(x) w``: rows as ``A``'s, columns the flattened weight (PyTorch order).

    ``x`` is a ``(C_in, *spatial)`` array (numbers or expressions); default:
    symbols ``x_<c>_<i0>...``.
    """
    layer = resolve_channels(layer, in_channels, spatial)
    m = concrete_map(layer, spatial)
    ch = m.channels
    X = _input_array(layer, m, x).reshape(ch.in_channels, -1)
    wshape = weight_symbols(layer).shape
    tables = [axis_table(a, "zeros" if m.transposed else m.padding_mode, m.flip_kernel) for a in m.axes]
    o_size, i_size = math.prod(t.n_out for t in tables), math.prod(t.n for t in tables)
    row_block = i_size if m.transposed else o_size
    rows = ch.out_channels * row_block
    check_budget(rows, math.prod(wshape), rows * math.prod(wshape[1:]), "unfold", budget)
    entries: dict = {}
    for ks in tap_tuples(tables):
        o_flat, i_flat = combine(tables, ks)
        tap = tuple(t.tap[k] for t, k in zip(tables, ks))
        for co in range(ch.out_channels):
            for ci in range(ch.in_per_group):
                c = ch.input_channel(co, ci)
                if m.transposed:  # y[co, i] += w[c, j, tap] x[c, o]
                    col = int(np.ravel_multi_index((c, co % ch.out_per_group, *tap), wshape))
                    for r, src in zip((co * row_block + i_flat).tolist(), o_flat.tolist()):
                        entries[(r, col)] = X[c, src]
                else:
                    col = int(np.ravel_multi_index((co, ci, *tap), wshape))
                    for r, src in zip((co * row_block + o_flat).tolist(), i_flat.tolist()):
                        entries[(r, col)] = X[c, src]
    return sparse_from_dict(rows, math.prod(wshape), entries)


def im2col(layer: Any, spatial: Sequence[int], x: Any = None, in_channels: int | None = None) -> sp.SparseMatrix:
    """PyTorch ``unfold`` layout of a Conv: ``(C_in * prod(k), L)``, row ``c*prod(k) + k_flat``, column ``o_flat``.

    Entry ``x[c, padded_index(o, k)]`` (zero where a zero-padded tap is
    invalid); the kernel position ``k`` is not flipped.

    >>> from convalg import Conv
    >>> im2col(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,))
    Matrix([
    [x_0_0, x_0_1],
    [x_0_1, x_0_2]])
    """
    if kind_of(layer) != "conv":
        raise SpecError(f"layer={layer!r}: im2col is defined for Conv")
    layer = resolve_channels(layer, in_channels, spatial)
    m = concrete_map(layer, spatial)
    C = m.channels.in_channels
    X = _input_array(layer, m, x).reshape(C, -1)
    tables = [axis_table(a, m.padding_mode) for a in m.axes]
    K = math.prod(int(a.kernel) for a in m.axes)
    L = math.prod(t.n_out for t in tables)
    check_budget(C * K, L, C * K * L, "im2col", None)
    entries: dict = {}
    for kflat, ks in enumerate(tap_tuples(tables)):
        o_flat, i_flat = combine(tables, ks)
        for c in range(C):
            for o, i in zip(o_flat.tolist(), i_flat.tolist()):
                entries[(c * K + kflat, o)] = X[c, i]
    return sparse_from_dict(C * K, L, entries)


def _grad_vector(layer: Any, g: Any, rows: int) -> sp.Matrix:
    arr = np.asarray(g, dtype=object).reshape(-1)
    if arr.size != rows:
        raise SpecError(f"g: has {arr.size} entries, the output has {rows}")
    return sp.Matrix(arr.tolist())


def grad_weight(layer: Any, spatial: Sequence[int], x: Any, g: Any, in_channels: int | None = None) -> np.ndarray:
    """``dL/dw = B(x)^T g`` reshaped to the weight shape (``g`` shaped like the output ``(C_out, *out)``).

    >>> from convalg import Conv
    >>> grad_weight(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,), np.array([[1, 2, 3]]), np.array([[1, 1]]))
    array([[[3, 5]]], dtype=object)
    """
    layer = resolve_channels(layer, in_channels, spatial)
    B = unfold_matrix(layer, spatial, x)
    grad = B.T * _grad_vector(layer, g, B.rows)
    return np.array(list(grad), dtype=object).reshape(weight_symbols(layer).shape)


def grad_bias(layer: Any, g: Any) -> np.ndarray:
    """``dL/db[co] = sum_o g[co, o]`` for ``g`` of shape ``(C_out, *out)`` or batched ``(N, C_out, *out)``.

    >>> from convalg import Conv
    >>> grad_bias(Conv(2, in_channels=1, out_channels=2, ndim=1), np.ones((2, 3), dtype=int))
    array([3, 3], dtype=object)
    """
    arr = np.asarray(g, dtype=object)
    nd = layer.ndim if layer.ndim is not None else arr.ndim - 1
    ch_axis = arr.ndim - 1 - nd
    if ch_axis not in (0, 1):
        raise SpecError(f"g: shape {arr.shape} is not (C_out, *out) or (N, C_out, *out) for ndim={nd}")
    return arr.sum(axis=tuple(a for a in range(arr.ndim) if a != ch_axis))


def _conv_symbols(layer: Any, spatial: Sequence[Any]) -> tuple[Any, sp.IndexedBase, sp.IndexedBase, Any, Any]:
    if kind_of(layer) != "conv":
        raise SpecError(f"layer={layer!r}: the index-level gradient formulas are for Conv")
    m = index_map(layer, spatial)
    if m.padding_mode != "zeros":
        raise SpecError(
            f"padding_mode={m.padding_mode!r}: the gather formulas cover zero padding; for other modes compose "
            "with padding_operator(layer, spatial).T"
        )
    co, ci, c = sp.symbols("co ci c", integer=True, nonnegative=True)
    ch = m.channels
    if layer.groups == 1:
        cin_of = ci
    else:
        if ch.in_per_group is None or ch.out_per_group is None:
            raise SpecError("in_channels / out_channels: needed for the grouped gradient formulas")
        cin_of = sp.floor(co / ch.out_per_group) * ch.in_per_group + ci
    return m, sp.IndexedBase("x"), sp.IndexedBase("g"), (co, ci, c), cin_of


def grad_weight_formula(layer: Any, spatial: Sequence[Any]) -> tuple[sp.Indexed, sp.Expr]:
    """``(dw[co, ci, tap(k)], sum_o g[co, o] x[c, input_index])``: the weight gradient, a correlation.

    Sizes may be symbolic.  ``c`` is the global input channel of ``(co, ci)``.
    """
    m, x, g, (co, ci, _), cin_of = _conv_symbols(layer, spatial)
    summand = g[(co, *m.o)] * x[(cin_of, *m.input_index)]
    expr = sp.Piecewise((summand, m.valid), (0, True))
    expr = sp.Sum(expr, *[(a.o, 0, a.n_out - 1) for a in m.axes])
    return sp.IndexedBase("dw")[(co, ci, *m.taps())], expr


def grad_input_formula(layer: Any, spatial: Sequence[Any]) -> tuple[sp.Indexed, sp.Expr]:
    """``(dx[c, i], sum_{co, k} w[co, ci, tap(k)] g[co, o(i, k)])``: the input gradient in gather form.

    ``o(i, k) = AxisMap.gather_output`` where every ``AxisMap.gather_condition``
    holds; ``co`` runs over the output channels of ``c``'s group.

    >>> from convalg import Conv
    >>> grad_input_formula(Conv(3, stride=2, padding=1, in_channels=1, out_channels=1, ndim=1), (8,))
    (dx[c, i0], Sum(Piecewise((g[co, i0/2 - k0/2 + 1/2]*w[co, c, k0],
        (i0/2 - k0/2 >= -1/2) & (i0/2 - k0/2 < 7/2) & Eq(Mod(i0 - k0 + 1, 2), 0)), (0, True)), (co, 0, 0), (k0, 0, 2)))
    """
    m, _, g, (co, ci, c), _ = _conv_symbols(layer, spatial)
    w = sp.IndexedBase("w")
    ch = m.channels
    if layer.groups == 1:
        local, co_range = c, (co, 0, (ch.out_channels - 1) if ch.out_channels else sp.Symbol("C_out") - 1)
    else:
        grp = sp.floor(c / ch.in_per_group)
        local, co_range = c - grp * ch.in_per_group, (co, grp * ch.out_per_group, (grp + 1) * ch.out_per_group - 1)
    summand = w[(co, local, *m.taps())] * g[(co, *[a.gather_output for a in m.axes])]
    cond = sp.And(*[a.gather_condition for a in m.axes])
    expr = sp.Sum(sp.Piecewise((summand, cond), (0, True)), co_range, *[(a.k, 0, a.kernel - 1) for a in m.axes])
    return sp.IndexedBase("dx")[(c, *m.i)], expr
