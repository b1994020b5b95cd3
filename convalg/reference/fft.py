"""Float64 FFT references for the linear convolution operators (the convolution theorem).

Each operator is one full linear convolution over the spatial axes, computed
as ``irfftn(rfftn(a) * rfftn(b))`` at ``next_fast_len`` sizes, with the
channel (and batch) sums done in the frequency domain by ``einsum``, followed
by a crop and a subsample:

====================  ========================================================
operator              full convolution, then
====================  ========================================================
``conv``              padded ``x`` (``numpy.pad``: zeros / reflect / edge /
                      wrap) with the flipped, zero-stuffed (dilated) kernel;
                      keep ``full[d*(k-1) + s*o]`` (strided = subsampled)
``conv_transpose``    zero-stuffed ``x`` (stride) with the dilated kernel;
                      keep ``full[lo + i]`` (0 past the end: output_padding)
``conv_grad_input``   ``conv_transpose`` of the exact transposed layer
``conv_grad_weight``  padded ``x`` with the flipped, zero-stuffed ``grad_out``;
                      keep ``full[len - 1 + d*k]``
====================  ========================================================

Geometry (pads, output sizes) comes from the layer's index map.  Inputs of
any real dtype are computed in float64.

Accuracy: the FFT is accurate *norm-wise* (errors of order ``u * max|out|``
spread over every output), not element by element: an output much smaller
than its neighbours (wide dynamic range, near cancellation) may carry an
absolute error of ``1e-16`` times the largest one.  Judge it with
``error_bound(..., algorithm='fft')`` or use :mod:`convalg.reference.direct`.
Inputs holding NaN or inf are passed to :mod:`convalg.reference.direct`
(a transform would spread them to every output).

>>> import numpy as np
>>> x = np.arange(5.0).reshape(1, 1, 5); w = np.array([[[1.0, 0.0, -1.0]]])
>>> np.round(conv(x, w, padding=1), 12)
array([[[-1., -2., -2., -2.,  3.]]])
>>> np.round(conv(x, w, padding=1, flip_kernel=True), 12)
array([[[ 1.,  2.,  2.,  2., -3.]]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft

from ..checks import check_bool
from ..errors import SpecError
from ..spec import Conv
from . import direct
from ._layers import as_float64, as_shape, conv_layer, conv_transpose_layer

__all__ = ["conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "fft_convolve",
           "zero_stuff", "pad_input", "unpad_adjoint"]

#: ``padding_mode`` -> ``numpy.pad`` mode.
NUMPY_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def zero_stuff(a: np.ndarray, factors: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Insert ``f - 1`` zeros between neighbours along each axis (size ``f*(n-1) + 1``).

    >>> zero_stuff(np.array([1.0, 2.0, 3.0]), (2,), (0,))
    array([1., 0., 2., 0., 3.])
    """
    shape = list(a.shape)
    index: list[Any] = [slice(None)] * a.ndim
    for f, ax in zip(factors, axes):
        shape[ax] = f * (a.shape[ax] - 1) + 1
        index[ax] = slice(None, None, f)
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(index)] = a
    return out


def pad_input(x: np.ndarray, pads: Sequence[tuple[int, int]], padding_mode: str = "zeros") -> np.ndarray:
    """Pad the trailing ``len(pads)`` axes by ``(lo, hi)``; negative pads crop (zeros mode only).

    >>> pad_input(np.array([[[1.0, 2.0, 3.0]]]), [(2, 1)], "reflect")
    array([[[3., 2., 1., 2., 3., 2.]]])
    >>> pad_input(np.array([[[1.0, 2.0, 3.0]]]), [(2, -1)])          # a negative pad crops
    array([[[0., 0., 1., 2.]]])
    """
    lead = x.ndim - len(pads)
    crop = tuple([slice(None)] * lead + [slice(max(-lo, 0), x.shape[lead + a] - max(-hi, 0))
                                         for a, (lo, hi) in enumerate(pads)])
    x = x[crop]
    widths = [(0, 0)] * lead + [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    return np.pad(x, widths, mode=NUMPY_PAD_MODES[padding_mode])  # type: ignore[call-overload]


def fft_convolve(a: np.ndarray, b: np.ndarray, subscripts: str, ndim: int) -> np.ndarray:
    """Full linear convolution over the last ``ndim`` axes, leading axes contracted by ``einsum``.

    ``subscripts`` names the leading axes, e.g. ``"ngi,goi->ngo"``; the
    frequency axes are appended as ``...``.

    >>> fft_convolve(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0, 1.0]]), "a,a->", 1).round(12)
    array([1., 3., 3., 2.])
    """
    axes = tuple(range(-ndim, 0))
    full = [a.shape[ax] + b.shape[ax] - 1 for ax in axes]
    sizes = [sfft.next_fast_len(n, real=True) for n in full]
    fa = sfft.rfftn(a, s=sizes, axes=axes)
    fb = sfft.rfftn(b, s=sizes, axes=axes)
    lhs, out = subscripts.split("->")
    sa, sb = lhs.split(",")
    prod = np.einsum(f"{sa}...,{sb}...->{out}...", fa, fb, optimize=True)
    result = sfft.irfftn(prod, s=sizes, axes=axes)
    return result[(Ellipsis, *[slice(0, n) for n in full])]


def _flip(a: np.ndarray, ndim: int) -> np.ndarray:
    return a[(Ellipsis, *[slice(None, None, -1)] * ndim)]


def _nonfinite(*arrays: np.ndarray | None) -> bool:
    return any(a is not None and not np.isfinite(a).all() for a in arrays)


def _bias(y: np.ndarray, bias: Any, ndim: int) -> np.ndarray:
    if bias is not None:
        y = y + as_float64("bias", bias, 1).reshape((-1,) + (1,) * ndim)
    return y


def conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1, padding_mode: str = "zeros", flip_kernel: bool = False) -> np.ndarray:
    """N-d convolution (cross-correlation unless ``flip_kernel``) with PyTorch's ``F.conv{1,2,3}d`` semantics.

    ``x`` is ``(N, C_in, *spatial)``, ``weight`` ``(C_out, C_in/groups, *k)``;
    ``padding`` is anything :class:`convalg.Conv` accepts (int, per-axis
    tuple, ``'same'``, ``'valid'``, ``(lo, hi)`` pairs).

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4); w = np.ones((2, 1, 3, 3))
    >>> conv(x, w, padding="same").shape, conv(x, w, stride=2, padding=((1, 0), (0, 1))).shape
    ((1, 2, 4, 4), (1, 2, 2, 2))
    """
    x, w = as_float64("x", x), as_float64("weight", weight)
    b = None if bias is None else as_float64("bias", bias, 1)
    layer, imap = conv_layer(x, w, b, stride, padding, dilation, groups, padding_mode, flip_kernel)
    if _nonfinite(x, w, b):
        return direct.conv(x, w, b, stride, padding, dilation, groups, padding_mode, flip_kernel)
    nd, g = imap.ndim, layer.groups
    padded = pad_input(x, [(a.lo, a.hi) for a in imap.axes], layer.padding_mode)
    kern = zero_stuff(w, layer.dilation, range(2, 2 + nd))
    if not layer.flip_kernel:  # correlation = convolution with the flipped kernel
        kern = _flip(kern, nd)
    n, cin = x.shape[:2]
    full = fft_convolve(padded.reshape(n, g, cin // g, *padded.shape[2:]),
                        kern.reshape(g, w.shape[0] // g, *w.shape[1:2], *kern.shape[2:]), "ngi,goi->ngo", nd)
    keep = tuple(slice(a.effective_kernel - 1, None, a.stride) for a in imap.axes)
    y = full[(Ellipsis, *keep)][(Ellipsis, *[slice(0, a.n_out) for a in imap.axes])]
    return _bias(y.reshape(n, w.shape[0], *imap.output_shape), b, nd)


def conv_transpose(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                   flip_kernel: bool = False) -> np.ndarray:
    """N-d transposed convolution with PyTorch's ``F.conv_transpose{1,2,3}d`` semantics.

    ``weight`` is ``(C_in, C_out/groups, *k)``; ``y[s*o - lo + d*k] += x[o] * w[k]``.
    ``padding`` may also be ``(lo, hi)`` pairs.

    >>> np.round(conv_transpose(np.arange(4.0).reshape(1, 1, 4), np.array([[[1.0, 2.0]]]), stride=2), 12)
    array([[[0., 0., 1., 2., 2., 4., 3., 6.]]])
    """
    x, w = as_float64("x", x), as_float64("weight", weight)
    b = None if bias is None else as_float64("bias", bias, 1)
    layer, imap = conv_transpose_layer(x, w, b, stride, padding, output_padding, groups, dilation, flip_kernel)
    if _nonfinite(x, w, b):
        return direct.conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation, flip_kernel)
    nd, g = imap.ndim, layer.groups
    xs = zero_stuff(x, layer.stride, range(2, 2 + nd))
    kern = zero_stuff(w, layer.dilation, range(2, 2 + nd))
    if layer.flip_kernel:
        kern = _flip(kern, nd)
    n, cin = x.shape[:2]
    cout_g = w.shape[1]
    full = fft_convolve(xs.reshape(n, g, cin // g, *xs.shape[2:]),
                        kern.reshape(g, cin // g, cout_g, *kern.shape[2:]), "ngi,gio->ngo", nd)
    # output i reads full[lo + i]; positions past the full length (output_padding) receive nothing
    y = pad_input(full, [(-a.lo, a.n - (full.shape[3 + ax] - a.lo)) for ax, a in enumerate(imap.axes)])
    return _bias(y.reshape(n, g * cout_g, *imap.output_shape), b, nd)


def _grad_layer(input_shape: Sequence[int], weight: np.ndarray, stride: Any, padding: Any, dilation: Any,
                groups: int, padding_mode: str = "zeros") -> tuple[Conv, tuple[int, ...]]:
    input_shape = as_shape("input_shape", input_shape)
    if len(input_shape) != weight.ndim:
        raise SpecError(f"input_shape={input_shape}: must be (N, C_in, *spatial) with {weight.ndim - 2} spatial dims")
    layer, _ = conv_layer(np.broadcast_to(np.empty(()), input_shape), weight, None, stride, padding, dilation, groups,
                          padding_mode)
    return layer, input_shape


def unpad_adjoint(grad_padded: np.ndarray, spatial: Sequence[int], pads: Sequence[tuple[int, int]],
                  padding_mode: str) -> np.ndarray:
    """The adjoint of :func:`pad_input` (non-negative pads): each padded element's value added to its source.

    >>> unpad_adjoint(np.array([[[1.0, 10.0, 100.0, 1000.0]]]), (3,), [(1, 0)], "reflect")   # x1 is read twice
    array([[[  10.,  101., 1000.]]])
    """
    lead = grad_padded.shape[:grad_padded.ndim - len(spatial)]
    source = pad_input(np.arange(int(np.prod(spatial))).reshape(spatial), pads, padding_mode)
    out = np.zeros((int(np.prod(lead)), int(np.prod(spatial))))
    if padding_mode == "zeros":  # the zero pad has no source: keep the interior (negative pads crop)
        return np.ascontiguousarray(pad_input(grad_padded, [(-lo, -hi) for lo, hi in pads]))
    np.add.at(out, (slice(None), source.reshape(-1)), grad_padded.reshape(out.shape[0], -1))
    return out.reshape(*lead, *spatial)


def conv_grad_input(grad_out: Any, weight: Any, input_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                    dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                    flip_kernel: bool = False) -> np.ndarray:
    """Gradient of :func:`conv` w.r.t. its input: the exact transposed layer applied to ``grad_out``.

    With a non-zero ``padding_mode`` that is the gradient w.r.t. the padded
    input, folded back by :func:`unpad_adjoint`; ``flip_kernel`` flips ``weight``.

    >>> np.round(conv_grad_input(np.ones((1, 1, 3)), np.array([[[1.0, 2.0]]]), (1, 1, 4)), 12)
    array([[[1., 3., 3., 2.]]])
    >>> np.round(conv_grad_input(np.ones((1, 1, 4)), np.array([[[1.0, 2.0]]]), (1, 1, 4), padding=((0, 1),),
    ...                          padding_mode="replicate"), 12)                  # x3 is read twice by the last window
    array([[[1., 3., 3., 5.]]])
    """
    g, w = as_float64("grad_out", grad_out), as_float64("weight", weight)
    layer, input_shape = _grad_layer(input_shape, w, stride, padding, dilation, groups, padding_mode)
    expected = (input_shape[0], w.shape[0], *layer.output_shape(input_shape[2:]))
    if g.shape != expected:
        raise SpecError(f"grad_out.shape={g.shape}: must be the conv output shape {expected}")
    if _nonfinite(g, w):
        return direct.conv_grad_input(g, w, input_shape, stride, padding, dilation, groups, padding_mode,
                                      flip_kernel)
    nd = w.ndim - 2
    if check_bool("flip_kernel", flip_kernel):
        w = np.ascontiguousarray(_flip(w, nd))
    if layer.padding_mode == "zeros":
        t = layer.transpose(input_shape[2:])
        return conv_transpose(g, w, None, t.stride, t.padding, t.output_padding, t.groups, t.dilation)
    pads = [(a.lo, a.hi) for a in layer.index_map(input_shape[2:]).axes]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(input_shape[2:], pads))
    inner = layer.replace(padding=0, padding_mode="zeros").transpose(padded)
    grad_padded = conv_transpose(g, w, None, inner.stride, inner.padding, inner.output_padding, inner.groups,
                                 inner.dilation)
    return unpad_adjoint(grad_padded, input_shape[2:], pads, layer.padding_mode)


def conv_grad_weight(x: Any, grad_out: Any, weight_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                     dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                     flip_kernel: bool = False) -> np.ndarray:
    """Gradient of :func:`conv` w.r.t. its weight: ``dW[co, ci, k] = sum_{n,o} g[n,co,o] * xpad[n, ., s*o + d*k]``.

    ``xpad`` is padded by ``padding_mode``; with ``flip_kernel`` the result is flipped.

    >>> np.round(conv_grad_weight(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), (1, 1, 2)), 12)
    array([[[3., 6.]]])
    """
    x, g = as_float64("x", x), as_float64("grad_out", grad_out)
    weight_shape = as_shape("weight_shape", weight_shape)
    layer, imap = conv_layer(x, np.broadcast_to(np.empty(()), weight_shape), None, stride, padding, dilation, groups,
                             padding_mode, flip_kernel)
    nd, G = imap.ndim, layer.groups
    n, cin = x.shape[:2]
    cout = weight_shape[0]
    if g.shape != (n, cout, *imap.output_shape):
        raise SpecError(f"grad_out.shape={g.shape}: must be the conv output shape {(n, cout, *imap.output_shape)}")
    if _nonfinite(x, g):
        return direct.conv_grad_weight(x, g, weight_shape, stride, padding, dilation, groups, padding_mode,
                                       flip_kernel)
    padded = pad_input(x, [(a.lo, a.hi) for a in imap.axes], layer.padding_mode)
    gs = _flip(zero_stuff(g, layer.stride, range(2, 2 + nd)), nd)
    full = fft_convolve(padded.reshape(n, G, cin // G, *padded.shape[2:]), gs.reshape(n, G, cout // G, *gs.shape[2:]),
                        "ngi,ngo->goi", nd)
    keep = tuple(slice(gs.shape[2 + ax] - 1, None, a.dilation) for ax, a in enumerate(imap.axes))
    dw = full[(Ellipsis, *keep)][(Ellipsis, *[slice(0, a.kernel) for a in imap.axes])]
    if layer.flip_kernel:
        dw = _flip(dw, nd)
    return np.ascontiguousarray(dw.reshape(weight_shape))


def conv_grad_bias(grad_out: Any) -> np.ndarray:
    """Gradient w.r.t. the bias: ``grad_out`` summed over batch and spatial axes.

    >>> conv_grad_bias(np.ones((2, 3, 4, 5)))
    array([40., 40., 40.])
    """
    g = as_float64("grad_out", grad_out)
    return g.sum(axis=(0, *range(2, g.ndim)))

