"""Per-axis size rules: the single source of every output-size formula.

Every function works on Python ints (and returns an int) or on SymPy
expressions (and returns a SymPy expression).  Notation, per spatial axis:
``n`` input size, ``k`` kernel size, ``s`` stride, ``d`` dilation,
``lo``/``hi`` padding before/after, ``op`` output padding.  Sources: PyTorch
``aten/src/ATen/native/Pool.h`` and ``ConvUtils.h``; every rule is cross-checked against
PyTorch in ``tests/spec/test_torch_sizes.py``.

=========================  ==================================================
rule                       formula
=========================  ==================================================
effective kernel           ``d*(k-1) + 1``
conv                       ``floor((n + lo + hi - d*(k-1) - 1)/s) + 1``
conv transpose             ``(n-1)*s - lo - hi + d*(k-1) + op + 1``
pool, floor mode           as conv
pool, ceil mode            ``ceil((n + lo + hi - d*(k-1) - 1)/s) + 1``, minus
                           one if the last window would start in the right
                           padding, i.e. if ``(o-1)*s >= n + lo``
adaptive window ``i``      ``[floor(i*n/o), ceil((i+1)*n/o))``
=========================  ==================================================

>>> conv_output_size(224, 7, s=2, lo=3, hi=3)
112
>>> import sympy as sp
>>> H = sp.Symbol("H", integer=True, positive=True)
>>> conv_output_size(H, 3, s=2, lo=1, hi=1)
floor(H/2 - 1/2) + 1
>>> pool_output_size(32, 1, s=2, ceil_mode=True)   # pytorch#57178
16
"""

from __future__ import annotations

from typing import Union

import sympy as sp

from .simplify import collapse_floors

__all__ = [
    "Size",
    "as_size",
    "effective_kernel",
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "adaptive_window",
    "same_padding",
    "size_ok",
    "padding_depends_on_size",
]

#: An axis size: a concrete ``int`` or a SymPy expression.
Size = Union[int, sp.Expr]


def as_size(value: object) -> Size:
    """Return ``value`` as an ``int`` when it is an integer, else as a SymPy expression."""
    e = sp.sympify(value)
    if e.is_Integer:
        return int(e)
    return e


def effective_kernel(k: Size, d: Size = 1) -> Size:
    """Span of a dilated kernel, ``d*(k-1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return as_size(d * (k - 1) + 1)


def _ints(*values: object) -> bool:
    return all(type(v) is int for v in values)


def _rounded_div(func: type, num: sp.Expr, s: Size) -> sp.Expr:
    if s == 1 and num.is_integer:
        return num
    if num.has(sp.floor, sp.ceiling, sp.Mod):
        # a size of a size (stacks): collapse the nest first, SymPy's own evaluation of the nest is slow
        # (bignum assumptions: a 300-layer strided stack took 3.5 s instead of 1.4 s); size-dependent
        # pads (TF 'SAME') bring a Mod that collapse_floors folds into the floor
        e = collapse_floors(func(num / s, evaluate=False))
        return func(e.args[0]) if isinstance(e, func) else e
    return func(num / s)


def _floor_div(num: sp.Expr, s: Size) -> sp.Expr:
    """``floor(num / s)``, skipping SymPy's (slow) floor evaluation when ``s == 1`` and ``num`` is an integer."""
    return _rounded_div(sp.floor, num, s)


def _ceil_div(num: sp.Expr, s: Size) -> sp.Expr:
    """``ceiling(num / s)``, with the same shortcut as :func:`_floor_div`."""
    return _rounded_div(sp.ceiling, num, s)


def conv_output_size(n: Size, k: Size, s: Size = 1, d: Size = 1, lo: Size = 0, hi: Size = 0) -> Size:
    """Output size of a convolution (PyTorch ``Conv*d``).

    >>> conv_output_size(5, 3, lo=1, hi=1)
    5
    """
    if _ints(n, k, s, d, lo, hi):  # fast path, same rule in integer arithmetic
        return (n + lo + hi - d * (k - 1) - 1) // s + 1  # type: ignore[operator]
    return as_size(_floor_div(sp.sympify(n + lo + hi - d * (k - 1) - 1), s) + 1)


def conv_transpose_output_size(
    n: Size, k: Size, s: Size = 1, d: Size = 1, lo: Size = 0, hi: Size = 0, op: Size = 0
) -> Size:
    """Output size of a transposed convolution (PyTorch ``ConvTranspose*d``).

    >>> conv_transpose_output_size(4, 3, s=2, lo=1, hi=1, op=1)
    8
    """
    if _ints(n, k, s, d, lo, hi, op):
        return (n - 1) * s - lo - hi + d * (k - 1) + op + 1  # type: ignore[operator]
    return as_size((n - 1) * s - lo - hi + d * (k - 1) + op + 1)


def pool_output_size(
    n: Size, k: Size, s: Size, d: Size = 1, lo: Size = 0, hi: Size = 0, ceil_mode: bool = False
) -> Size:
    """Output size of max / average pooling (PyTorch ``pooling_output_shape_pad_lr``).

    In ceil mode the last window must start inside the input or the left
    padding; a window that would start in the right padding is dropped.

    >>> pool_output_size(6, 2, 2, ceil_mode=True), pool_output_size(5, 2, 2, ceil_mode=True)
    (3, 3)
    """
    if _ints(n, k, s, d, lo, hi):  # fast path, same rule in integer arithmetic
        num_int = n + lo + hi - d * (k - 1) - 1  # type: ignore[operator]
        if not ceil_mode:
            return num_int // s + 1  # type: ignore[operator]
        o_int = -(-num_int // s) + 1  # type: ignore[operator]
        return o_int - 1 if (o_int - 1) * s >= n + lo else o_int  # type: ignore[operator]
    num = sp.sympify(n + lo + hi - d * (k - 1) - 1)
    if not ceil_mode:
        return as_size(_floor_div(num, s) + 1)
    o = _ceil_div(num, s) + 1
    # (o-1)*s <= num + s - 1, so no window can start in the right padding when hi + s <= d*(k-1) + 1
    if sp.Le(sp.sympify(hi + s), d * (k - 1) + 1) is sp.true:
        return as_size(o)
    dropped = sp.Ge((o - 1) * s, n + lo)
    if dropped is sp.true:
        return as_size(o - 1)
    if dropped is sp.false:
        return as_size(o)
    return sp.Piecewise((o - 1, dropped), (o, True))


def adaptive_window(i: Size, n: Size, o: Size) -> tuple[Size, Size]:
    """Half-open input window ``[start, end)`` of adaptive-pool output ``i``.

    >>> [adaptive_window(i, 5, 3) for i in range(3)]
    [(0, 2), (1, 4), (3, 5)]
    """
    return as_size(sp.floor(sp.sympify(i * n) / o)), as_size(sp.ceiling(sp.sympify((i + 1) * n) / o))


def same_padding(k: Size, d: Size = 1) -> tuple[Size, Size]:
    """PyTorch ``padding='same'`` split at stride 1: total ``d*(k-1)``, extra on the end.

    >>> same_padding(4), same_padding(3, 2)
    ((1, 2), (2, 2))
    """
    total = sp.sympify(d * (k - 1))
    lo = sp.floor(total / 2)
    return as_size(lo), as_size(total - lo)


def size_ok(value: Size) -> bool | None:
    """``True`` if a size is known to be >= 1, ``False`` if known not to be, else ``None``."""
    if isinstance(value, int):
        return value >= 1
    rel = sp.Ge(value, 1)
    return True if rel is sp.true else False if rel is sp.false else None


def padding_depends_on_size(pairs: tuple[tuple[Size, Size], ...]) -> bool:
    """Whether some ``(lo, hi)`` padding entry is an expression in the input size (TF / ONNX ``SAME``).

    >>> padding_depends_on_size(((1, 1), (0, sp.Symbol("n") % 2)))
    True
    """
    return any(not isinstance(p, int) for pair in pairs for p in pair)
