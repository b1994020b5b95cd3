"""Argument validation shared by the layer specifications and the stages that take sizes or layers.

Each checker either returns the normalised value or raises :class:`SpecError`
naming the parameter, the value and the rule.  This module sits below every
stage (it imports only :mod:`convalg.errors`), so any of them may use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import sympy as sp

from .errors import SpecError

__all__ = ["check_int", "as_shape", "per_axis", "infer_ndim", "check_choice", "check_bool", "check_ndim", "is_sequence",
           "check_spatial", "MAX_NDIM"]

#: Largest number of spatial dims a layer accepts (a guard against absurd ``ndim`` values).
MAX_NDIM = 64


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise ``SpecError``.

    Accepts Python / NumPy / SymPy integers; rejects bools, floats (even
    integral ones), NaN, strings and everything else.
    """
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{name}={value!r}: must be an integer")
    if isinstance(value, sp.Basic):
        if not value.is_Integer:
            raise SpecError(f"{name}={value!r}: must be a concrete integer")
        value = int(value)
    elif isinstance(value, numbers.Integral):
        value = int(value)
    else:
        if isinstance(value, float) and math.isnan(value):
            raise SpecError(f"{name}=nan: must be an integer")
        raise SpecError(f"{name}={value!r}: must be an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        rule = {1: "a positive integer (>= 1)", 0: "a non-negative integer (>= 0)"}.get(
            minimum, f"an integer >= {minimum}"
        )
        raise SpecError(f"{name}={value}: must be {rule}")
    return value


def is_sequence(value: Any) -> bool:
    """True for tuples / lists (per-axis arguments); False for strings, scalars, arrays and junk."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


_is_seq = is_sequence


def infer_ndim(ndim: Any, **tuple_args: Any) -> int | None:
    """Infer the number of spatial dims from tuple arguments and/or ``ndim``.

    Returns ``None`` when every argument is a scalar and ``ndim`` is not given
    (the layer then applies to any number of dimensions).
    """
    found: dict[str, int] = {k: len(v) for k, v in tuple_args.items() if _is_seq(v)}
    if ndim is not None:
        ndim = check_ndim(ndim)
    lengths = set(found.values())
    if ndim is not None:
        for k, n in found.items():
            if n != ndim:
                raise SpecError(f"{k}={tuple_args[k]!r}: has {n} entries but ndim={ndim}")
        return ndim
    if len(lengths) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in found.items())
        raise SpecError(f"tuple arguments disagree on the number of spatial dims ({desc})")
    if lengths:
        n = lengths.pop()
        if n == 0:
            raise SpecError(f"{next(iter(found))}=(): needs at least one spatial dim")
        return n
    return None


def check_ndim(ndim: Any) -> int:
    """``ndim`` as an int in ``[1, MAX_NDIM]``."""
    ndim = check_int("ndim", ndim, minimum=1)
    if ndim > MAX_NDIM:
        raise SpecError(f"ndim={ndim}: must be at most {MAX_NDIM} spatial dims")
    return ndim


def per_axis(name: str, value: Any, ndim: int | None, *, minimum: int | None = None) -> tuple[int, ...]:
    """Expand a scalar or tuple argument to one int per axis (one entry if ``ndim`` is None)."""
    count = 1 if ndim is None else ndim
    if _is_seq(value):
        if len(value) != count:
            raise SpecError(f"{name}={tuple(value)!r}: has {len(value)} entries but ndim={ndim}")
        return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum=minimum),) * count


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``choices``, else ``SpecError``."""
    if not isinstance(value, str) or value not in choices:
        raise SpecError(f"{name}={value!r}: must be one of {', '.join(map(repr, choices))}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool``: accepts ``True``/``False`` and NumPy booleans only (not 0/1)."""
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_" and getattr(value, "shape", None) == ():  # NumPy scalar bool
        return bool(value)
    raise SpecError(f"{name}={value!r}: must be True or False")


def as_shape(name: str, shape: Any, ndim: int | None = None) -> tuple[int, ...]:
    """``shape`` (e.g. ``input_shape``) as a tuple of non-negative ints, of length ``ndim`` when given.

    >>> as_shape("input_shape", (2, 3.0))
    Traceback (most recent call last):
    ...
    convalg.errors.SpecError: input_shape[1]=3.0: must be an integer, got float
    """
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or getattr(shape, "ndim", 1) == 0:
        raise SpecError(f"{name}={shape!r}: must be a tuple of integers")
    out = tuple(check_int(f"{name}[{i}]", v, minimum=0) for i, v in enumerate(shape))
    if ndim is not None and len(out) != ndim:
        raise SpecError(f"{name}={out}: must have {ndim} entries")
    return out


def check_spatial(spatial: Any, ndim: int | None, name: str = "input") -> tuple[int | sp.Expr, ...]:
    """Validate a spatial size tuple: positive ints or positive-integer SymPy expressions.

    >>> check_spatial((4, 5), 2)
    (4, 5)
    >>> check_spatial((0,), None)
    Traceback (most recent call last):
    ...
    convalg.errors.SpecError: input[0]=0: a size must be >= 1
    """
    if isinstance(spatial, (int, sp.Expr)) and not isinstance(spatial, bool):
        spatial = (spatial,)
    if not isinstance(spatial, Sequence) or isinstance(spatial, (str, bytes)):
        raise SpecError(f"{name}={spatial!r}: must be a tuple of spatial sizes (ints or SymPy expressions)")
    out: list[int | sp.Expr] = []
    for i, n in enumerate(spatial):
        if isinstance(n, bool):
            raise SpecError(f"{name}[{i}]={n!r}: a size must be an integer or a SymPy expression, not a bool")
        if isinstance(n, sp.Basic):
            if not isinstance(n, sp.Expr) or n.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                raise SpecError(f"{name}[{i}]={n}: a symbolic size must be a finite integer expression")
            if n.is_Integer:
                n = int(n)
            elif n.is_integer is False or n.is_positive is False or n.is_finite is False:
                raise SpecError(f"{name}[{i}]={n}: a symbolic size must be a positive integer expression")
        elif isinstance(n, numbers.Integral):
            n = int(n)
        else:
            raise SpecError(f"{name}[{i}]={n!r}: a size must be an integer or a SymPy expression, "
                            f"got {type(n).__name__}")
        if isinstance(n, int) and n < 1:
            raise SpecError(f"{name}[{i}]={n}: a size must be >= 1")
        out.append(n)
    if not out:
        raise SpecError(f"{name}=(): needs at least one spatial size")
    if ndim is not None and len(out) != ndim:
        raise SpecError(f"{name}={tuple(spatial)!r}: has {len(out)} spatial sizes but the layer has ndim={ndim}")
    return tuple(out)
