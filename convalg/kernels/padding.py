"""Padding modes around any backend's zero-padded convolution: the padded frame and its adjoint.

A convolution with ``padding_mode`` ``'reflect'`` / ``'replicate'`` / ``'circular'``
is a zero-padding convolution (padding 0) of the padded frame ``P x``; its input
gradient is ``P^T`` applied to the gradient w.r.t. the frame.  ``P`` is a window
plan's ``pad_index`` (frame position -> input index), printed from the index
map's ``padded_index``, so no backend folds indices by hand.  Both functions work
on the array module of their argument (NumPy, CuPy, or NumPy under the CUDA host
shim); :class:`convalg.kernels.base.BackendOps` runs them around a backend's
zero-padding gradients.

===================  ==========================================================
function             result
===================  ==========================================================
``interior``         the frame slices ``[p0, p1)`` and the input slices they copy
``pad_frame``        ``P x``: ``x`` gathered into the frame
``unpad_adjoint``    ``P^T g``: each frame element's value added to its source
===================  ==========================================================

>>> import numpy as np
>>> from convalg import Conv
>>> from convalg.kernels.numpy.plan import window_plan
>>> frame = window_plan(Conv(2, padding=((1, 0),), padding_mode="reflect", ndim=1), (3,))
>>> frame.extent, frame.pad_index[0].tolist()
((4,), [1, 0, 1, 2])
>>> pad_frame(np.array([[[1.0, 2.0, 3.0]]]), frame).tolist()
[[[2.0, 1.0, 2.0, 3.0]]]
>>> unpad_adjoint(np.array([[[1.0, 10.0, 100.0, 1000.0]]]), frame).tolist()    # x1 is read twice
[[[10.0, 101.0, 1000.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .arrays import array_module

__all__ = ["Frame", "interior", "pad_frame", "unpad_adjoint"]


class Frame(Protocol):
    """What the functions read from a window plan (:class:`convalg.kernels.numpy.plan.WindowPlan`)."""

    input_shape: tuple[int, ...]
    extent: tuple[int, ...]
    inside: tuple[tuple[int, int, int], ...]
    pad_index: tuple[Any, ...]


def interior(inside: Sequence[tuple[int, int, int]]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Per axis, the frame positions ``[p0, p1)`` that hold input ``i0, i0 + 1, ...``: ``(frame slices,
    input slices)``.

    >>> interior(((1, 4, 0), (0, 2, 3)))
    ((slice(1, 4, None), slice(0, 2, None)), (slice(0, 3, None), slice(3, 5, None)))
    """
    return (tuple(slice(p0, p1) for p0, p1, _ in inside),
            tuple(slice(i0, i0 + p1 - p0) for p0, p1, i0 in inside))


def pad_frame(x: Any, frame: Frame) -> Any:
    """``x`` ``(N, C, *spatial)`` gathered into the padded frame of ``frame`` (a window plan)."""
    xp = array_module(x)
    for axis, index in enumerate(frame.pad_index):
        x = x.take(xp.asarray(index), axis=2 + axis)
    return x


def unpad_adjoint(grad_frame: Any, frame: Frame) -> Any:
    """The adjoint of :func:`pad_frame`: every frame element's gradient added to the input element it copies.

    Per axis the interior ``[p0, p1)`` maps one-to-one onto the input; the few border positions
    are added one slice at a time, so the cost is one copy plus the border.
    """
    g = grad_frame
    xp = array_module(g)
    for axis, (inside, index) in enumerate(zip(frame.inside, frame.pad_index)):
        n = frame.input_shape[axis]
        ax = 2 + axis
        moved = g.swapaxes(ax, -1)
        out = xp.zeros((*moved.shape[:-1], n), dtype=moved.dtype)
        (in_frame,), (in_input,) = interior((inside,))
        out[..., in_input] = moved[..., in_frame]
        for p in [*range(0, inside[0]), *range(inside[1], len(index))]:
            out[..., int(index[p])] += moved[..., p]
        g = out.swapaxes(ax, -1)
    return xp.ascontiguousarray(g)
