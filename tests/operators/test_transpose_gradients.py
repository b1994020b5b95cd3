"""Symbolic identities: Conv.matrix().T == ConvTranspose.matrix() entry for entry (and back), and the
gradients of y = A(w) x + b derived with SymPy jacobians equal the gradient operators and formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given

from convalg import Conv, ConvTranspose
from convalg.operators import (
    affine,
    bias_symbols,
    grad_bias,
    grad_input_formula,
    grad_input_matrix,
    grad_weight,
    grad_weight_formula,
    im2col,
    matrix,
    symbol_array,
    unfold_matrix,
    weight_symbols,
)

from .small_cases import conv_cases, conv_transpose_cases


@given(conv_cases(modes=("zeros",)))
def test_conv_transpose_is_the_symbolic_transpose(case):
    layer, spatial = case
    assume(all(lo >= 0 and hi >= 0 for lo, hi in layer.padding))  # ConvTranspose takes no negative pads
    A = matrix(layer, spatial)
    T = layer.transpose(spatial)
    B = matrix(T, layer.output_shape(spatial))
    assert T.output_shape(layer.output_shape(spatial)) == spatial
    assert A.T == B  # entry for entry, as symbols


@given(conv_transpose_cases())
def test_conv_transpose_transpose_is_a_conv(case):
    layer, spatial = case
    assume(all(op < s for op, s in zip(layer.output_padding, layer.stride)))
    conv = layer.transpose()
    assert matrix(layer, spatial).T == matrix(conv, layer.output_shape(spatial))


CASES = [
    (Conv(3, stride=2, padding=((1, 0),), groups=2, in_channels=2, out_channels=4, ndim=1), (5,)),
    (Conv((2, 2), padding=1, dilation=(1, 2), in_channels=1, out_channels=2, ndim=2), (3, 3)),
    (Conv(3, padding=1, padding_mode="circular", in_channels=1, out_channels=1, flip_kernel=True, ndim=1), (4,)),
    (Conv(2, padding=1, padding_mode="reflect", in_channels=2, out_channels=1, ndim=1), (3,)),
    (ConvTranspose(3, stride=2, padding=1, output_padding=1, groups=2, in_channels=2, out_channels=2, ndim=1), (3,)),
]


@pytest.mark.parametrize("layer,spatial", CASES, ids=lambda v: repr(v))
def test_jacobians_equal_the_gradient_operators(layer, spatial):
    out = layer.output_shape(spatial)
    x = symbol_array("x", (layer.in_channels, *spatial))
    g = symbol_array("g", (layer.out_channels, *out))
    w, b = weight_symbols(layer), bias_symbols(layer)
    xv, gv, wv, bv = (sp.Matrix(list(a.flat)) for a in (x, g, w, b))
    A, bias = affine(layer, spatial)
    y = A * xv + bias
    L = (gv.T * y)[0, 0]
    dx = sp.Matrix([L]).jacobian(xv).T
    dw = sp.Matrix([L]).jacobian(wv).T
    db = sp.Matrix([L]).jacobian(bv).T
    assert (dx - grad_input_matrix(layer, spatial) * gv).expand() == sp.zeros(*dx.shape)
    B = unfold_matrix(layer, spatial, x)
    assert (A * xv - B * wv).expand() == sp.zeros(A.rows, 1)  # A(w) x = B(x) w
    assert (dw - B.T * gv).expand() == sp.zeros(*dw.shape)
    assert all(sp.expand(a - c) == 0 for a, c in zip(grad_weight(layer, spatial, x, g).flat, dw))
    assert list(grad_bias(layer, g)) == list(db)


@pytest.mark.parametrize("layer,spatial", [CASES[0], CASES[1]], ids=["1d-groups-stride", "2d-dilation"])
def test_grad_input_of_zero_padded_conv_is_its_conv_transpose(layer, spatial):
    assert grad_input_matrix(layer, spatial) == matrix(layer.transpose(spatial), layer.output_shape(spatial))


def _evaluate(formula, index_values, arrays):
    """Evaluate an index-level formula at concrete indices, Indexed objects replaced by array entries."""
    lhs, rhs = formula
    expr = rhs.xreplace(index_values).doit()
    values = {}
    for node in expr.atoms(sp.Indexed):
        values[node] = arrays[str(node.base)][tuple(int(i) for i in node.indices)]
    return sp.sympify(expr.xreplace(values))


@pytest.mark.parametrize("layer,spatial", [
    (Conv(3, stride=2, padding=((1, 0),), groups=2, in_channels=2, out_channels=4, ndim=1), (6,)),
    (Conv((2, 3), stride=(1, 2), padding=((0, 1), (2, 1)), dilation=(2, 1), in_channels=1, out_channels=2,
          flip_kernel=True, ndim=2), (3, 4)),
])
def test_index_level_gradient_formulas_equal_the_operators(layer, spatial):
    rng = np.random.default_rng(1)
    out = layer.output_shape(spatial)
    x = rng.integers(-5, 6, (layer.in_channels, *spatial))
    g = rng.integers(-5, 6, (layer.out_channels, *out))
    w = rng.integers(-5, 6, weight_symbols(layer).shape)
    arrays = {"x": x, "g": g, "w": w}
    co, ci, c = sp.symbols("co ci c", integer=True, nonnegative=True)
    m = layer.index_map(spatial)
    # weight gradient: a correlation of x with g
    formula = grad_weight_formula(layer, spatial)
    want_w = grad_weight(layer, spatial, x, g)
    taps = formula[0].indices[2:]
    for idx in itertools.product(*map(range, want_w.shape)):
        ks = {}
        for t, a, kk in zip(taps, m.axes, idx[2:]):  # solve the tap expression for the symbol k
            (ks[a.k],) = sp.solve(sp.Eq(t, kk), a.k)
        assert _evaluate(formula, {co: idx[0], ci: idx[1], **ks}, arrays) == want_w[idx]
    # input gradient: a transposed conv in gather form
    formula = grad_input_formula(layer, spatial)
    want_x = np.array(list(matrix(layer, spatial, weights=w).T * sp.Matrix(g.reshape(-1).tolist())), dtype=object)
    want_x = want_x.reshape(x.shape)
    for idx in itertools.product(*map(range, x.shape)):
        subs = {c: idx[0], **{a.i: v for a, v in zip(m.axes, idx[1:])}}
        assert _evaluate(formula, subs, arrays) == want_x[idx]


def test_im2col_matches_torch_unfold_layout():
    layer = Conv((2, 2), stride=(1, 2), padding=1, in_channels=2, out_channels=1, ndim=2)
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    cols = im2col(layer, (3, 4), x)
    W = np.arange(8).reshape(1, 8)
    # conv == W.view(C_out, -1) @ unfold(x)
    y = sp.Matrix(W.tolist()) * cols
    want = matrix(layer, (3, 4), weights=np.arange(8).reshape(1, 2, 2, 2)) * sp.Matrix(x.reshape(-1).tolist())
    assert list(y) == list(want)
    torch = pytest.importorskip("torch")
    t = torch.nn.functional.unfold(torch.tensor(x[None], dtype=torch.float64), (2, 2), padding=1, stride=(1, 2))
    np.testing.assert_array_equal(np.array(cols.tolist(), dtype=float), t[0].numpy())
