"""Hypothesis strategies for small layers (sizes kept tiny: matrices are dense-compared)."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from hypothesis import strategies as st

from convalg import Conv, ConvTranspose

MODES = ("zeros", "circular", "reflect", "replicate")


def dense(A: sp.MatrixBase) -> np.ndarray:
    """A numeric SymPy matrix as a float64 array."""
    out = np.zeros((A.rows, A.cols))
    for (i, j), v in A.todok().items():
        out[i, j] = float(v)
    return out


@st.composite
def conv_cases(draw, max_ndim: int = 3, modes: tuple[str, ...] = MODES, max_size: int = 48):
    """``(layer, spatial)``: a Conv with random stride, asymmetric pads, dilation, groups, mode, flip."""
    ndim = draw(st.integers(1, max_ndim))
    mode = draw(st.sampled_from(modes))
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    ks, ss, ds, pads, spatial = [], [], [], [], []
    for _ in range(ndim):
        k = draw(st.integers(1, 3))
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 2))
        low = -1 if mode == "zeros" else 0
        lo, hi = draw(st.integers(low, 2)), draw(st.integers(low, 2))
        n_min = max(1, d * (k - 1) + 1 - lo - hi, max(lo, hi) + 1 if mode != "zeros" else 1)
        n = n_min + draw(st.integers(0, 3))
        ks.append(k), ss.append(s), ds.append(d), pads.append((lo, hi)), spatial.append(n)
    budget = max_size // (cin * cout)
    while math.prod(spatial) > max(budget, 8) and max(spatial) > 1:
        a = int(np.argmax(spatial))
        lo, hi = pads[a]
        need = max(1, ds[a] * (ks[a] - 1) + 1 - lo - hi, max(lo, hi) + 1 if mode != "zeros" else 1)
        if spatial[a] <= need:
            break
        spatial[a] -= 1
    layer = Conv(tuple(ks), stride=tuple(ss), padding=tuple(pads), dilation=tuple(ds), groups=groups,
                 padding_mode=mode, in_channels=cin, out_channels=cout, flip_kernel=draw(st.booleans()), ndim=ndim)
    return layer, tuple(spatial)


@st.composite
def conv_transpose_cases(draw, max_ndim: int = 3):
    """``(layer, spatial)``: a ConvTranspose with stride, pads, dilation, output_padding, groups, flip."""
    ndim = draw(st.integers(1, max_ndim))
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    ks, ss, ds, pads, ops, spatial = [], [], [], [], [], []
    for _ in range(ndim):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        op = draw(st.integers(0, max(s, d) - 1))
        lo, hi = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        n = draw(st.integers(1, 3 if ndim < 3 else 2))
        while (n - 1) * s - lo - hi + d * (k - 1) + op + 1 < 1:
            n += 1
        ks.append(k), ss.append(s), ds.append(d), pads.append((lo, hi)), ops.append(op), spatial.append(n)
    layer = ConvTranspose(tuple(ks), stride=tuple(ss), padding=tuple(pads), output_padding=tuple(ops),
                          dilation=tuple(ds), groups=groups, in_channels=cin, out_channels=cout,
                          flip_kernel=draw(st.booleans()), ndim=ndim)
    return layer, tuple(spatial)
