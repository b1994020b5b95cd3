"""Hypothesis strategies for the adaptive pools and ``unfold`` / ``fold`` (the other ops: :mod:`.strategies`).

>>> from hypothesis import given, settings
>>> @settings(max_examples=5, derandomize=True, database=None)
... @given(adaptive_pool_cases("avg", ndim=2))
... def test(case):
...     assert len(case.extras["output_size"]) == 2
>>> test()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from ..errors import SpecError
from ..spec import AdaptiveAvgPool, AdaptiveMaxPool, Conv
from .strategies import DEFAULT_MAX_SIDE, Case, _kernel, _ndim, _sides, sizes

__all__ = ["adaptive_pool_cases", "unfold_cases"]


@st.composite
def adaptive_pool_cases(draw: Any, kind: str = "avg", *, ndim: int | Sequence[int] | None = None,
                        max_ndim: int = 3, max_batch: int = 2, max_channels: int = 3, max_side: int | None = None,
                        return_indices: bool = True) -> Case:
    """A :class:`Case` for :class:`convalg.AdaptiveAvgPool` / :class:`convalg.AdaptiveMaxPool`.

    ``output_size`` (in ``extras``) ranges from 1 (global pooling) to past the
    input size (windows then overlap and repeat); ``None`` entries keep a side.
    """
    nd = _ndim(draw, ndim, max_ndim)
    spatial = _sides(draw, nd, (1,) * nd, max_side or DEFAULT_MAX_SIDE.get(nd, 4))
    out = tuple(draw(st.one_of(st.integers(1, n + 2), st.none())) if nd > 1 else draw(st.integers(1, n + 2))
                for n in spatial)
    layer = (AdaptiveAvgPool if kind == "avg" else AdaptiveMaxPool)(out, ndim=nd)
    extras = {"output_size": out,
              "return_indices": draw(st.booleans()) if (return_indices and kind == "max") else False}
    return Case(f"adaptive_{kind}_pool", layer, sizes(draw, 1, 2, max_batch), sizes(draw, 1, 3, max_channels),
                spatial, (0,) * nd, extras=extras)


@st.composite
def unfold_cases(draw: Any, kind: str = "unfold", *, max_batch: int = 2, max_channels: int = 3, max_kernel: int = 3,
                 max_stride: int = 3, max_dilation: int = 2, max_padding: int = 2, max_side: int | None = None,
                 dilation: bool = True, stride: bool = True) -> Case:
    """A :class:`Case` for ``F.unfold`` / ``F.fold`` (two spatial dims, as PyTorch); the layer is the
    :class:`convalg.Conv` whose taps are the columns.  For ``fold`` the spatial sides are ``output_size``."""
    k = _kernel(draw, 2, max_kernel)
    s = tuple(draw(st.integers(1, max_stride if stride else 1)) for _ in range(2))
    d = tuple(draw(st.integers(1, max_dilation if dilation else 1)) for _ in range(2))
    p = tuple(draw(st.integers(0, max_padding)) for _ in range(2))
    try:
        layer = Conv(k, stride=s, padding=p, dilation=d, ndim=2)
    except SpecError:
        assume(False)
    lowest = [max(1, di * (ki - 1) + 1 - 2 * pi) for ki, di, pi in zip(k, d, p)]
    spatial = _sides(draw, 2, lowest, max_side or DEFAULT_MAX_SIDE[2])
    return Case(kind, layer, sizes(draw, 1, 2, max_batch), sizes(draw, 1, 3, max_channels), spatial, p)
