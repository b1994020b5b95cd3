"""The affine index relation of one spatial axis, and everything derived from it.

For convolution, pooling and (read backwards) transposed convolution, output
index ``o``, kernel tap ``k`` and input index ``i`` are related by::

    i = s*o - lo + d*k                      valid iff 0 <= i < n

Everything a kernel generator needs is *derived* here from that one relation
with SymPy (``solve`` for the inverse, the bounds of the inequalities for the
tap ranges), never written again by a backend:

==========================  =====================================================
derived quantity            expression
==========================  =====================================================
``input_index``             ``s*o - lo + d*k``
``valid``                   ``0 <= input_index < n``
``padded_index(mode)``      ``input_index`` folded into ``[0, n)`` (circular /
                            reflect / replicate)
``gather_output``           ``o = (i + lo - d*k)/s``  (solved for ``o``)
``gather_condition``        ``(i + lo - d*k) mod s == 0`` and ``0 <= o < n_out``
``tap_output_range(k)``     outputs ``[o0, o1)`` whose tap ``k`` reads inside
                            ``[0, n)``: ``o0 = max(0, ceil((lo - d*k)/s))``,
                            ``o1 = min(n_out, floor((n - 1 + lo - d*k)/s) + 1)``
``window_size(include)``    average-pool divisor factor of output ``o``
``gather_index``            ``gather_output`` rounded down: integer arithmetic,
                            equal to ``gather_output`` where ``gather_condition``
                            holds (what a kernel prints)
``tap_for_weight(w)``       the tap ``k`` whose weight index ``tap(k)`` is ``w``
                            (solved; ``tap`` is an involution)
``effective_kernel``        span of the dilated kernel, ``d*(K-1) + 1``
==========================  =====================================================

All fields may be ints or SymPy expressions, so the same object serves the
kernel printers (concrete sizes) and the proofs (every parameter a symbol).

>>> m = AxisMap(n=5, n_out=3, kernel=3, stride=2, dilation=1, lo=1, hi=1)
>>> m.input_index
k0 + 2*o0 - 1
>>> m.gather_output
i0/2 - k0/2 + 1/2
>>> [m.tap_output_range(k) for k in range(3)]
[(1, 3), (0, 3), (0, 2)]
>>> m.gather_index, m.tap_for_weight(sp.Symbol("w0"), flip=True), m.effective_kernel
(floor(i0/2 - k0/2 + 1/2), 2 - w0, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..shapes.formulas import effective_kernel
from ..vocabulary import PADDING_MODES as _PAD_MODES

__all__ = ["AxisMap", "AdaptiveAxisMap", "Index", "fold_index", "effective_kernel"]

Index = Union[int, sp.Expr]


def _int_poly(e: sp.Expr, x: sp.Symbol, values: np.ndarray) -> np.ndarray:
    """An integer polynomial in ``x`` evaluated exactly at int64 ``values`` (Horner)."""
    out = np.zeros(values.shape, dtype=np.int64)
    for c in sp.Poly(e, x).all_coeffs():
        out = out * values + int(c)
    return out


def _eval(e: sp.Expr) -> Index:
    e = sp.sympify(e)
    return int(e) if e.is_Integer else e


@dataclass(frozen=True)
class AxisMap:
    """``i = stride*o - lo + dilation*k`` on spatial axis ``axis``.

    ``n`` is the size of the ``i`` side (the conv input), ``n_out`` the size
    of the ``o`` side (the conv output).  For a transposed convolution the
    same relation is read backwards: its input is indexed by ``o`` and its
    output by ``i`` (see :class:`convalg.index_map.IndexMap`).
    """

    n: Index
    n_out: Index
    kernel: Index
    stride: Index = 1
    dilation: Index = 1
    lo: Index = 0
    hi: Index = 0
    axis: int = 0
    o: sp.Symbol = field(default=None, compare=False)  # type: ignore[assignment]
    k: sp.Symbol = field(default=None, compare=False)  # type: ignore[assignment]
    i: sp.Symbol = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("o", "k", "i"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, sp.Symbol(f"{name}{self.axis}", integer=True))

    @classmethod
    def symbolic(cls, axis: int = 0) -> AxisMap:
        """A map with every size and parameter a SymPy symbol (for proofs)."""
        pos = dict(integer=True, positive=True)
        n, n_out, kernel, s, d = sp.symbols(f"n{axis} m{axis} K{axis} s{axis} d{axis}", **pos)
        lo, hi = sp.symbols(f"lo{axis} hi{axis}", integer=True, nonnegative=True)
        return cls(n, n_out, kernel, s, d, lo, hi, axis)

    # -- forward (scatter-free) form -------------------------------------------------------
    @property
    def input_index(self) -> sp.Expr:
        """``i`` as a function of ``o`` and ``k``."""
        return self.stride * self.o - self.lo + self.dilation * self.k

    @property
    def valid(self) -> sp.Basic:
        """Whether ``input_index`` lies inside the input, ``0 <= i < n``."""
        e = self.input_index
        return sp.And(sp.Ge(e, 0), sp.Lt(e, self.n))

    def padded_index(self, mode: str = "zeros") -> sp.Expr:
        """``input_index`` folded back into ``[0, n)`` by a padding mode.

        ``zeros`` returns the raw index (guard it with :attr:`valid`);
        ``circular`` wraps (``i mod n``); ``reflect`` mirrors without repeating
        the edge (valid while pads < n); ``replicate`` clamps.
        """
        if mode not in _PAD_MODES:
            raise SpecError(f"padding_mode={mode!r}: must be one of {', '.join(map(repr, _PAD_MODES))}")
        return fold_index(self.input_index, self.n, mode)

    def tap(self, flip: bool = False) -> sp.Expr:
        """The weight index used at tap ``k``: ``k``, or ``K-1-k`` for true convolution."""
        return self.kernel - 1 - self.k if flip else self.k

    def tap_for_weight(self, weight_index: Index, flip: bool = False) -> sp.Expr:
        """The tap ``k`` that reads weight index ``weight_index`` (:meth:`tap` solved for ``k``).

        A kernel that owns one stored weight element (the weight-gradient passes) walks the
        relation from that element back to its tap.
        """
        (k,) = sp.solve(sp.Eq(self.tap(flip), weight_index), self.k)
        return k

    @property
    def effective_kernel(self) -> Index:
        """Span of the dilated kernel on the ``i`` side, ``d*(K-1) + 1`` (the FFT frames' filter length)."""
        return effective_kernel(self.kernel, self.dilation)

    # -- inverse (gather) form ------------------------------------------------------------------
    @property
    def gather_output(self) -> sp.Expr:
        """``o`` solved from ``i = s*o - lo + d*k`` (meaningful when the division is exact)."""
        return self._solve_o(self.i)

    @property
    def gather_condition(self) -> sp.Basic:
        """Whether input ``i`` is reached from a real output ``o`` through tap ``k``."""
        return self._gather_condition(self.gather_output)

    @property
    def gather_index(self) -> sp.Expr:
        """:attr:`gather_output` as integer arithmetic: its floor (left unevaluated, so printers see the one
        division).  Equal to ``gather_output`` wherever :attr:`gather_condition` holds."""
        return sp.floor(self.gather_output, evaluate=False)

    @property
    def gather_index_condition(self) -> sp.Basic:
        """:attr:`gather_condition` in integer arithmetic (the bounds on :attr:`gather_index`; equivalent, since
        ``floor(x) >= 0`` iff ``x >= 0`` and ``floor(x) < m`` iff ``x < m`` for integer ``m``)."""
        return self._gather_condition(self.gather_index)

    def _gather_condition(self, o: sp.Expr) -> sp.Basic:
        num, den = sp.fraction(sp.together(self.gather_output))
        return sp.And(sp.Eq(sp.Mod(num, den), 0), sp.Ge(o, 0), sp.Lt(o, self.n_out))

    def _solve_o(self, at: Index) -> sp.Expr:
        # solve over the rationals: with the integer assumption on ``o`` SymPy returns no
        # solution when the bound is not an integer (e.g. stride 2, dilation 2)
        expr = sp.expand(self.input_index)
        slope = expr.coeff(self.o)
        if slope != 0 and not sp.diff(slope, self.o).has(self.o):  # linear in o: one division, no solver
            return sp.expand((at - expr.subs(self.o, 0)) / slope)
        real_o = sp.Dummy("o")
        (sol,) = sp.solve(sp.Eq(self.input_index.subs(self.o, real_o), at), real_o)
        return sol

    def _bound(self, at: Index) -> sp.Expr:
        return self._solve_o(at)

    def tap_output_range(self, k: Index | None = None) -> tuple[Index, Index]:
        """Half-open range ``[o0, o1)`` of outputs whose tap ``k`` reads inside ``[0, n)``.

        Derived from the inequalities ``0 <= s*o - lo + d*k <= n - 1``.
        """
        first, last = sp.ceiling(self._bound(0)), sp.floor(self._bound(self.n - 1)) + 1
        if k is not None:
            first, last = first.subs(self.k, k), last.subs(self.k, k)
        return _eval(sp.Max(first, 0)), _eval(sp.Min(last, self.n_out))

    def tap_input_start(self, k: Index | None = None) -> Index:
        """The input index read by the first output of :meth:`tap_output_range` (step: ``stride``)."""
        o0, _ = self.tap_output_range(k)
        e = self.input_index.subs(self.o, o0)
        return _eval(e if k is None else e.subs(self.k, k))

    def gather_output_range(self, k: Index | None = None) -> tuple[Index, Index]:
        """Half-open range of input indices ``i`` reached by some output through tap ``k``."""
        o0, o1 = self.tap_output_range(k)
        start = self.input_index.subs(self.o, o0)
        stop = self.input_index.subs(self.o, o1 - 1) + 1
        if k is not None:
            start, stop = start.subs(self.k, k), stop.subs(self.k, k)
        return _eval(start), _eval(sp.Max(stop, start))

    # -- pooling windows --------------------------------------------------------------------------
    @property
    def window_start(self) -> sp.Expr:
        """First (padded) input index of window ``o``: ``s*o - lo``."""
        return self.input_index.subs(self.k, 0)

    def window_size(self, count_include_pad: bool) -> sp.Expr:
        """Average-pool divisor factor of window ``o`` (PyTorch's CPU rule, dilation 1).

        ``count_include_pad``: ``min(start + K, n + hi) - start`` (padding
        counts, the ceil-mode overhang does not); else the taps inside the input,
        ``min(start + K, n) - max(start, 0)``.
        """
        start = self.window_start
        if count_include_pad:
            return sp.Min(start + self.kernel, self.n + self.hi) - start
        return sp.Min(start + self.kernel, self.n) - sp.Max(start, 0)

    def at(self, **values: Index) -> AxisMap:
        """A copy with fields replaced (e.g. concrete sizes)."""
        kw = {f: getattr(self, f) for f in ("n", "n_out", "kernel", "stride", "dilation", "lo", "hi", "axis")}
        kw.update(values)
        return AxisMap(**kw)


def fold_index(i: sp.Expr, n: Index, mode: str) -> sp.Expr:
    """Map a possibly out-of-range index into ``[0, n)`` by a padding mode (``zeros``: unchanged).

    >>> i = sp.Symbol("i", integer=True)
    >>> [fold_index(i, 4, mode).subs(i, -1) for mode in ("circular", "replicate", "reflect")]
    [3, 0, 1]
    """
    if mode == "zeros":
        return i
    if mode == "circular":
        return sp.Mod(i, n)
    if mode == "replicate":
        return sp.Min(sp.Max(i, 0), n - 1)
    # reflect (edge not repeated): -i below 0, 2(n-1) - i above n-1
    return sp.Piecewise((-i, sp.Lt(i, 0)), (2 * (n - 1) - i, sp.Ge(i, n)), (i, True))


@dataclass(frozen=True)
class AdaptiveAxisMap:
    """Adaptive pooling on one axis: output ``o`` reads ``[floor(o*n/m), ceil((o+1)*n/m))``.

    ``i = window_start + k`` for ``0 <= k < window_end - window_start``.

    >>> m = AdaptiveAxisMap(n=5, n_out=3)
    >>> [(m.start(o), m.stop(o)) for o in range(3)], m.max_window
    ([(0, 2), (1, 4), (3, 5)], 3)
    """

    n: Index
    n_out: Index
    axis: int = 0
    o: sp.Symbol = field(default=None, compare=False)  # type: ignore[assignment]
    k: sp.Symbol = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("o", "k"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, sp.Symbol(f"{name}{self.axis}", integer=True))

    @property
    def window_start(self) -> sp.Expr:
        return sp.floor(self.o * self.n / self.n_out)

    @property
    def window_end(self) -> sp.Expr:
        return sp.ceiling((self.o + 1) * self.n / self.n_out)

    @property
    def input_index(self) -> sp.Expr:
        return self.window_start + self.k

    @property
    def valid(self) -> sp.Basic:
        return sp.Lt(self.k, self.window_end - self.window_start)

    def start(self, o: Index) -> Index:
        return _eval(self.window_start.subs(self.o, o))

    def stop(self, o: Index) -> Index:
        return _eval(self.window_end.subs(self.o, o))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(window_start, window_end)`` at every output ``o`` as int64 arrays (concrete sizes only).

        Evaluated from the two expressions in exact integer arithmetic (the
        floor / ceiling of ``p(o)/q`` as ``p // q``), vectorised over ``o``:

        >>> AdaptiveAxisMap(n=7, n_out=6).bounds()[1]          # float division would give ceil(7.000000000000001)
        array([2, 3, 4, 5, 6, 7])
        """
        if not (isinstance(self.n, int) and isinstance(self.n_out, int)):
            raise SpecError("bounds: needs concrete sizes")
        o = np.arange(self.n_out, dtype=np.int64)
        out = []
        for expr in (self.window_start, self.window_end):
            rounded = isinstance(expr, (sp.floor, sp.ceiling))
            num, den = sp.fraction(sp.together(expr.args[0] if rounded else expr))
            p, q = (_int_poly(e, self.o, o) for e in (num, den))
            out.append(-(-p // q) if isinstance(expr, sp.ceiling) else p // q)
        return out[0], out[1]

    @property
    def max_window(self) -> int:
        """Largest window (concrete sizes only)."""
        if not (isinstance(self.n, int) and isinstance(self.n_out, int)):
            raise SpecError("max_window: needs concrete sizes")
        start, stop = self.bounds()
        return int((stop - start).max())
