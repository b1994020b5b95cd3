"""Float64 references the harness needs beyond :mod:`convalg.reference`, built from its pieces.

=============================  =================================================================
function                       built as
=============================  =================================================================
``conv_transpose_grad_input``  ``conv_transpose`` is the adjoint of ``conv`` with the same
                               weight, so its input gradient is ``direct.conv(grad_output, w)``
                               (cropped: an ``output_padding >= stride`` row has no input)
``conv_transpose_grad_weight`` ``direct.conv_grad_weight`` with the roles of input and output
                               swapped: ``dW[ci, co, k] = sum x[ci, i] * g[co, s*i - p + d*k]``
``unfold``                     the taps of the :class:`convalg.Conv` index map, gathered
                               (0 where a tap reads padding), rows ``c * prod(k) + tap``
``fold``                       the adjoint of ``unfold``: each tap added back where it was read
``adaptive_avg_pool_grad``     the adjoint of the separable window means
                               (:meth:`~convalg.index_map.AdaptiveAxisMap.bounds`)
``nan_allowed``                outputs where a non-finite weight meets an implicit padding zero
                               (``inf * 0`` is NaN if the zero is stored, nothing if skipped)
=============================  =================================================================

>>> x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
>>> unfold(x, (2, 2), padding=(0, 0)).ravel().tolist()
[1.0, 2.0, 3.0, 4.0]
>>> fold(unfold(x, (1, 1)), (2, 2), (1, 1)).ravel().tolist()
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..reference import direct
from ..reference.pooling import axis_taps
from ..spec import AdaptiveAvgPool, Conv

__all__ = ["conv_transpose_grad_input", "conv_transpose_grad_weight", "unfold", "fold", "adaptive_avg_pool_grad",
           "nan_allowed"]


def _f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def conv_transpose_grad_input(grad_output: Any, weight: Any, input_size: Sequence[int], stride: Any = 1,
                              padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                              dilation: Any = 1) -> np.ndarray:
    """Gradient of ``conv_transpose`` w.r.t. its input (``output_padding`` only checks the shapes).

    >>> conv_transpose_grad_input(np.ones((1, 1, 8)), np.array([[[1.0, 2.0]]]), (1, 1, 4), stride=2)
    array([[[3., 3., 3., 3.]]])
    """
    y = direct.conv(_f64(grad_output), _f64(weight), None, stride=stride, padding=padding, dilation=dilation,
                    groups=groups)
    return y[(Ellipsis, *[slice(0, n) for n in input_size[2:]])]


def conv_transpose_grad_weight(x: Any, weight_size: Sequence[int], grad_output: Any, stride: Any = 1,
                               padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                               dilation: Any = 1) -> np.ndarray:
    """Gradient of ``conv_transpose`` w.r.t. its weight (shape ``weight_size = (C_in, C_out/groups, *k)``).

    >>> conv_transpose_grad_weight(np.ones((1, 1, 2)), (1, 1, 2), np.arange(4.0).reshape(1, 1, 4), stride=2)
    array([[[2., 4.]]])
    """
    x, g = _f64(x), _f64(grad_output)
    nd = x.ndim - 2
    layer = Conv(tuple(weight_size[2:]), stride=stride, padding=padding, dilation=dilation, groups=groups, ndim=nd)
    out = layer.output_shape(g.shape[2:])
    widths = [(0, 0), (0, 0)] + [(0, int(o) - n) for o, n in zip(out, x.shape[2:])]
    return direct.conv_grad_weight(g, np.pad(x, widths), tuple(weight_size), stride=stride, padding=padding,
                                   dilation=dilation, groups=groups)


def _taps(kernel_size: Any, spatial: Sequence[int], dilation: Any, padding: Any, stride: Any) -> Any:
    imap = Conv(kernel_size, stride=stride, padding=padding, dilation=dilation, ndim=len(spatial)).index_map(spatial)
    for tap in itertools.product(*[range(a.kernel) for a in imap.axes]):
        yield [axis_taps(a)[k] for a, k in zip(imap.axes, tap)], tuple(imap.output_shape)


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> np.ndarray:
    """``F.unfold``: ``(N, C, *spatial) -> (N, C * prod(k), L)``, exact (a gather)."""
    x = _f64(x)
    cols = []
    for per_axis, out in _taps(kernel_size, x.shape[2:], dilation, padding, stride):
        col = np.zeros(x.shape[:2] + out)
        if all(v.any() for _, v in per_axis):
            src = np.ix_(*[np.flatnonzero(v) for _, v in per_axis])
            col[(Ellipsis, *src)] = x[(Ellipsis, *np.ix_(*[i[v] for i, v in per_axis]))]
        cols.append(col.reshape(x.shape[0], x.shape[1], -1))
    stacked = np.stack(cols, axis=2)  # (N, C, taps, L)
    return stacked.reshape(x.shape[0], -1, stacked.shape[-1])


def fold(cols: Any, output_size: Sequence[int], kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> np.ndarray:
    """``F.fold``: ``(N, C * prod(k), L) -> (N, C, *output_size)``, overlapping taps added."""
    cols = _f64(cols)
    taps = list(_taps(kernel_size, tuple(output_size), dilation, padding, stride))
    n, rows = cols.shape[:2]
    c = rows // len(taps)
    out = taps[0][1]
    per_tap = cols.reshape(n, c, len(taps), *out)
    y = np.zeros((n, c, *output_size))
    for t, (per_axis, _) in enumerate(taps):
        if all(v.any() for _, v in per_axis):
            src = np.ix_(*[np.flatnonzero(v) for _, v in per_axis])
            dst = np.ix_(*[i[v] for i, v in per_axis])
            y[(Ellipsis, *dst)] += per_tap[:, :, t][(Ellipsis, *src)]
    return y


def adaptive_avg_pool_grad(grad_output: Any, input_size: Sequence[int], output_size: Any) -> np.ndarray:
    """Gradient of ``adaptive_avg_pool``: each window element receives ``g / window length``, axis by axis.

    >>> adaptive_avg_pool_grad(np.ones((1, 1, 2)), (1, 1, 3), 2)
    array([[[0.5, 1. , 0.5]]])
    """
    g = _f64(grad_output)
    imap = AdaptiveAvgPool(output_size, ndim=len(input_size) - 2).index_map(tuple(input_size[2:]))
    for a, axis in enumerate(imap.axes):
        start, stop = axis.bounds()
        mean = np.zeros((len(start), int(input_size[2 + a])))
        for o, (lo, hi) in enumerate(zip(start, stop)):
            mean[o, lo:hi] = 1.0 / (hi - lo)
        g = np.moveaxis(np.tensordot(g, mean, axes=([2 + a], [0])), -1, 2 + a)
    return g


def nan_allowed(op: str, x_shape: Sequence[int], weight: Any, params: dict[str, Any]) -> np.ndarray | None:
    """Outputs of ``conv`` / ``conv_transpose`` that may be NaN when ``weight`` has non-finite entries.

    A kernel that stores the implicit padding zeros (or the zeros stuffed
    between strided inputs) multiplies them by ``inf`` and gets NaN; one that
    skips them does not.  Both are accepted at these outputs only.
    """
    bad = ~np.isfinite(_f64(weight))
    if not bad.any():
        return None
    groups = params.get("groups", 1)
    if op == "conv_transpose":  # zero-stuffing reaches every output of an affected output channel
        cin, cout_g = bad.shape[:2]
        per = bad.reshape(groups, cin // groups, cout_g, -1).any(axis=(1, 3)).reshape(-1)
        return per.reshape((1, -1) + (1,) * (len(x_shape) - 2))
    if params.get("padding_mode", "zeros") != "zeros":
        return None
    w = bad.astype(np.float64)
    nd = len(x_shape) - 2
    layer = Conv(w.shape[2:], stride=params.get("stride", 1), padding=params.get("padding", 0),
                 dilation=params.get("dilation", 1), groups=groups, ndim=nd)
    pads = layer.padding
    inside = direct.conv(np.ones((1, *x_shape[1:])), w, None, stride=layer.stride, padding=pads,
                         dilation=layer.dilation, groups=groups)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[2:], pads))
    everywhere = direct.conv(np.ones((1, x_shape[1], *padded)), w, None, stride=layer.stride, padding=0,
                             dilation=layer.dilation, groups=groups)
    return everywhere > inside
