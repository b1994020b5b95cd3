"""The slab geometry of one axis: a strided, dilated, padded convolution as a stride-1 correlation.

Every output of an axis reads input positions between ``input_index(0, 0)`` and
``input_index(n_out-1, K-1)``: that *slab* (zeros outside ``[0, n)``) correlated
at stride 1 with the filter spread to its tap offsets, read every ``step``
points, is the convolution.  This is what an FFT frame needs; all of it is read
off :attr:`AxisMap.input_index` at concrete sizes:

====================  ===================================================================
field / property      value
====================  ===================================================================
``first``, ``last``   ``input_index(0, 0)``, ``input_index(n_out-1, K-1)``
``tap_offsets``       ``input_index(0, k) - first`` (``d*k``): where tap ``k`` sits in
                      the spread filter
``step``              ``input_index(1, 0) - first`` (the stride): output ``o`` sits at
                      ``step*o`` in the stride-1 correlation
``weight_taps``       the weight index read at tap ``k`` (``AxisMap.tap``)
``crop``              input positions inside the slab, ``[max(0, first), min(n, last+1))``
                      (empty when every output reads padding only)
``pads``              zeros before / after them, ``(max(0, -first), max(0, last-n+1))``;
                      with the crop, exactly ``length`` positions
``length``            ``last - first + 1``
``effective_kernel``  ``tap_offsets[-1] + 1``
``keep``              the correlation's outputs, ``slice(0, step*(n_out-1)+1, step)``
====================  ===================================================================

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> (s,) = slab_geometry(index_map(Conv(2, stride=2, padding=1), (6,)))
>>> s.first, s.last, s.tap_offsets, s.step, s.crop, s.pads, s.length, s.effective_kernel, s.keep
(-1, 6, (0, 1), 2, (0, 6), (1, 1), 8, 2, slice(0, 7, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .affine import AxisMap

__all__ = ["SlabAxis", "slab_axis", "slab_geometry"]


@dataclass(frozen=True)
class SlabAxis:
    """The slab of one axis at concrete sizes (see the module docstring)."""

    n: int
    n_out: int
    first: int
    last: int
    tap_offsets: tuple[int, ...]
    step: int
    weight_taps: tuple[int, ...]

    @property
    def crop(self) -> tuple[int, int]:
        start = min(max(0, self.first), self.n)
        return start, max(start, min(self.n, self.last + 1))

    @property
    def pads(self) -> tuple[int, int]:
        before = min(max(0, -self.first), self.length)
        start, stop = self.crop
        return before, self.length - before - (stop - start)

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def effective_kernel(self) -> int:
        return self.tap_offsets[-1] + 1

    @property
    def keep(self) -> slice:
        return slice(0, self.step * (self.n_out - 1) + 1, self.step)


def slab_axis(axis: AxisMap, flip: bool = False) -> SlabAxis:
    """The :class:`SlabAxis` of ``axis`` (concrete sizes); ``flip``: the layer flips its kernel."""
    n, n_out, kernel = int(axis.n), int(axis.n_out), int(axis.kernel)

    def at(o: int, k: int) -> int:
        return int(axis.input_index.subs({axis.o: o, axis.k: k}))

    first = at(0, 0)
    tap = sp.sympify(axis.tap(flip))
    return SlabAxis(n, n_out, first, at(n_out - 1, kernel - 1), tuple(at(0, k) - first for k in range(kernel)),
                    at(1, 0) - first, tuple(int(tap.subs(axis.k, k)) for k in range(kernel)))


def slab_geometry(imap: Any) -> tuple[SlabAxis, ...]:
    """One :class:`SlabAxis` per axis of an :class:`~convalg.index_map.IndexMap` (its kernel flip applied)."""
    return tuple(slab_axis(a, imap.flip_kernel) for a in imap.axes)
