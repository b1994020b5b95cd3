"""Operator matrices of Conv / ConvTranspose, the padding operator, and the :func:`matrix` dispatcher.

Rows are the flattened output ``(C_out, *out)``, columns the flattened input
``(C_in, *in)`` (row-major, as ``x.reshape(-1)`` of a channels-first array).

=====================  ====================================================================
layer                  entry ``A[(co, o), (c, i)]``
=====================  ====================================================================
``Conv``               sum of ``w[co, c - g*C_in/G, tap(k)]`` over taps ``k`` with
                       ``i = padded_index(mode)(o, k)`` (``zeros``: ``i = input_index``
                       where ``valid``)
``ConvTranspose``      its own map read backwards: ``A[(co, i), (c, o)] = w[c, co - g*C_out/G,
                       tap(k)]`` where ``i = input_index(o, k)`` is ``valid``
``AvgPool`` & co.      see :mod:`convalg.operators.pooling`
=====================  ====================================================================

``zeros`` padding gives a (multi-level) Toeplitz matrix, ``circular`` at
stride 1 and unchanged size a (multi-level) circulant one; ``reflect`` /
``replicate`` equal the unpadded conv composed with :func:`padding_operator`.

>>> from convalg import Conv
>>> matrix(Conv(3, padding=1, in_channels=1, out_channels=1, ndim=1), (4,))
Matrix([
[w_0_0_1, w_0_0_2,       0,       0],
[w_0_0_0, w_0_0_1, w_0_0_2,       0],
[      0, w_0_0_0, w_0_0_1, w_0_0_2],
[      0,       0, w_0_0_0, w_0_0_1]])
>>> A, b = affine(Conv(1, in_channels=1, out_channels=2, ndim=1), (2,))
>>> b.T
Matrix([[b_0, b_0, b_1, b_1]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..index_map import AxisMap, IndexMap
from ..vocabulary import CONV_KINDS, kind_of
from .budget import Budget, check_budget
from .pooling import pool_matrix
from .symbols import bias_symbols, weight_symbols
from .tables import axis_table, combine, concrete_map, resolve_channels, sparse_from_dict, tap_tuples

__all__ = ["matrix", "affine", "conv_matrix", "padding_operator", "weight_array", "sparse_from_dict",
           "conv_entries"]


def weight_array(layer: Any, weights: Any = None) -> np.ndarray:
    """The weight symbols of ``layer``, or ``weights`` (numbers / expressions) checked against their shape."""
    symbols = weight_symbols(layer)
    if weights is None:
        return symbols
    arr = np.asarray(weights, dtype=object)
    if arr.shape != symbols.shape:
        raise SpecError(f"weights: shape {arr.shape} does not match the weight shape {symbols.shape}")
    return arr


def _accumulate(entries: dict, rows: np.ndarray, cols: np.ndarray, value: Any) -> None:
    for r, c in zip(rows.tolist(), cols.tolist()):
        key = (r, c)
        if key in entries:
            entries[key] = entries[key] + value
        else:
            entries[key] = value


def conv_entries(m: IndexMap, weights: np.ndarray) -> tuple[int, int, dict]:
    """``(rows, cols, {(r, c): entry})`` of a Conv / ConvTranspose index map with channels."""
    transposed = m.transposed
    mode = "zeros" if transposed else m.padding_mode
    tables = [axis_table(a, mode, m.flip_kernel) for a in m.axes]
    ch = m.channels
    cin, cout = ch.in_channels, ch.out_channels
    # forward conv: output side = o (n_out), input side = i (n); transposed: the other way round
    o_size = math.prod(t.n_out for t in tables)
    i_size = math.prod(t.n for t in tables)
    if transposed:
        rows, cols, row_block, col_block = cout * i_size, cin * o_size, i_size, o_size
    else:
        rows, cols, row_block, col_block = cout * o_size, cin * i_size, o_size, i_size
    entries: dict[tuple[int, int], Any] = {}
    for ks in tap_tuples(tables):
        o_flat, i_flat = combine(tables, ks)
        if len(o_flat) == 0:
            continue
        tap = tuple(t.tap[k] for t, k in zip(tables, ks))
        for co in range(cout):
            for ci in range(ch.in_per_group):
                c = ch.input_channel(co, ci)  # the input channel of the conv map (output of the transpose)
                if transposed:
                    w = weights[(c, co % ch.out_per_group, *tap)]
                    _accumulate(entries, co * row_block + i_flat, c * col_block + o_flat, w)
                else:
                    w = weights[(co, ci, *tap)]
                    _accumulate(entries, co * row_block + o_flat, c * col_block + i_flat, w)
    return rows, cols, entries


def _conv_nnz_bound(m: IndexMap) -> int:
    ch = m.channels
    per_channel = math.prod(int(a.n_out) * int(a.kernel) for a in m.axes)
    return per_channel * ch.out_channels * ch.in_per_group  # type: ignore[operator]


def conv_matrix(layer: Any, spatial: Sequence[int], in_channels: int | None = None, weights: Any = None,
                budget: Budget | None = None) -> sp.SparseMatrix:
    """The matrix of a ``Conv`` or ``ConvTranspose`` (see the module docstring).

    >>> from convalg import Conv
    >>> conv_matrix(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,), weights=[[[1, -1]]])
    Matrix([
    [1, -1,  0],
    [0,  1, -1]])
    """
    layer = resolve_channels(layer, in_channels, spatial)
    m = concrete_map(layer, spatial)
    ch = m.channels
    size_in, size_out = math.prod(m.input_shape), math.prod(m.output_shape)
    check_budget(ch.out_channels * size_out, ch.in_channels * size_in, _conv_nnz_bound(m), type(layer).__name__,
                 budget)
    rows, cols, entries = conv_entries(m, weight_array(layer, weights))
    return sparse_from_dict(rows, cols, entries)


def padding_operator(layer: Any, spatial: Sequence[int], channels: int = 1) -> sp.SparseMatrix:
    """The 0/1 matrix that pads a ``(channels, *spatial)`` input as ``layer.padding_mode`` does.

    Built from ``fold_index`` of the layer's index map: padded position
    ``j`` on an axis reads input ``fold(j - lo)``.  Rows: flattened
    ``(channels, *padded)``; zero padding gives zero rows.

    >>> from convalg import Conv
    >>> padding_operator(Conv(3, padding=1, padding_mode="reflect", ndim=1), (3,))
    Matrix([
    [0, 1, 0],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [0, 1, 0]])
    """
    m = concrete_map(layer, spatial)
    tables = []
    for a in m.axes:
        lo, hi = int(a.lo), int(a.hi)
        padded = a.n + lo + hi
        # the padding operator is the conv map with one tap, unit stride and the layer's pads
        tables.append(axis_table(AxisMap(a.n, padded, 1, 1, 1, lo, hi, a.axis), m.padding_mode))
    size_in = math.prod(t.n for t in tables)
    size_out = math.prod(t.n_out for t in tables)
    check_budget(channels * size_out, channels * size_in, channels * size_out, "padding", None)
    entries: dict = {}
    rows, cols = combine(tables, (0,) * len(tables))
    for c in range(channels):
        _accumulate(entries, c * size_out + rows, c * size_in + cols, sp.Integer(1))
    return sparse_from_dict(channels * size_out, channels * size_in, entries)


def matrix(layer: Any, spatial: Sequence[int], in_channels: int | None = None, weights: Any = None, *,
           budget: Budget | None = None) -> sp.SparseMatrix:
    """The linear operator of ``layer`` on inputs of spatial size ``spatial``, as a SymPy ``SparseMatrix``.

    ==========================  =================================================
    layer                       entries
    ==========================  =================================================
    ``Conv``, ``ConvTranspose`` weight symbols (or ``weights``); bias: :func:`affine`
    ``AvgPool``                 ``Rational(1, divisor)``
    ``AdaptiveAvgPool``,        ``Rational(1, window size)``
    ``GlobalAvgPool``
    ``MaxPool`` & adaptive      not linear: :func:`convalg.operators.max_pool_mask`
    ==========================  =================================================

    ``in_channels`` fills in the layer's (conv layers need both channel
    counts; pooling acts per channel and defaults to one channel).  Symbolic
    sizes, missing channels, or a matrix over the :class:`Budget` raise
    :class:`~convalg.SpecError`.

    >>> from convalg import AvgPool
    >>> matrix(AvgPool(2, ndim=1), (4,))
    Matrix([
    [1/2, 1/2,   0,   0],
    [  0,   0, 1/2, 1/2]])
    """
    kind = kind_of(layer)
    build = _no_matrix if kind is None else MATRIX_BUILDERS[kind]
    return build(layer, spatial, in_channels, weights, budget)


def _check_no_weights(layer: Any, weights: Any) -> None:
    if weights is not None:
        raise SpecError(f"weights: {type(layer).__name__} has no weights")


def _avg_pool_matrix(layer: Any, spatial: Sequence[int], in_channels: int | None, weights: Any,
                     budget: Budget | None) -> sp.SparseMatrix:
    _check_no_weights(layer, weights)
    return pool_matrix(layer, spatial, 1 if in_channels is None else in_channels, budget)


def _max_pool_matrix(layer: Any, spatial: Sequence[int], in_channels: int | None, weights: Any,
                     budget: Budget | None) -> sp.SparseMatrix:
    _check_no_weights(layer, weights)
    raise SpecError(
        f"layer={layer!r}: max pooling is not linear; use convalg.operators.max_pool_mask(layer, x) "
        "for the selection matrix of a given input"
    )


def _no_matrix(layer: Any, spatial: Sequence[int], in_channels: int | None, weights: Any,
               budget: Budget | None) -> sp.SparseMatrix:
    _check_no_weights(layer, weights)
    raise SpecError(f"layer={layer!r}: no operator matrix for this layer type")


#: How :func:`matrix` builds the operator of each layer kind:
#: ``build(layer, spatial, in_channels, weights, budget)``.
MATRIX_BUILDERS: dict[str, Callable[..., sp.SparseMatrix]] = {
    "conv": conv_matrix,
    "conv_transpose": conv_matrix,
    "avg_pool": _avg_pool_matrix,
    "adaptive_avg_pool": _avg_pool_matrix,
    "max_pool": _max_pool_matrix,
    "adaptive_max_pool": _max_pool_matrix,
    "sequential": _no_matrix,  # one matrix per layer, multiplied
}


def affine(layer: Any, spatial: Sequence[int], in_channels: int | None = None, weights: Any = None,
           bias: Any = None, *, budget: Budget | None = None) -> tuple[sp.SparseMatrix, sp.Matrix]:
    """``(A, b)`` with ``y = A x + b``: ``b`` repeats each output channel's bias over its positions.

    ``bias`` substitutes values for the bias symbols; layers without a bias
    (``bias=False``, pooling) give ``b = 0``.

    >>> from convalg import Conv
    >>> A, b = affine(Conv(2, in_channels=1, out_channels=1, ndim=1), (3,))
    >>> A.shape, b.T
    ((2, 3), Matrix([[b_0, b_0]]))
    """
    A = matrix(layer, spatial, in_channels, weights, budget=budget)
    if kind_of(layer) not in CONV_KINDS:
        return A, sp.zeros(A.rows, 1)
    layer = resolve_channels(layer, in_channels, spatial)
    values = bias_symbols(layer)
    if bias is not None:
        if not layer.bias:
            raise SpecError(f"bias: given, but the layer has bias=False ({layer!r})")
        values = np.asarray(bias, dtype=object)
        if values.shape != (layer.out_channels,):
            raise SpecError(f"bias: shape {values.shape} does not match ({layer.out_channels},)")
    per_channel = A.rows // layer.out_channels
    return A, sp.Matrix([values[r // per_channel] for r in range(A.rows)])
