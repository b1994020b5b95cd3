"""Padding modes around any backend's zero-padded convolution: the padded frame and its adjoint.

A convolution with ``padding_mode`` ``'reflect'`` / ``'replicate'`` / ``'circular'``
is a zero-padding convolution (padding 0) of the padded frame ``P x``; its input
gradient is ``P^T`` applied to the gradient w.r.t. the frame.  ``P`` is the window
plan's ``pad_index`` (frame position -> input index), printed from the index
map's ``padded_index``, so no backend folds indices by hand.

===================  ==========================================================
function             result
===================  ==========================================================
``padded_frame``     the window plan: ``extent`` (frame size the windows read),
                     ``inside`` (interior), ``pad_index``
``pad_frame``        ``P x``: ``x`` gathered into the frame (NumPy or CuPy)
``unpad_adjoint``    ``P^T g``: each frame element's value added to its source
===================  ==========================================================

>>> import numpy as np
>>> frame = padded_frame((2,), 1, ((1, 0),), 1, 1, "reflect", (3,))
>>> frame.extent, frame.pad_index[0].tolist()
((4,), [1, 0, 1, 2])
>>> pad_frame(np.array([[[1.0, 2.0, 3.0]]]), frame).tolist()
[[[2.0, 1.0, 2.0, 3.0]]]
>>> unpad_adjoint(np.array([[[1.0, 10.0, 100.0, 1000.0]]]), frame).tolist()    # x1 is read twice
[[[10.0, 101.0, 1000.0]]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec.conv import Conv
from .numpy.plan import WindowPlan, window_plan

__all__ = ["padded_frame", "pad_frame", "unpad_adjoint"]


def _xp(a: Any) -> Any:
    """The array module of ``a``: CuPy for a CuPy array, else NumPy."""
    if type(a).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy
    return np


def padded_frame(kernel: tuple[int, ...], stride: Any, padding: Any, dilation: Any, groups: int, padding_mode: str,
                 spatial: tuple[int, ...]) -> WindowPlan:
    """The window plan of a padded conv: ``extent`` (the padded frame its windows read) and
    ``pad_index`` (frame position -> input index, printed from the index map).  Parameters as
    :class:`~convalg.Conv` takes them (hashable: tuples, not lists)."""
    layer = Conv(kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                 padding_mode=padding_mode, ndim=len(kernel))
    layer.output_shape(spatial)  # SpecError for a padding the mode cannot make (reflect: pad < n)
    return window_plan(layer, spatial)


def pad_frame(x: Any, frame: WindowPlan) -> Any:
    """``x`` ``(N, C, *spatial)`` copied into the padded frame of ``frame`` (a window plan)."""
    for axis, index in enumerate(frame.pad_index):
        x = x.take(_xp(x).asarray(index), axis=2 + axis)
    return x


def unpad_adjoint(grad_frame: Any, frame: WindowPlan) -> Any:
    """The adjoint of :func:`pad_frame`: every frame element's gradient added to the input element it copies.

    Per axis the interior ``[p0, p1)`` maps one-to-one onto the input; the few border positions
    are added one slice at a time, so the cost is one copy plus the border.
    """
    g = grad_frame
    for axis, ((p0, p1, i0), index) in enumerate(zip(frame.inside, frame.pad_index)):
        n = frame.input_shape[axis]
        ax = 2 + axis
        moved = g.swapaxes(ax, -1)
        out = _xp(moved).zeros((*moved.shape[:-1], n), dtype=moved.dtype)
        out[..., i0:i0 + p1 - p0] = moved[..., p0:p1]
        for p in [*range(0, p0), *range(p1, len(index))]:
            out[..., int(index[p])] += moved[..., p]
        g = out.swapaxes(ax, -1)
    return _xp(g).ascontiguousarray(g)
