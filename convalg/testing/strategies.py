"""Hypothesis strategies for convolution and pooling problems (public; use them in your own tests).

Every strategy is ``@composite`` (no ``data()``, so runs can shard) and draws
*jointly valid* problems: channels divisible by groups, ``output_padding <
stride or dilation``, a kernel that fits the padded input, pooling padding
``<= kernel_size // 2``, windows that contain at least one input element, the
ceil-mode rule, reflect / circular pads within the input size.

=========================  =================================================================
strategy                   draws
=========================  =================================================================
``conv_cases``             :class:`Case` for :class:`convalg.Conv` (N-d, 1..3 by default)
``conv_transpose_cases``   :class:`Case` for :class:`convalg.ConvTranspose`
``pool_cases``             :class:`Case` for :class:`convalg.MaxPool` / :class:`convalg.AvgPool`
``array_recipes``          :class:`ArrayRecipe` (shape, dtype, value kind, seed): rebuildable
``arrays``                 NumPy arrays (``array_recipes(...).map(ArrayRecipe.build)``)
``case_arrays``            ``(case, {name: recipe})``: a case with its input / weight / bias
=========================  =================================================================

Value kinds (``make_array``): ``normal``, ``uniform`` (-1, 1), ``wide`` (log-uniform
magnitudes over many decades, random signs), ``small_int`` (integers in [-4, 4]:
exact in every float format), ``ties`` (integers in [0, 3]: many equal values, for
max-pool tie rules), ``positive`` ([0, 1), like post-ReLU activations: sums without
cancellation).  NaN / inf are sprinkled in only with ``allow_nan`` / ``allow_infinity``.

>>> from hypothesis import given, settings
>>> @settings(max_examples=5, derandomize=True, database=None)
... @given(conv_cases(ndim=2, dilation=False))
... def test(case):
...     assert case.layer.dilation == (1, 1) and case.layer.ndim == 2
>>> test()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ..errors import SpecError
from ..reference.pooling import axis_taps
from ..spec import AvgPool, Conv, ConvTranspose, MaxPool
from .arrays import LAYOUTS, VALUE_KINDS, ArrayRecipe, make_array, round_bfloat16

__all__ = ["Case", "ArrayRecipe", "make_array", "VALUE_KINDS", "LAYOUTS", "conv_cases", "conv_transpose_cases",
           "pool_cases", "array_recipes", "arrays", "case_arrays", "DEFAULT_MAX_SIDE", "MAX_PLANE", "sizes"]

#: Default largest spatial side per number of spatial dims (keeps arrays small).
DEFAULT_MAX_SIDE = {1: 12, 2: 7, 3: 5}
#: Largest product of the spatial sides of one drawn input, per number of spatial dims (bounds the work).
MAX_PLANE = {1: 10**9, 2: 1024, 3: 1536}
_round_bfloat16 = round_bfloat16


def sizes(draw: Any, lo: int, small: int, hi: int, tiers: int = 2) -> int:
    """An integer in ``[lo, hi]``: in ``[lo, small]`` two times in three, above ``small`` otherwise.

    With ``tiers=3`` (spatial sides) half the draws are above ``small``, two
    thirds of those in the top third of the range (long sides reach tile and
    vector widths).  Shrinks
    toward ``lo``; when ``hi <= small`` it is a plain ``integers(lo, hi)``.
    """
    hi = max(lo, hi)
    if hi <= small or lo > small:
        return draw(st.integers(lo, hi))
    tier = draw(st.integers(0, 5))
    if tier < (4 if tiers == 2 else 3):
        return draw(st.integers(lo, small))
    top = max(small + 1, hi - hi // 3) if tiers == 3 else small + 1
    return draw(st.integers(top, hi) if tier >= 4 else st.integers(small + 1, hi))


@dataclass(frozen=True)
class Case:
    """A jointly valid problem: a layer spec plus the batch, channels and spatial sizes it is applied to.

    ``padding_arg`` is the padding in the form the functional call receives
    (per-axis ints, ``'same'``, ``'valid'`` or ``(lo, hi)`` pairs).
    """

    op: str
    layer: Any
    batch: int
    channels: int
    spatial: tuple[int, ...]
    padding_arg: Any
    padding_mode: str = "zeros"
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ndim(self) -> int:
        return len(self.spatial)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, *self.spatial)

    @property
    def weight_shape(self) -> tuple[int, ...] | None:
        return self.layer.weight_shape if self.op in ("conv", "conv_transpose") else None

    @property
    def output_shape(self) -> tuple[int, ...]:
        ch = self.layer.out_channels if self.op in ("conv", "conv_transpose") else self.channels
        return (self.batch, ch, *self.layer.output_shape(self.spatial))

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the ``convalg.reference`` function for this case (arrays excluded)."""
        L = self.layer
        if self.op == "conv":
            kw = dict(stride=L.stride, padding=self.padding_arg, dilation=L.dilation, groups=L.groups)
            if self.padding_mode != "zeros":
                kw["padding_mode"] = self.padding_mode
            return kw
        if self.op == "conv_transpose":
            return dict(stride=L.stride, padding=self.padding_arg, output_padding=L.output_padding,
                        groups=L.groups, dilation=L.dilation)
        stride = self.extras.get("stride_arg", L.stride)  # None: PyTorch's default (= kernel_size)
        if self.op == "max_pool":
            return dict(kernel_size=L.kernel_size, stride=stride, padding=self.padding_arg, dilation=L.dilation,
                        ceil_mode=L.ceil_mode, return_indices=self.extras.get("return_indices", True))
        return dict(kernel_size=L.kernel_size, stride=stride, padding=self.padding_arg, ceil_mode=L.ceil_mode,
                    count_include_pad=L.count_include_pad, divisor_override=L.divisor_override)


def _ndim(draw: Any, ndim: int | Sequence[int] | None, max_ndim: int) -> int:
    if ndim is None:
        return draw(st.integers(1, max_ndim))
    if isinstance(ndim, int):
        return ndim
    return draw(st.sampled_from(tuple(ndim)))


def _per_axis(draw: Any, nd: int, lo: int, hi: int) -> tuple[int, ...]:
    return tuple(draw(st.integers(lo, max(lo, hi))) for _ in range(nd))


def _padding(draw: Any, nd: int, stride: tuple[int, ...], max_padding: int, asymmetric: bool, same: bool,
             strings: bool = True) -> Any:
    """A padding argument; ``'same'`` is drawn only when every stride is 1."""
    forms = ["ints", "ints"] + ["valid"] * strings + (["same"] if same and all(s == 1 for s in stride) else [])
    forms += ["pairs", "pairs"] if asymmetric else []
    form = draw(st.sampled_from(forms))
    if form in ("valid", "same"):
        return form
    if form == "ints":
        return tuple(draw(st.integers(0, max_padding)) for _ in range(nd))
    return tuple((draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding))) for _ in range(nd))


def _sides(draw: Any, nd: int, lowest: Sequence[int], limit: int, small: int | None = None) -> tuple[int, ...]:
    """Spatial sides ``>= lowest`` (per axis) up to ``limit``, the larger ones one draw in two; the product of
    the sides is kept within :data:`MAX_PLANE` (later axes get what the earlier ones left)."""
    small = DEFAULT_MAX_SIDE.get(nd, 4) if small is None else small
    out: list[int] = []
    for lo in lowest:
        lo = max(lo, 1)
        room = MAX_PLANE.get(nd, 10**9) // max(1, int(np.prod(out)))
        hi = min(limit, max(room, small))
        assume(lo <= max(hi, 1) + 4)
        out.append(sizes(draw, lo, small, max(lo, hi), tiers=3))
    return tuple(out)


def _kernel(draw: Any, nd: int, max_kernel: int) -> tuple[int, ...]:
    return tuple(sizes(draw, 1, 3, max_kernel) for _ in range(nd))


def _groups_channels(draw: Any, groups: bool, max_channels: int) -> tuple[int, int, int]:
    cin = sizes(draw, 1, 4, max_channels)
    g = draw(st.sampled_from([q for q in range(1, cin + 1) if cin % q == 0])) if groups else 1
    cout = g * sizes(draw, 1, max(1, 4 // g), max(1, max_channels // g))
    return g, cin, cout


@st.composite
def conv_cases(draw: Any, *, ndim: int | Sequence[int] | None = None, max_ndim: int = 3, max_batch: int = 2,
               max_channels: int = 4, max_kernel: int = 3, max_stride: int = 2, max_dilation: int = 2,
               max_padding: int = 2, max_side: int | None = None, groups: bool = True, dilation: bool = True,
               stride: bool = True, asymmetric_padding: bool = True, same_padding: bool = True,
               padding_modes: Sequence[str] = ("zeros",), bias: bool | None = None,
               flip_kernel: bool = False, string_padding: bool = True) -> Case:
    """A :class:`Case` for :class:`convalg.Conv`; switch features off to stay inside what a kernel supports."""
    nd = _ndim(draw, ndim, max_ndim)
    G, cin, cout = _groups_channels(draw, groups, max_channels)
    k = _kernel(draw, nd, max_kernel)
    # 'same' needs stride 1: decide on it first so that it is drawn often
    want_same = same_padding and draw(st.integers(0, 4)) == 0
    s = (1,) * nd if want_same else _per_axis(draw, nd, 1, max_stride if stride else 1)
    d = _per_axis(draw, nd, 1, max_dilation if dilation else 1)
    mode = draw(st.sampled_from(tuple(padding_modes)))
    pad = "same" if want_same else _padding(draw, nd, s, max_padding, asymmetric_padding, False, string_padding)
    has_bias = draw(st.booleans()) if bias is None else bias
    flip = draw(st.booleans()) if flip_kernel else False
    try:
        layer = Conv(k, stride=s, padding=pad, dilation=d, groups=G, bias=has_bias, padding_mode=mode,
                     in_channels=cin, out_channels=cout, flip_kernel=flip, ndim=nd)
    except SpecError:
        assume(False)
    limit = max_side or DEFAULT_MAX_SIDE.get(nd, 4)
    lowest = []
    for a, (lo, hi) in enumerate(layer.padding):
        least = max(d[a] * (k[a] - 1) + 1 - lo - hi, 1)
        if mode == "reflect":
            least = max(least, lo + 1, hi + 1)
        elif mode == "circular":
            least = max(least, lo, hi)
        lowest.append(least)
    spatial = _sides(draw, nd, lowest, limit)
    batch = sizes(draw, 1, 2, max_batch)
    return Case("conv", layer, batch, cin, spatial, pad, mode)


@st.composite
def conv_transpose_cases(draw: Any, *, ndim: int | Sequence[int] | None = None, max_ndim: int = 3,
                         max_batch: int = 2, max_channels: int = 4, max_kernel: int = 3, max_stride: int = 3,
                         max_dilation: int = 2, max_padding: int = 2, max_side: int | None = None,
                         groups: bool = True, dilation: bool = True, stride: bool = True,
                         asymmetric_padding: bool = False, output_padding: bool = True,
                         bias: bool | None = None) -> Case:
    """A :class:`Case` for :class:`convalg.ConvTranspose` (``output_padding < stride or dilation``)."""
    nd = _ndim(draw, ndim, max_ndim)
    G, cin, cout = _groups_channels(draw, groups, max_channels)
    k = _kernel(draw, nd, max_kernel)
    s = _per_axis(draw, nd, 1, max_stride if stride else 1)
    d = _per_axis(draw, nd, 1, max_dilation if dilation else 1)
    op = tuple(draw(st.integers(0, max(si, di) - 1)) if output_padding else 0 for si, di in zip(s, d))
    pad = _padding(draw, nd, s, max_padding, asymmetric_padding, False, strings=False)
    has_bias = draw(st.booleans()) if bias is None else bias
    layer = ConvTranspose(k, stride=s, padding=pad, output_padding=op, groups=G, bias=has_bias, dilation=d,
                          in_channels=cin, out_channels=cout, ndim=nd)
    limit = max(2, (max_side or DEFAULT_MAX_SIDE.get(nd, 4)) // 2)
    lowest = []
    for a, (lo, hi) in enumerate(layer.padding):
        short = lo + hi - d[a] * (k[a] - 1) - op[a]  # (n - 1) * s must be >= short
        lowest.append(1 + max(0, -(-short // s[a])))
    spatial = _sides(draw, nd, lowest, limit, max(2, DEFAULT_MAX_SIDE.get(nd, 4) // 2))
    batch = sizes(draw, 1, 2, max_batch)
    return Case("conv_transpose", layer, batch, cin, spatial, pad)


@st.composite
def pool_cases(draw: Any, kind: str = "max", *, ndim: int | Sequence[int] | None = None, max_ndim: int = 3,
               max_batch: int = 2, max_channels: int = 3, max_kernel: int = 3, max_stride: int = 3,
               max_dilation: int = 2, max_side: int | None = None, dilation: bool = True,
               asymmetric_padding: bool = False, ceil_mode: bool = True, count_include_pad: bool = True,
               divisor_override: bool = True, default_stride: bool = True, return_indices: bool = True,
               input_smaller_than_kernel: bool = True) -> Case:
    """A :class:`Case` for :class:`convalg.MaxPool` (``kind='max'``) or :class:`convalg.AvgPool` (``'avg'``).

    ``input_smaller_than_kernel=False`` keeps every input side >= the kernel
    (PyTorch's CPU ``avg_pool3d`` rejects smaller inputs even when padded).
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"kind={kind!r}: must be 'max' or 'avg'")
    nd = _ndim(draw, ndim, max_ndim)
    k = _kernel(draw, nd, max_kernel)
    s: Any = None if default_stride and draw(st.booleans()) else _per_axis(draw, nd, 1, max_stride)
    d = _per_axis(draw, nd, 1, max_dilation if (dilation and kind == "max") else 1)
    if asymmetric_padding and draw(st.booleans()):
        pad: Any = tuple((draw(st.integers(0, kk // 2)), draw(st.integers(0, kk // 2))) for kk in k)
    else:
        pad = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    cm = draw(st.booleans()) if ceil_mode else False
    limit = max_side or DEFAULT_MAX_SIDE.get(nd, 4)
    smallest = k if not input_smaller_than_kernel else (1,) * nd
    spatial = _sides(draw, nd, smallest, limit)
    try:
        if kind == "max":
            layer: Any = MaxPool(k, stride=s, padding=pad, dilation=d, ceil_mode=cm, ndim=nd)
        else:
            cip = draw(st.booleans()) if count_include_pad else True
            div = draw(st.one_of(st.none(), st.integers(1, 9))) if divisor_override else None
            layer = AvgPool(k, stride=s, padding=pad, ceil_mode=cm, count_include_pad=cip, divisor_override=div,
                            ndim=nd)
        imap = layer.index_map(spatial)
    except SpecError:
        assume(False)
    for a in imap.axes:  # every window must read at least one input element
        assume(np.logical_or.reduce([v for _, v in axis_taps(a)]).all())
    channels = sizes(draw, 1, 3, max_channels)
    extras = {"return_indices": draw(st.booleans()) if (return_indices and kind == "max") else False,
              "stride_arg": None if s is None else layer.stride}
    return Case(f"{kind}_pool", layer, sizes(draw, 1, 2, max_batch), channels, spatial, pad, extras=extras)


@st.composite
def array_recipes(draw: Any, shape: Sequence[int], dtype: str = "float32", kinds: Sequence[str] = VALUE_KINDS[:4],
                  allow_nan: bool = False, allow_infinity: bool = False,
                  layouts: Sequence[str] = ("contiguous",)) -> ArrayRecipe:
    """An :class:`ArrayRecipe` of the given shape; ``kinds`` picks value distributions, ``layouts`` memory layouts
    (the first one is what examples shrink to)."""
    kind = draw(st.sampled_from(tuple(kinds)))
    nan = draw(st.integers(0, 2)) if allow_nan else 0
    inf = draw(st.integers(0, 2)) if allow_infinity else 0
    seed = draw(st.integers(0, 2**32 - 1))
    layout = draw(st.sampled_from(tuple(layouts))) if len(layouts) > 1 else layouts[0]
    return ArrayRecipe(tuple(int(n) for n in shape), dtype, kind, seed, nan, inf, layout)


def arrays(shape: Sequence[int], dtype: str = "float32", kinds: Sequence[str] = VALUE_KINDS[:4],
           allow_nan: bool = False, allow_infinity: bool = False) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays built from :func:`array_recipes`."""
    return array_recipes(shape, dtype, kinds, allow_nan, allow_infinity).map(ArrayRecipe.build)


@st.composite
def case_arrays(draw: Any, cases: st.SearchStrategy[Case], dtype: str = "float32",
                kinds: Sequence[str] | None = None, allow_nan: bool = False,
                allow_infinity: bool = False) -> tuple[Case, dict[str, ArrayRecipe]]:
    """A case and recipes for its arrays: ``x`` (and ``weight``, ``bias`` for convolutions).

    Max-pool inputs may be tie-heavy (kind ``ties``).  ``allow_nan`` /
    ``allow_infinity`` apply to ``x`` only.
    """
    case = draw(cases)
    if kinds is None:
        kinds = VALUE_KINDS[:5] if case.op == "max_pool" else VALUE_KINDS[:4]
    recipes = {"x": draw(array_recipes(case.input_shape, dtype, kinds, allow_nan, allow_infinity))}
    if case.op in ("conv", "conv_transpose"):
        # non-finite values go into the input only: whether a non-finite weight times an implicit
        # padding zero gives NaN (IEEE) or is skipped differs between implementations
        recipes["weight"] = draw(array_recipes(case.weight_shape, dtype, kinds))
        if case.layer.bias:
            recipes["bias"] = draw(array_recipes((case.layer.out_channels,), dtype, kinds))
    return case, recipes
