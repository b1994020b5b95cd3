"""Generic planted bugs: wrap a correct torch target for any op with one mistake of each class.

Each mutant fires only where its class says (batch > 2, a channel dim > 4, a
side > 20, a non-contiguous input, a NaN in the inputs, ...), so catching it
needs the harness to draw that feature.
"""

from __future__ import annotations

import time

import torch

CLASSES = ("batch>2", "channels>4", "kernel>3", "side>20", "in-place", "returns-float64", "returns-list",
           "hangs", "non-contiguous", "nan-dropped", "inf-clamped")


def _arrays(args, kwargs):
    return [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.is_floating_point()]


def _bump(y, where=None):
    """``y + 1`` (values only; indices untouched)."""
    if isinstance(y, tuple):
        return (_bump(y[0], where), *y[1:])
    y = y.clone()
    if where is None:
        y += 1
    else:
        y[where] += 1
    return y


def _kernel(args, kwargs):
    """The kernel sides of a call: ``kernel_size``, the weight's (``args[1]``) or ``weight_size[2:]``."""
    if "kernel_size" in kwargs:
        return tuple(kwargs["kernel_size"])
    second = args[1] if len(args) > 1 else None
    if isinstance(second, torch.Tensor) and second.ndim > 2:
        return tuple(second.shape[2:])
    if isinstance(second, tuple):
        return tuple(second[2:])
    return ()


def mutant(target, kind):
    """``target`` with the mistake ``kind`` (one of :data:`CLASSES`)."""

    def wrapped(*args, **kwargs):
        arrays = _arrays(args, kwargs)
        first = arrays[0]
        if kind == "hangs" and first.shape[0] > 2:
            time.sleep(30)
        if kind == "nan-dropped":
            args = [torch.nan_to_num(a, nan=0.0, posinf=torch.inf, neginf=-torch.inf)
                    if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
        if kind == "inf-clamped":
            args = [a.clamp(-3e38, 3e38) if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                    for a in args]
        y = target(*args, **kwargs)
        if kind == "batch>2" and first.shape[0] > 2:
            y = _bump(y, (slice(2, None),))
        if kind == "channels>4" and any(a.ndim > 2 and a.shape[1] > 4 for a in arrays):
            y = _bump(y)
        if kind == "kernel>3" and max(_kernel(args, kwargs), default=0) > 3:
            y = _bump(y)
        if kind == "side>20" and any(a.ndim > 2 and max(a.shape[2:]) > 20 for a in arrays):
            y = _bump(y)
        if kind == "in-place":
            first.mul_(2)
        if kind == "non-contiguous" and not all(a.is_contiguous() for a in arrays):
            y = _bump(y)
        if kind == "returns-float64":
            y = (y[0].double(), *y[1:]) if isinstance(y, tuple) else y.double()
        if kind == "returns-list":
            y = y.tolist() if not isinstance(y, tuple) else [v.tolist() for v in y]
        return y

    wrapped.__qualname__ = f"mutant[{kind}]"
    return wrapped
