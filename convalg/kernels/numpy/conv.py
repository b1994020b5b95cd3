"""Convolution plans: (layer, input shape, dtype, algorithm) -> a cached callable with its source.

==============  ====================================================================
algorithm       kernel (module)
==============  ====================================================================
``gemm``        chunked im2col over ``as_strided`` windows, zero-copy for 1x1
                (:mod:`.gemm`)
``direct``      sum over taps of matmuls on shifted views, no column buffer
                (:mod:`.gemm`)
``fft``         ``scipy.fft`` with the channel sum per frequency, overlap-save tiles
                as batch entries for stride 1 (:mod:`.fft`)
``winograd``    F(m, r) per axis, stride 1 (:mod:`.winograd`); dilated layers on their
                undilated phases (:mod:`.polyphase`)
``auto``        the cheapest by the cost model (:mod:`.cost`)
==============  ====================================================================

The transposed convolution (and so the input gradient) is *derived* from the
index map's gather form: ``o = (i + lo - d*k)/s`` (:attr:`AxisMap.gather_output`)
with the tap flipped, ``k -> K-1-k``, is a stride-1 correlation with dilation
``d`` and low padding ``d*(K-1) - lo`` on the input upsampled by ``s`` (the
divisibility condition of :attr:`AxisMap.gather_condition` is exactly the
zeros the upsampling inserts), with the weight's channel blocks swapped and
its taps flipped.

>>> from convalg import ConvTranspose
>>> gather_layer(ConvTranspose(3, stride=2, padding=1, output_padding=1, ndim=1, in_channels=2, out_channels=2), (4,))
(Conv(kernel_size=3, padding=((1, 2),), bias=False, in_channels=2, out_channels=2, ndim=1), (2,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ...errors import SpecError
from ...index_map import index_map
from .. import cache
from ..base import ALGORITHMS, check_algorithm, conv_layer
from . import cost, gemm, polyphase, winograd
from . import fft as fftmod
from .plan import WindowPlan, pad_input, window_plan

__all__ = ["ALGORITHMS", "ConvPlan", "conv_plan", "gather_layer", "gather_weight"]


@dataclass(frozen=True, eq=False)
class ConvPlan:
    """A cached forward-correlation plan; ``source`` shows the printed index code and the algorithm."""

    layer: Any  # the Conv (an inner phase plan keeps the dilated layer: its groups and channels)
    input_shape: tuple[int, ...]
    dtype: str
    algorithm: str
    window: WindowPlan
    extent: tuple[int, ...]
    source: str
    tiles: tuple[int, ...] | None = None  # overlap-save FFT tiles (``fft`` only)
    inner: ConvPlan | None = None  # dilated layers: the plan of one undilated phase (:mod:`.polyphase`)
    phases: tuple[int, ...] | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held (its cache weight): the window plan, the source and an inner phase plan."""
        return self.window.nbytes + len(self.source) + (self.inner.nbytes if self.inner is not None else 0)

    def __call__(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        groups = self.layer.groups
        if self.inner is not None and self.phases is not None:
            xs = polyphase.split(pad_input(x, self.window, self.extent, slot="padded"), self.phases)
            return polyphase.merge(self.inner(xs, w), self.window, self.phases)
        fill_extent = self.extent
        if self.algorithm == "direct" and all(s == 1 for s in self.window.step):
            return gemm.conv_taps(pad_input(x, self.window, fill_extent, slot="padded"), w, self.window, groups)
        padded = pad_input(x, self.window, fill_extent, slot="padded")
        if self.algorithm == "fft":
            if self.tiles is not None:
                return fftmod.conv_fft_tiled(padded, w, self.window, groups, self.tiles)
            return fftmod.conv_fft(padded, w, self.window, groups)
        if self.algorithm == "winograd":
            return winograd.conv_winograd(padded, w, self.window, groups)
        budget = 0 if self.algorithm == "direct" else gemm.DEFAULT_BUDGET
        return gemm.conv_im2col(padded, w, self.window, groups, budget)


def conv_plan(layer: Any, input_shape: tuple[int, ...], dtype: str, algorithm: str = "auto") -> ConvPlan:
    """Resolve ``algorithm`` (``'auto'``: :func:`convalg.kernels.numpy.cost.choose`) and build the plan
    (cached by bytes, :mod:`.cache`)."""
    check_algorithm(algorithm, "numpy", ALGORITHMS)
    return cache.cached("conv_plan", _conv_plan, layer, tuple(input_shape), dtype, algorithm)


def _conv_plan(layer: Any, input_shape: tuple[int, ...], dtype: str, algorithm: str) -> ConvPlan:
    window = window_plan(layer, tuple(input_shape[2:]))
    factors = polyphase.phase_factors(window)
    if factors is not None and algorithm == "winograd":
        return _polyphase_plan(layer, window, tuple(input_shape), dtype, factors)
    return _window_conv_plan(layer, window, tuple(input_shape), dtype, algorithm)


def _window_conv_plan(layer: Any, window: WindowPlan, input_shape: tuple[int, ...], dtype: str,
                      algorithm: str) -> ConvPlan:
    """The plan of ``layer``'s correlation over ``window`` (the layer gives the groups and channels)."""
    cout = layer.out_channels
    if algorithm == "auto":
        algorithm = cost.choose(window, input_shape[0], input_shape[1], cout, layer.groups, dtype)
    if algorithm == "winograd" and not winograd.supports(window):
        raise SpecError(f"algorithm='winograd': needs stride 1 and kernel sizes in "
                        f"{sorted(winograd.DEFAULT_TILE)} (got stride={window.step}, dilation={window.tap_step}, "
                        f"kernel_size={window.kernel})")
    extent = window.extent
    tiles = fftmod.fft_tiles(window, cout * (input_shape[1] // layer.groups)) if algorithm == "fft" else None
    if algorithm == "fft":
        extent = fftmod.fft_extent(window, tiles)
    elif algorithm == "winograd":
        extent = winograd.winograd_extent(window)
    elif algorithm == "direct" and all(s == 1 for s in window.step):
        extent = gemm.taps_extent(window)
    lines = [window.source, f"# algorithm: {algorithm}; padded extent {extent}"]
    if algorithm == "fft":
        lines.append(f"# fft sizes {fftmod.fft_sizes(extent if tiles is None else tiles)}"
                     + ("" if tiles is None else " (overlap-save tiles)"))
    if algorithm == "winograd":
        lines.append(f"# tiles F(m, r) per axis: {list(zip(winograd.tile_sizes(window), window.kernel))}")
    return ConvPlan(layer, tuple(input_shape), dtype, algorithm, window, tuple(extent), "\n".join(lines), tiles)


def _polyphase_plan(layer: Any, window: WindowPlan, input_shape: tuple[int, ...], dtype: str,
                    factors: tuple[int, ...]) -> ConvPlan:
    """Dilated stride-1 layers with an explicit ``'winograd'``: Winograd on the undilated phases
    (:func:`.polyphase.phase_window`; the inner plan keeps ``layer`` for its groups and channels).

    Not chosen by ``'auto'``: it does not beat ``direct`` on dilated layers (docs/performance.md,
    "Cost-model measurements").
    """
    phase = polyphase.phase_window(window, factors)
    sub_shape = (input_shape[0] * math.prod(factors), input_shape[1], *phase.input_shape)
    inner = _window_conv_plan(layer, phase, sub_shape, dtype, "winograd")
    extent = polyphase.phase_extent(window, factors)
    source = "\n".join([window.source, f"# polyphase: {math.prod(factors)} undilated phases {factors}, padded "
                                       f"extent {extent}; per phase:", inner.source])
    return ConvPlan(layer, input_shape, dtype, inner.algorithm, window, extent, source, None, inner, factors)


def gather_layer(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """The stride-1 Conv computing ``layer`` (a ConvTranspose with its channels) on its input upsampled by the
    returned factors (the Conv from :func:`convalg.kernels.base.conv_layer`)."""
    return cache.cached("gather_layer", _gather_layer, layer, tuple(spatial))


def _gather_layer(layer: Any, spatial: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    if layer.in_channels is None or layer.out_channels is None:
        raise SpecError(f"layer={layer!r}: the gather form needs in_channels and out_channels")
    imap = index_map(layer, spatial)
    pads, dils, ups, sizes = [], [], [], []
    for axis in imap.axes:
        num, den = sp.fraction(sp.together(axis.gather_output))
        flipped = sp.expand(num.subs(axis.k, axis.kernel - 1 - axis.k))
        lo = -int(flipped.subs({axis.i: 0, axis.k: 0}))
        dil = int(flipped.coeff(axis.k))
        up = int(den)
        upsampled = up * (int(axis.n_out) - 1) + 1
        hi = int(axis.n) - upsampled - lo + dil * (int(axis.kernel) - 1)
        pads.append((lo, hi))
        dils.append(dil)
        ups.append(up)
        sizes.append(upsampled)
    kernel = tuple(int(a.kernel) for a in imap.axes)
    conv = conv_layer((1, layer.in_channels, *sizes), (layer.out_channels, layer.in_channels // layer.groups, *kernel),
                      1, tuple(pads), tuple(dils), layer.groups)
    return conv, tuple(ups)


def gather_weight(weight: np.ndarray, groups: int) -> np.ndarray:
    """ConvTranspose weight ``(Cin, Cout/G, *k)`` -> Conv weight ``(Cout, Cin/G, *k)`` with taps flipped."""
    cin, cog = weight.shape[:2]
    ks = weight.shape[2:]
    w = weight.reshape(groups, cin // groups, cog, *ks).swapaxes(1, 2).reshape(groups * cog, cin // groups, *ks)
    return np.ascontiguousarray(w[(Ellipsis, *[slice(None, None, -1)] * len(ks))])


def upsample(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Insert ``f - 1`` zeros between neighbours on each axis (the gather form's divisibility)."""
    if all(f == 1 for f in factors):
        return x
    shape = [f * (n - 1) + 1 if n else 0 for f, n in zip(factors, x.shape[2:])]
    up = np.zeros((*x.shape[:2], *shape), dtype=x.dtype)
    up[(Ellipsis, *[slice(None, None, f) for f in factors])] = x
    return up

