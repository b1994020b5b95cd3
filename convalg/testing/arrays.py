"""Rebuildable test arrays: value kinds, NaN / inf sprinkles and memory layouts.

A drawn array is an :class:`ArrayRecipe` (shape, dtype, value kind, seed, how
many NaN / inf, layout), so a failing case prints as a few lines of Python.

=====================  ==============================================================
layout                 the same values, stored as
=====================  ==============================================================
``contiguous``         a C-contiguous array
``strided``            every other element of a buffer twice as long on the last
                       axis (non-contiguous, positive strides)
``negative_stride``    a reversed view of a reversed copy (negative last-axis
                       stride; NumPy and CuPy only)
``channels_last``      channels stored innermost (``N, *spatial, C`` in memory),
                       PyTorch's ``channels_last`` memory format
=====================  ==============================================================

>>> a = with_layout(np.arange(6.0).reshape(1, 2, 3), "negative_stride")
>>> a.strides[-1] < 0, a.tolist() == np.arange(6.0).reshape(1, 2, 3).tolist()
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["VALUE_KINDS", "LAYOUTS", "make_array", "with_layout", "ArrayRecipe", "round_bfloat16"]

VALUE_KINDS = ("normal", "uniform", "wide", "small_int", "ties", "positive")
LAYOUTS = ("contiguous", "strided", "negative_stride", "channels_last")
_WIDE_DECADES = {"float16": 2, "float32": 12, "float64": 60}


def round_bfloat16(a: np.ndarray) -> np.ndarray:
    """Round to the nearest bfloat16 value (ties to even), kept in float32 storage.

    >>> float(round_bfloat16(np.array([1.0 + 2.0**-9], dtype=np.float32))[0])
    1.0
    """
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


def make_array(shape: Sequence[int], dtype: str = "float32", kind: str = "normal", seed: int = 0,
               nan: int = 0, inf: int = 0) -> np.ndarray:
    """A deterministic test array: the rebuild recipe printed in conformance-harness repros.

    ``dtype`` may be ``'bfloat16'`` (float32 storage of bf16-representable
    values).  ``nan`` / ``inf`` put that many NaN / ±inf at random positions.

    >>> make_array((2, 3), "float32", "small_int", seed=1)
    array([[ 0.,  0.,  2.],
           [ 4., -4., -3.]], dtype=float32)
    """
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in shape)
    storage = "float32" if dtype == "bfloat16" else dtype
    if kind == "normal":
        a = rng.standard_normal(shape)
    elif kind == "uniform":
        a = rng.uniform(-1.0, 1.0, shape)
    elif kind == "wide":
        decades = _WIDE_DECADES.get(storage, 12)
        a = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-decades, decades, shape)
    elif kind == "small_int":
        a = rng.integers(-4, 5, shape).astype(np.float64)
    elif kind == "ties":
        a = rng.integers(0, 4, shape).astype(np.float64)
    elif kind == "positive":  # post-ReLU activations: sums without cancellation expose accumulation error
        a = rng.uniform(0.0, 1.0, shape)
    else:
        raise ValueError(f"kind={kind!r}: must be one of {', '.join(VALUE_KINDS)}")
    a = a.astype(storage)
    if dtype == "bfloat16":
        a = round_bfloat16(a)
    flat = a.reshape(-1)
    if flat.size and (nan or inf):
        pos = rng.permutation(flat.size)
        flat[pos[:nan]] = np.nan
        flat[pos[nan:nan + inf]] = rng.choice([-np.inf, np.inf], len(pos[nan:nan + inf]))
    return a


def _permute(a: Any, axes: Sequence[int]) -> Any:
    return a.permute(*axes) if hasattr(a, "permute") else a.transpose(tuple(axes))


def with_layout(a: Any, layout: str) -> Any:
    """The values of ``a`` (NumPy, CuPy or torch) stored with ``layout`` (see the module table).

    >>> b = with_layout(np.arange(24.0).reshape(1, 2, 3, 4), "channels_last")
    >>> b.strides, bool((b == np.arange(24.0).reshape(1, 2, 3, 4)).all())
    ((192, 8, 64, 16), True)
    """
    if layout == "contiguous" or a.ndim < 3:
        return a
    if layout == "strided":
        big = a.repeat_interleave(2, dim=-1) if hasattr(a, "repeat_interleave") else a.repeat(2, axis=-1)
        return big[..., ::2]
    if layout == "negative_stride":
        if hasattr(a, "permute"):
            raise ValueError("layout='negative_stride': torch tensors cannot have negative strides")
        return a[..., ::-1].copy()[..., ::-1]
    if layout == "channels_last":
        to_last = (0, *range(2, a.ndim), 1)
        stored = _permute(a, to_last)
        stored = stored.contiguous() if hasattr(stored, "contiguous") else stored.copy()
        return _permute(stored, (0, a.ndim - 1, *range(1, a.ndim - 1)))
    raise ValueError(f"layout={layout!r}: must be one of {', '.join(LAYOUTS)}")


@dataclass(frozen=True)
class ArrayRecipe:
    """Everything :func:`make_array` needs to rebuild an array, plus its memory layout."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    kind: str = "normal"
    seed: int = 0
    nan: int = 0
    inf: int = 0
    layout: str = "contiguous"

    def build(self) -> np.ndarray:
        """The values, C-contiguous (apply :func:`with_layout` for :attr:`layout`)."""
        return make_array(self.shape, self.dtype, self.kind, self.seed, self.nan, self.inf)

    def code(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)}" for k in ("nan", "inf") if getattr(self, k))
        return f"make_array({self.shape}, {self.dtype!r}, {self.kind!r}, seed={self.seed}{extra})"
