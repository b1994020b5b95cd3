"""The error model: per-element bounds for convolution-like results, instead of a fixed ``allclose``.

A computed output ``ŷ`` of a convolution-like operator is accepted when, for every element,

    |ŷ - y| <= c * u * g(K) * (|w| ⋆ |x|) + floor

=============  ==================================================================
symbol         meaning
=============  ==================================================================
``y``          the float64 reference value (:mod:`convalg.reference.direct`,
               whose own error is ~K * 2**-53 relative, element by element)
``|w| ⋆ |x|``  the same operator applied to absolute values (the reference
               itself, on ``|x|``, ``|w|``, ``|b|``): the condition of the sum
``K``          terms summed per output: ``C_in/groups * prod(k)`` for conv,
               conv_transpose; ``C_out/groups * prod(k)`` for the input gradient;
               ``N * prod(out)`` for the weight and bias gradients; the window
               size (+1 for the division) for average pooling
``u``          unit roundoff of the arithmetic: :data:`UNIT_ROUNDOFF`
``g(K)``       ``K`` (``growth='strict'``, default) or ``sqrt(K)`` (``'sqrt'``)
``c``          :data:`DEFAULT_C` = 2
``floor``      ``c * g(K) * tiny(dtype)`` (products below the smallest normal
               may be flushed to zero on GPUs)
=============  ==================================================================

Why this form and these constants:

* A length-``K`` dot product summed in any order satisfies the classic worst-case
  bound ``|ŷ - y| <= γ_K (|w|·|x|)``, ``γ_K = K u / (1 - K u)`` (Higham, *Accuracy
  and Stability of Numerical Algorithms*, ch. 3).  It is element-wise and scales
  with ``|w| ⋆ |x|``, so near-cancelling outputs and wide dynamic ranges neither
  flake nor hide bugs, unlike a fixed ``rtol``/``atol``.
* ``c = 2`` covers what ``γ_K`` leaves out: rounding the output to the storage
  dtype (one more ``u |y| <= u (|w| ⋆ |x|)``), rounding the inputs inside the
  kernel (TF32 / bf16 compute: ``2u`` per product), and ``1/(1 - Ku) ~ 1``.
  With ``g(K) = K`` the bound is rigorous for any summation order;
  ``growth='sqrt'`` is the probabilistic bound (Ipsen & Zhou, arXiv:1906.10465)
  for tighter, typical-case checks.
* FFT-based kernels are accurate only norm-wise, ``‖ŷ - y‖ <= c u log2(L) ‖x‖₂ ‖w‖₁``
  (Burrus §10.8; Higham §24.1); ``algorithm='fft'`` adds that term.  Winograd
  kernels grow exponentially with the tile (Barabasz et al., arXiv:1803.10986):
  pass a larger ``c``.

``u`` for ``'bfloat16'`` and ``'tf32'`` describes the arithmetic; the storage
dtype is then float32.

>>> import numpy as np
>>> x = np.ones((1, 2, 5)); w = np.ones((3, 2, 3))
>>> b = error_bound("conv", x, w, dtype="float32")
>>> b.shape, bool(b[0, 0, 0] == 2 * 2**-24 * 6 * 6 + 2 * 6 * np.finfo(np.float32).tiny)
((1, 3, 3), True)
>>> unit_roundoff("tf32") == 2**-11
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..reference import direct

__all__ = ["UNIT_ROUNDOFF", "DEFAULT_C", "unit_roundoff", "accumulation_length", "error_bound", "model_bound",
           "default_accumulation", "compare", "Comparison", "assert_within_bound"]

#: Unit roundoff ``u = 2**-(p)`` with ``p`` the significand bits incl. the implicit one.
UNIT_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "tf32": 2.0**-11, "float32": 2.0**-24,
                 "float64": 2.0**-53}
_TINY = {"float16": float(np.finfo(np.float16).tiny), "bfloat16": float(np.finfo(np.float32).tiny),
         "tf32": float(np.finfo(np.float32).tiny), "float32": float(np.finfo(np.float32).tiny),
         "float64": float(np.finfo(np.float64).tiny)}

#: Safety factor (see the module docstring).
DEFAULT_C = 2.0

OPS = ("conv", "conv_transpose", "conv_grad_input", "conv_grad_weight", "conv_grad_bias", "avg_pool",
       "avg_pool_grad", "adaptive_avg_pool", "max_pool", "max_pool_grad")


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str) and dtype in UNIT_ROUNDOFF:
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError as e:
        raise TypeError(f"dtype={dtype!r}: expected one of {sorted(UNIT_ROUNDOFF)} or a NumPy float dtype") from e
    if name not in UNIT_ROUNDOFF:
        raise TypeError(f"dtype={dtype!r}: no error model for {name}; expected one of {sorted(UNIT_ROUNDOFF)}")
    return name


def unit_roundoff(dtype: Any) -> float:
    """Unit roundoff of a dtype or arithmetic mode (``'float16'``, ``'bfloat16'``, ``'tf32'``, ...).

    >>> unit_roundoff(np.float32)
    5.960464477539063e-08
    """
    return UNIT_ROUNDOFF[_dtype_name(dtype)]


def default_accumulation(storage: str) -> str:
    """The arithmetic assumed for sums over ``storage`` values: float32 for 16-bit storage (as cuDNN and
    PyTorch accumulate), the storage dtype otherwise.

    >>> default_accumulation("float16"), default_accumulation("float64")
    ('float32', 'float64')
    """
    return "float32" if storage in ("float16", "bfloat16") else storage


def model_bound(absval: Any, k_len: int, arithmetic: Any = "float32", storage: Any = None, growth: str = "strict",
                c: float = DEFAULT_C) -> np.ndarray:
    """``c * (u_a * g(K) + u_s) * absval + c * (g(K) * tiny_a + tiny_s)``: the error model's bound.

    ``arithmetic`` (``u_a``) is the precision the ``K`` terms are summed in,
    ``storage`` (``u_s``) the dtype the result is rounded to once at the end
    (``None``: no separate storage term, ``arithmetic`` covers it).  A float16
    result summed in float32 gets ``u_a = 2**-24`` per term plus one
    ``2**-11`` rounding; summed in float16 its error grows with ``K * 2**-11``.

    >>> float(model_bound(np.ones(1), 100, "float32", "float16")[0]) < float(model_bound(np.ones(1), 100, "float16")[0])
    True
    """
    if growth not in ("strict", "sqrt"):
        raise ValueError(f"growth={growth!r}: must be 'strict' or 'sqrt'")
    name = _dtype_name(arithmetic)
    g = float(k_len) if growth == "strict" else math.sqrt(k_len)
    u_s = tiny_s = 0.0
    if storage is not None:
        store = _dtype_name(storage)
        u_s, tiny_s = UNIT_ROUNDOFF[store], _TINY[store]
    return c * (UNIT_ROUNDOFF[name] * g + u_s) * np.asarray(absval, np.float64) + c * (g * _TINY[name] + tiny_s)


def _arr(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def accumulation_length(op: str, *args: Any, **params: Any) -> int:
    """``K``, the number of terms summed into one output element of ``op`` (see the module table).

    >>> accumulation_length("conv", np.ones((2, 4, 9, 9)), np.ones((6, 2, 3, 3)), groups=2)
    18
    """
    if op in ("conv", "conv_transpose"):
        w = _arr(args[1])
        has_bias = (len(args) > 2 and args[2] is not None) or params.get("bias") is not None
        terms = np.prod(w.shape[1:]) if op == "conv" else w.shape[0] // params.get("groups", 1) * np.prod(w.shape[2:])
        return int(terms) + int(has_bias)
    if op == "conv_grad_input":
        w = _arr(args[1])
        return int(w.shape[0] // params.get("groups", 1) * np.prod(w.shape[2:]))
    if op == "conv_grad_weight":
        g = _arr(args[1])
        return int(g.shape[0] * np.prod(g.shape[2:]))
    if op == "conv_grad_bias":
        g = _arr(args[0])
        return int(g.shape[0] * np.prod(g.shape[2:]))
    if op in ("avg_pool", "avg_pool_grad"):
        k = params["kernel_size"] if "kernel_size" in params else args[2 if op == "avg_pool_grad" else 1]
        nd = len(args[1]) - 2 if op == "avg_pool_grad" else np.ndim(args[0]) - 2
        return int(np.prod(k) if isinstance(k, Sequence) else int(k) ** nd) + 1
    if op == "adaptive_avg_pool":
        return int(np.prod(np.shape(args[0])[2:])) + 1
    if op == "max_pool":
        return 1
    if op == "max_pool_grad":
        return int(np.prod(np.shape(args[0])[2:]))
    raise ValueError(f"op={op!r}: must be one of {', '.join(OPS)}")


def _absolute(op: str, args: Sequence[Any], params: dict[str, Any]) -> np.ndarray:
    """The operator applied to absolute values (direct reference: accurate element by element)."""
    fn = getattr(direct, op)
    abs_args = [np.abs(_arr(a)) if isinstance(a, np.ndarray) else a for a in args]
    if op == "max_pool_grad":
        abs_args[1] = args[1]  # indices
    params = {k: (np.abs(_arr(v)) if k == "bias" and v is not None else v) for k, v in params.items()}
    out = fn(*abs_args, **params)
    return out[0] if isinstance(out, tuple) else out


def error_bound(op: str, *args: Any, dtype: Any = "float32", growth: str = "strict", c: float = DEFAULT_C,
                algorithm: str = "direct", storage: Any = None, **params: Any) -> np.ndarray:
    """Per-element bound on ``|computed - reference|`` for ``convalg.reference.<op>(*args, **params)``.

    ``dtype`` is the arithmetic (``'float16' | 'bfloat16' | 'tf32' | 'float32' |
    'float64'`` or a NumPy dtype); ``growth`` is ``'strict'`` (``g(K) = K``) or
    ``'sqrt'``; ``algorithm='fft'`` adds the norm-wise FFT term; ``storage``
    adds one rounding to that dtype (:func:`model_bound`).  Max pooling is
    exact: its bound is 0.

    >>> error_bound("conv", np.ones((1, 1, 4)), np.array([[[1.0, -1.0]]]), dtype="float16").round(6)
    array([[[0.00415, 0.00415, 0.00415]]])
    """
    if op not in OPS:
        raise ValueError(f"op={op!r}: must be one of {', '.join(OPS)}")
    if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) or not 0 < float(c) < math.inf:
        raise ValueError(f"c={c!r}: the safety factor must be a positive finite number")
    if growth not in ("strict", "sqrt"):
        raise ValueError(f"growth={growth!r}: must be 'strict' or 'sqrt'")
    if algorithm not in ("direct", "fft"):
        raise ValueError(f"algorithm={algorithm!r}: must be 'direct' or 'fft'")
    name = _dtype_name(dtype)
    absval = _absolute(op, args, params)
    if op == "max_pool":
        return np.zeros_like(absval)
    bound = model_bound(absval, accumulation_length(op, *args, **params), name, storage, growth, c)
    if algorithm == "fft" and op in ("conv", "conv_transpose", "conv_grad_input", "conv_grad_weight"):
        bound = bound + fft_term(_arr(args[0]), _arr(args[1]), name, c)
    return bound


def fft_term(a: np.ndarray, b: np.ndarray, arithmetic: Any = "float32", c: float = DEFAULT_C) -> float:
    """The norm-wise FFT error term ``c u log2(L) ‖a‖₂ ‖b‖₁`` for a convolution of ``a`` with ``b``."""
    log_len = sum(math.log2(max(n, 2)) for n in a.shape[2:]) + sum(math.log2(max(n, 2)) for n in b.shape[2:])
    a, b = (np.where(np.isfinite(v), v, 0.0) for v in (a, b))  # non-finite entries are compared exactly
    with np.errstate(invalid="ignore", over="ignore"):
        return c * unit_roundoff(arithmetic) * log_len * float(np.sqrt((a * a).sum()) * np.abs(b).sum())


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: where the computed values break the bound, and the worst element."""

    ok: bool
    violations: int
    worst_index: tuple[int, ...] | None
    got: float
    expected: float
    error: float
    bound: float
    worst_ratio: float
    shape_error: str | None = None

    def message(self) -> str:
        if self.shape_error:
            return self.shape_error
        where = "none" if self.worst_index is None else str(self.worst_index)
        head = "within the bound" if self.ok else f"{self.violations} element(s) outside the bound"
        return (f"{head}; worst element at index {where}: got {self.got!r}, expected {self.expected!r}, "
                f"|error| = {self.error:.3g}, bound = {self.bound:.3g} (error/bound = {self.worst_ratio:.3g})")


def _not_real(message: str) -> Comparison:
    return Comparison(False, -1, None, math.nan, math.nan, math.nan, math.nan, math.inf, message)


def compare(got: Any, expected: Any, bound: Any) -> Comparison:
    """Compare element-wise; NaN must match NaN and infinities must match exactly.

    >>> compare(np.array([1.0, 2.0]), np.array([1.0, 2.5]), np.array([0.1, 0.1])).violations
    1
    """
    expected, bound = np.asarray(expected, dtype=np.float64), np.broadcast_to(np.asarray(bound, np.float64),
                                                                              np.shape(expected))
    try:
        got = np.asarray(got)
        g = got.astype(np.float64) if got.dtype.kind in "fiubO" else None
    except (TypeError, ValueError) as e:  # ragged tuples, objects that are not numbers
        return _not_real(f"got a value that is not a real array ({type(e).__name__}: {e})")
    if g is None:  # complex, strings, ...: a real operator's result must be real
        return _not_real(f"got dtype {got.dtype}, expected real values")
    if got.shape != expected.shape:
        return _not_real(f"shape mismatch: got {got.shape}, expected {expected.shape}")
    special = ~np.isfinite(expected)  # NaN / inf expected: must be matched exactly
    matched = (g == expected) | (np.isnan(expected) & np.isnan(g))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.where(special, np.where(matched, 0.0, np.inf), np.abs(g - expected))
        err = np.where(np.isnan(err), np.inf, err)
        bad = np.where(special, ~matched, ~(err <= bound))
        ratio = np.where(err == 0, 0.0, np.where(bad & np.isinf(err), np.inf, err / bound))
    if ratio.size == 0:
        return Comparison(True, 0, None, math.nan, math.nan, 0.0, 0.0, 0.0)
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(ratio), np.inf, ratio))), ratio.shape)
    return Comparison(not bad.any(), int(bad.sum()), tuple(int(i) for i in worst), float(g[worst]),
                      float(expected[worst]), float(err[worst]), float(bound[worst]), float(ratio[worst]))


def assert_within_bound(got: Any, expected: Any, bound: Any, context: str = "") -> Comparison:
    """Raise ``AssertionError`` naming the worst element unless ``|got - expected| <= bound`` everywhere.

    >>> assert_within_bound(np.array([1.0]), np.array([1.5]), np.array([0.1]))
    Traceback (most recent call last):
    ...
    AssertionError: 1 element(s) outside the bound; worst element at index (0,): got 1.0, expected 1.5, |error| = 0.5, bound = 0.1 (error/bound = 5)
    """
    result = compare(got, expected, bound)
    if not result.ok:
        raise AssertionError((context + ": " if context else "") + result.message())
    return result

