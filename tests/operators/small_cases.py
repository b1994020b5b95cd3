"""Small layers for dense operator matrices: the public :mod:`convalg.testing.strategies`, bounded in size.

``conv_cases`` / ``conv_transpose_cases`` draw ``(layer, spatial)`` pairs from the public strategies
with sides kept small per number of axes (the tests build and compare dense SymPy matrices).  One
thing the public ``conv_cases`` does not draw is added here: negative (cropping) zero padding
(:func:`cropping`).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from hypothesis import strategies as st

from convalg.testing import strategies as public

MODES = ("zeros", "circular", "reflect", "replicate")

#: Largest spatial side per number of spatial dims (a matrix has C_out * prod(out) x C_in * prod(in) entries).
MAX_SIDE = {1: 8, 2: 4, 3: 2}


def dense(A: sp.MatrixBase) -> np.ndarray:
    """A numeric SymPy matrix as a float64 array."""
    out = np.zeros((A.rows, A.cols))
    for (i, j), v in A.todok().items():
        out[i, j] = float(v)
    return out


@st.composite
def cropping(draw, case: public.Case):
    """``(layer, spatial)`` of a conv ``case``; for zero padding, one in two draws lowers one pad by 1 (below 0
    where it was 0: the layer crops its input), growing the side where the window would no longer fit."""
    layer, spatial = case.layer, case.spatial
    if layer.padding_mode != "zeros" or not draw(st.booleans()):
        return layer, spatial
    axis, side = draw(st.integers(0, layer.ndim - 1)), draw(st.integers(0, 1))
    pads = [list(p) for p in layer.padding]
    pads[axis][side] -= 1
    sides = list(spatial)
    reach = layer.dilation[axis] * (layer.kernel_size[axis] - 1) + 1
    sides[axis] = max(sides[axis], reach - sum(pads[axis]), 1 - min(pads[axis]))
    return layer.replace(padding=tuple(tuple(p) for p in pads)), tuple(sides)


def conv_cases(max_ndim: int = 3, modes: tuple[str, ...] = MODES, max_side: dict[int, int] = MAX_SIDE):
    """``(layer, spatial)``: a Conv with stride, pads (negative ones too), dilation, groups, mode and flip."""
    def per_ndim(nd: int):
        return public.conv_cases(ndim=nd, max_channels=2, max_batch=1, max_stride=3, max_side=max_side[nd],
                                 padding_modes=modes, flip_kernel=True).flatmap(cropping)

    return st.integers(1, max_ndim).flatmap(per_ndim)


def conv_transpose_cases(max_ndim: int = 3, max_side: dict[int, int] = MAX_SIDE):
    """``(layer, spatial)``: a ConvTranspose with stride, pads, dilation, output_padding and groups."""
    def per_ndim(nd: int):
        return public.conv_transpose_cases(ndim=nd, max_channels=2, max_batch=1, max_side=max_side[nd],
                                           asymmetric_padding=True).map(lambda c: (c.layer, c.spatial))

    return st.integers(1, max_ndim).flatmap(per_ndim)
