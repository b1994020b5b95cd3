"""Toeplitz / circulant structure of conv matrices, the builders, the Kronecker decomposition and
the padding-operator composition."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from convalg import Conv
from convalg.operators import (
    block_circulant,
    block_structure,
    block_toeplitz,
    circulant,
    is_block_circulant,
    is_block_toeplitz,
    is_circulant,
    is_toeplitz,
    kronecker_sum,
    kronecker_terms,
    matrix,
    padding_operator,
    toeplitz,
    weight_symbols,
)

from .small_cases import conv_cases, conv_transpose_cases


def _conv(k, p, mode="zeros", ndim=1, **kw):
    return Conv(k, padding=p, padding_mode=mode, in_channels=1, out_channels=1, ndim=ndim, **kw)


@pytest.mark.parametrize("k,lo,hi", [(3, 1, 1), (2, 0, 1), (4, 2, 1), (5, 2, 2), (1, 0, 0)])
@pytest.mark.parametrize("n", [4, 5])
def test_circular_1d_is_circulant_zero_padded_is_toeplitz(k, lo, hi, n):
    w = weight_symbols(_conv(k, ((lo, hi),)))[0, 0]
    C = matrix(_conv(k, ((lo, hi),), "circular"), (n,))
    assert is_circulant(C) and is_toeplitz(C)
    Z = matrix(_conv(k, ((lo, hi),)), (n,))
    assert is_toeplitz(Z)
    assert not is_circulant(Z) or k == 1
    # the same matrices from the builders: A[o, i] = w[i - o + lo]
    col = [w[lo - r] if 0 <= lo - r < k else 0 for r in range(n)]
    row = [w[lo + c] if 0 <= lo + c < k else 0 for c in range(n)]
    assert Z == toeplitz(col, row)
    first = [sum((w[j] for j in range(k) if (j - lo) % n == (-r) % n), sp.Integer(0)) for r in range(n)]
    assert C == circulant(first)


@pytest.mark.parametrize("kernel,pads", [((3, 3), ((1, 1), (1, 1))), ((2, 3), ((1, 0), (0, 2))), ((3, 1), ((2, 0), (0, 0)))])
def test_2d_circular_is_doubly_block_circulant_zero_padded_doubly_block_toeplitz(kernel, pads):
    shape = (4, 3)
    C = matrix(_conv(kernel, pads, "circular", ndim=2), shape)
    assert block_structure(C, shape, shape) == ("circulant", "circulant")
    assert is_block_circulant(C, shape, shape)
    Z = matrix(_conv(kernel, pads, ndim=2), shape)
    assert is_block_toeplitz(Z, shape, shape) and not is_block_circulant(Z, shape, shape)


def test_3d_circular_is_triply_block_circulant():
    shape = (3, 2, 4)
    C = matrix(_conv((2, 2, 3), ((1, 0), (0, 1), (1, 1)), "circular", ndim=3), shape)
    assert block_structure(C, shape, shape) == ("circulant",) * 3


def test_strides_reflect_and_channels_break_the_structure():
    S = matrix(_conv(3, 1, stride=2), (6,))
    assert not is_toeplitz(S)
    R = matrix(_conv(3, 1, "reflect"), (5,))
    assert not is_toeplitz(R)
    shape = (3, 3)
    A = matrix(Conv(3, padding=1, in_channels=2, out_channels=2, ndim=2), shape)
    assert block_structure(A, (2, *shape), (2, *shape)) == ("none", "toeplitz", "toeplitz")


def test_block_builders_nest_to_the_conv_matrix():
    """A zero-padded 2-D conv matrix is block_toeplitz of toeplitz blocks, one per kernel row."""
    layer = _conv((3, 3), 1, ndim=2)
    w = weight_symbols(layer)[0, 0]
    n = 4

    def row_block(r):
        return toeplitz([w[r, 1 - j] if 1 - j >= 0 else 0 for j in range(n)],
                        [w[r, 1 + j] if 1 + j < 3 else 0 for j in range(n)])

    zero = sp.zeros(n, n)
    B = block_toeplitz([row_block(1), row_block(0), zero, zero], [row_block(1), row_block(2), zero, zero])
    assert B == matrix(layer, (n, n))


def test_block_circulant_of_circulants_is_circulant_per_level():
    a, b, c, d = sp.symbols("a b c d")
    B = block_circulant([circulant([a, b]), circulant([c, d]), circulant([d, a])])
    assert block_structure(B, (3, 2), (3, 2)) == ("circulant", "circulant")
    assert not is_circulant(B)


@given(st.one_of(conv_cases(), conv_transpose_cases()))
def test_kronecker_decomposition_equals_matrix(case):
    layer, spatial = case
    terms = kronecker_terms(layer, spatial)
    assert len(terms) == int(np.prod(layer.kernel_size))
    assert kronecker_sum(terms) == matrix(layer, spatial)


@given(conv_cases(max_ndim=2, modes=("circular", "reflect", "replicate")))
def test_padded_modes_compose_a_padding_operator(case):
    """conv(mode) = conv(unpadded) applied to the padded input = A_valid @ P."""
    layer, spatial = case
    P = padding_operator(layer, spatial, channels=layer.in_channels)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, layer.padding))
    valid = layer.replace(padding=0, padding_mode="zeros")
    assert matrix(valid, padded) * P == matrix(layer, spatial)
    assert P.shape == (layer.in_channels * int(np.prod(padded)), layer.in_channels * int(np.prod(spatial)))
    assert all(sum(P.row(r)) == 1 for r in range(P.rows))  # every padded position copies one input
