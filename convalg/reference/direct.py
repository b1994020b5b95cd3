"""Brute-force references, written from the window semantics (small sizes only).

Every operator loops over kernel taps and is vectorised over batch, channels
and output positions with NumPy.  The per-axis index ``i = s*o - lo + d*k``,
its validity and its padding-mode fold are evaluated from the layer's index
map (:mod:`convalg.index_map`), so this module shares no arithmetic with the
FFT reference (:mod:`convalg.reference.fft`, which pads with ``numpy.pad``
and crops): agreement of the two checks both.

=====================  ==================================================
operator               loop body (per tap ``k``)
=====================  ==================================================
``conv``               gather ``x[fold(i)]`` (masked by ``valid`` for
                       zeros), contract channels with ``w[.., tap(k)]``
``conv_transpose``     scatter ``x[o] * w[.., tap(k)]`` to ``y[i]``
``conv_grad_input``    the same scatter with the conv's own map
``conv_grad_weight``   gather as ``conv``, contract batch and outputs
pooling                see :mod:`convalg.reference.pooling`
=====================  ==================================================

>>> import numpy as np
>>> x = np.arange(5.0).reshape(1, 1, 5); w = np.array([[[1.0, 0.0, -1.0]]])
>>> conv(x, w, padding=1)
array([[[-1., -2., -2., -2.,  3.]]])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import SpecError
from ..index_map import IndexMap
from ..spec import Conv
from ._layers import as_float64, as_shape, conv_layer, conv_transpose_layer, spatial_of
from .pooling import (
    adaptive_avg_pool,
    adaptive_max_pool,
    avg_pool,
    avg_pool_grad,
    axis_taps,
    max_pool,
    max_pool_grad,
)

__all__ = ["conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "max_pool",
           "max_pool_grad", "avg_pool", "avg_pool_grad", "adaptive_avg_pool", "adaptive_max_pool"]


@lru_cache(maxsize=256)
def _tap_index(imap_axis: Any, flip: bool) -> tuple[int, ...]:
    return tuple(int(imap_axis.tap(flip).subs(imap_axis.k, k)) for k in range(imap_axis.kernel))


def _gather(imap: IndexMap, xg: np.ndarray, tap: Sequence[int], mode: str) -> tuple[np.ndarray, np.ndarray]:
    """``x[..., fold(i(o, tap))]`` over all outputs ``o`` (zero where invalid), and the validity mask."""
    per_axis = [axis_taps(a, mode)[k] for a, k in zip(imap.axes, tap)]
    idx = np.ix_(*[np.clip(i, 0, a.n - 1) for (i, _), a in zip(per_axis, imap.axes)])
    sub = xg[(Ellipsis, *idx)]
    mask = per_axis[0][1]
    for _, valid in per_axis[1:]:
        mask = mask[..., None] & valid
    return np.where(mask, sub, 0.0), mask


def _taps(imap: IndexMap) -> Any:
    return itertools.product(*[range(a.kernel) for a in imap.axes])


def _weight_tap(imap: IndexMap, w: np.ndarray, tap: Sequence[int]) -> np.ndarray:
    return w[(Ellipsis, *[_tap_index(a, imap.flip_kernel)[k] for a, k in zip(imap.axes, tap)])]


def _bias(y: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    return y if b is None else y + b.reshape((-1,) + (1,) * (y.ndim - 2))


def conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False) -> np.ndarray:
    """Brute-force :func:`convalg.reference.conv` (same signature and result).

    >>> conv(np.arange(4.0).reshape(1, 1, 4), np.array([[[1.0, 2.0]]]), padding=((0, 1),), padding_mode="circular")
    array([[[2., 5., 8., 3.]]])
    """
    x, w = as_float64("x", x), as_float64("weight", weight)
    b = None if bias is None else as_float64("bias", bias, 1)
    layer, imap = conv_layer(x, w, b, stride, padding, dilation, groups, padding_mode, flip_kernel)
    g, (n, cin), cout = layer.groups, x.shape[:2], w.shape[0]
    xg = x.reshape(n, g, cin // g, *spatial_of(x))
    wg = w.reshape(g, cout // g, cin // g, *w.shape[2:])
    y = np.zeros((n, g, cout // g, *imap.output_shape))
    for tap in _taps(imap):  # taps outside the input contribute nothing (not w * 0, which is NaN for w = inf)
        sub, mask = _gather(imap, xg, tap, layer.padding_mode)
        y += np.where(mask, np.einsum("goi,ngi...->ngo...", _weight_tap(imap, wg, tap), sub), 0.0)
    return _bias(y.reshape(n, cout, *imap.output_shape), b)


def _scatter(imap: IndexMap, xg: np.ndarray, wg: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    """``y[i(o, k)] += sum_ci w[g, ci, co, tap(k)] * x[o]`` for valid ``i`` (``xg`` indexed by ``o``)."""
    y = np.zeros(out_shape)
    for tap in _taps(imap):
        per_axis = [axis_taps(a, "zeros")[k] for a, k in zip(imap.axes, tap)]
        if not all(valid.any() for _, valid in per_axis):
            continue
        src = np.ix_(*[np.flatnonzero(valid) for _, valid in per_axis])
        dst = np.ix_(*[i[valid] for i, valid in per_axis])
        y[(Ellipsis, *dst)] += np.einsum("gio,ngi...->ngo...", _weight_tap(imap, wg, tap), xg[(Ellipsis, *src)])
    return y


def conv_transpose(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                   flip_kernel: bool = False) -> np.ndarray:
    """Brute-force :func:`convalg.reference.conv_transpose` (scatter form).

    >>> conv_transpose(np.arange(4.0).reshape(1, 1, 4), np.array([[[1.0, 2.0]]]), stride=2)
    array([[[0., 0., 1., 2., 2., 4., 3., 6.]]])
    """
    x, w = as_float64("x", x), as_float64("weight", weight)
    b = None if bias is None else as_float64("bias", bias, 1)
    layer, imap = conv_transpose_layer(x, w, b, stride, padding, output_padding, groups, dilation, flip_kernel)
    g, (n, cin), cout_g = layer.groups, x.shape[:2], w.shape[1]
    xg = x.reshape(n, g, cin // g, *spatial_of(x))
    wg = w.reshape(g, cin // g, cout_g, *w.shape[2:])
    y = _scatter(imap, xg, wg, (n, g, cout_g, *imap.output_shape))
    return _bias(y.reshape(n, g * cout_g, *imap.output_shape), b)


def _grad_map(input_shape: Sequence[int], w: np.ndarray, stride: Any, padding: Any, dilation: Any,
              groups: int, padding_mode: str, flip_kernel: bool) -> tuple[Conv, IndexMap, tuple[int, ...]]:
    shape = as_shape("input_shape", input_shape)
    layer, imap = conv_layer(np.broadcast_to(np.empty(()), shape), w, None, stride, padding, dilation, groups,
                             padding_mode, flip_kernel)
    return layer, imap, shape


def _check_grad_out(g: np.ndarray, expected: tuple[int, ...]) -> None:
    if g.shape != expected:
        raise SpecError(f"grad_out.shape={g.shape}: must be the conv output shape {expected}")


def _scatter_folded(imap: IndexMap, gg: np.ndarray, wg: np.ndarray, out_shape: tuple[int, ...],
                    mode: str) -> np.ndarray:
    """``dx[fold(i(o, k))] += w[tap(k)] * g[o]`` (reflect / replicate / circular): folded indices repeat, so add.at."""
    dx = np.zeros(out_shape)
    spatial = out_shape[3:]
    flat = dx.reshape(*out_shape[:3], -1)
    for tap in _taps(imap):
        per_axis = [axis_taps(a, mode)[k][0] for a, k in zip(imap.axes, tap)]
        dst = np.ravel_multi_index(np.meshgrid(*per_axis, indexing="ij"), spatial).reshape(-1)
        contrib = np.einsum("goi,ngo...->ngi...", _weight_tap(imap, wg, tap), gg)
        np.add.at(flat, (Ellipsis, dst), contrib.reshape(*contrib.shape[:3], -1))
    return dx


def conv_grad_input(grad_out: Any, weight: Any, input_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                    dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                    flip_kernel: bool = False) -> np.ndarray:
    """Brute-force gradient of :func:`conv` w.r.t. its input: ``dx[fold(i(o, k))] += w[tap(k)] * g[o]``.

    >>> conv_grad_input(np.ones((1, 1, 3)), np.array([[[1.0, 2.0]]]), (1, 1, 4))
    array([[[1., 3., 3., 2.]]])
    >>> conv_grad_input(np.ones((1, 1, 4)), np.array([[[1.0, 2.0]]]), (1, 1, 4), padding=((0, 1),),
    ...                 padding_mode="circular")                       # the wrapped tap feeds x[0] again
    array([[[3., 3., 3., 3.]]])
    """
    g_out, w = as_float64("grad_out", grad_out), as_float64("weight", weight)
    layer, imap, shape = _grad_map(input_shape, w, stride, padding, dilation, groups, padding_mode, flip_kernel)
    G, (n, cin), cout = layer.groups, shape[:2], w.shape[0]
    _check_grad_out(g_out, (n, cout, *imap.output_shape))
    gg = g_out.reshape(n, G, cout // G, *imap.output_shape)
    wg = w.reshape(G, cout // G, cin // G, *w.shape[2:])
    if layer.padding_mode == "zeros":
        dx = _scatter(imap, gg, wg, (n, G, cin // G, *shape[2:]))
    else:
        dx = _scatter_folded(imap, gg, wg, (n, G, cin // G, *shape[2:]), layer.padding_mode)
    return dx.reshape(shape)


def conv_grad_weight(x: Any, grad_out: Any, weight_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                     dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                     flip_kernel: bool = False) -> np.ndarray:
    """Brute-force gradient of :func:`conv` w.r.t. its weight: ``dw[tap(k)] = sum_o g[o] * x[fold(i(o, k))]``.

    >>> conv_grad_weight(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), (1, 1, 2))
    array([[[3., 6.]]])
    >>> conv_grad_weight(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), (1, 1, 2), flip_kernel=True)
    array([[[6., 3.]]])
    """
    x, g_out = as_float64("x", x), as_float64("grad_out", grad_out)
    wshape = as_shape("weight_shape", weight_shape)
    layer, imap = conv_layer(x, np.broadcast_to(np.empty(()), wshape), None, stride, padding, dilation, groups,
                             padding_mode, flip_kernel)
    G, (n, cin), cout = layer.groups, x.shape[:2], wshape[0]
    _check_grad_out(g_out, (n, cout, *imap.output_shape))
    xg = x.reshape(n, G, cin // G, *spatial_of(x))
    gg = g_out.reshape(n, G, cout // G, *imap.output_shape)
    dw = np.zeros((G, cout // G, cin // G, *wshape[2:]))
    for tap in _taps(imap):
        sub = _gather(imap, xg, tap, layer.padding_mode)[0].reshape(n, G, cin // G, -1)
        where = tuple(_tap_index(a, imap.flip_kernel)[k] for a, k in zip(imap.axes, tap))
        dw[(Ellipsis, *where)] = np.einsum("ngop,ngip->goi", gg.reshape(n, G, cout // G, -1), sub)
    return dw.reshape(wshape)


def conv_grad_bias(grad_out: Any) -> np.ndarray:
    """Gradient w.r.t. the bias: ``grad_out`` summed over batch and spatial axes.

    >>> conv_grad_bias(np.ones((2, 3, 4)))
    array([8., 8., 8.])
    """
    g = as_float64("grad_out", grad_out)
    return g.sum(axis=(0, *range(2, g.ndim)))
