"""Winograd / Toom-Cook minimal filtering F(m, r), derived exactly with SymPy.

F(m, r) computes ``m`` outputs of an ``r``-tap correlation
``y[i] = sum_k g[k] d[i + k]`` from ``alpha = m + r - 1`` inputs with ``alpha``
multiplications::

    y = AT @ ((G @ g) * (BT @ d))

Derivation (Toom-Cook, then the transposition principle).  Evaluate
polynomials at ``alpha - 1`` finite rational points and at infinity (the
leading coefficient); ``V_n`` is the ``alpha x n`` evaluation matrix for
polynomials with ``n`` coefficients.  The linear convolution ``c = g * h``
(``h`` of length ``m``) is ``c = V_alpha^{-1} ((V_r g) * (V_m h))``; the
correlation is its transpose in ``h``, so

=========  ==========================================================
matrix     value
=========  ==========================================================
``AT``     ``V_m^T``                                  (``m x alpha``)
``G``      ``V_r``, rows divided by the scale ``s``   (``alpha x r``)
``BT``     ``V_alpha^{-T}``, rows multiplied by ``s`` (``alpha x alpha``)
=========  ==========================================================

where ``s_j`` is the least common denominator of row ``j`` of
``V_alpha^{-T}`` (so ``BT`` is an integer matrix and the fractions live in
``G``, which is applied once to the weights).  All entries are exact
``Rational``; :func:`verify_winograd` checks the identity symbolically.

Default points (``alpha - 1`` of them, taken in this order):
``0, 1, -1, 1/2, -1/2, 2, -2, 1/4, -1/4, 4, -4`` (small magnitudes and
reciprocal pairs keep the float32 error low; see :mod:`convalg.kernels.numpy.winograd`).

>>> AT, G, BT = winograd_matrices(2, 3)
>>> AT
Matrix([
[1, 1,  1, 0],
[0, 1, -1, 1]])
>>> BT
Matrix([
[1,  0, -1, 0],
[0,  1,  1, 0],
[0, -1,  1, 0],
[0, -1,  0, 1]])
>>> G
Matrix([
[  1,    0,   0],
[1/2,  1/2, 1/2],
[1/2, -1/2, 1/2],
[  0,    0,   1]])
>>> verify_winograd(4, 3)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import sympy as sp

from ..checks import check_int
from ..errors import SpecError

__all__ = ["winograd_matrices", "verify_winograd", "DEFAULT_POINTS", "evaluation_matrix"]

DEFAULT_POINTS: tuple[sp.Rational, ...] = tuple(
    sp.Rational(p) for p in ("0", "1", "-1", "1/2", "-1/2", "2", "-2", "1/4", "-1/4", "4", "-4")
)


def evaluation_matrix(points: Sequence[sp.Rational], n: int) -> sp.Matrix:
    """Rows ``[a^0, ..., a^(n-1)]`` per finite point ``a``, then ``[0, ..., 0, 1]`` (infinity).

    >>> evaluation_matrix([0, 1], 2)
    Matrix([
    [1, 0],
    [1, 1],
    [0, 1]])
    """
    rows = [[sp.Rational(a) ** j for j in range(n)] for a in points]
    rows.append([0] * (n - 1) + [1])
    return sp.Matrix(rows)


@lru_cache(maxsize=64)
def _matrices(m: int, r: int, points: tuple[sp.Rational, ...]) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    alpha = m + r - 1
    AT = evaluation_matrix(points, m).T
    G = evaluation_matrix(points, r)
    BT = evaluation_matrix(points, alpha).inv(method="LU").T
    for j in range(alpha):
        scale = sp.ilcm(*[sp.Rational(v).q for v in BT.row(j)]) if alpha > 1 else 1
        BT[j, :] = BT.row(j) * scale
        G[j, :] = G.row(j) / scale
    return AT, G, BT


def winograd_matrices(m: int, r: int, points: Sequence[object] | None = None) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """Exact ``(AT, G, BT)`` for F(m, r) from ``m + r - 2`` distinct rational points (plus infinity).

    Raises :class:`~convalg.SpecError` for ``m, r < 1``, a wrong number of
    points, repeated points or non-rational (float) points.
    """
    m, r = check_int("m", m, minimum=1), check_int("r", r, minimum=1)
    count = m + r - 2
    if points is None:
        if count > len(DEFAULT_POINTS):
            raise SpecError(f"F({m}, {r}): needs {count} points, more than the {len(DEFAULT_POINTS)} defaults; "
                            "pass points= (and expect a large float32 error)")
        pts = DEFAULT_POINTS[:count]
    else:
        pts = []
        for p in points:
            if isinstance(p, float):
                raise SpecError(f"points: {p!r} is a float; pass exact rationals (int, 'p/q' or sympy.Rational)")
            pts.append(sp.Rational(p))
        pts = tuple(pts)
        if len(pts) != count:
            raise SpecError(f"points: F({m}, {r}) needs exactly m + r - 2 = {count} finite points, got {len(pts)}")
        if len(set(pts)) != len(pts):
            raise SpecError(f"points={list(map(str, pts))}: must be distinct")
    AT, G, BT = _matrices(m, r, tuple(pts))
    return AT.copy(), G.copy(), BT.copy()


def verify_winograd(m: int, r: int, points: Sequence[object] | None = None) -> bool:
    """Check symbolically that ``AT[(G g) * (BT d)]`` equals ``y[i] = sum_k g[k] d[i+k]``.

    >>> verify_winograd(2, 3), verify_winograd(6, 3), verify_winograd(3, 2, points=[0, 1, 3])
    (True, True, True)
    """
    AT, G, BT = winograd_matrices(m, r, points)
    alpha = m + r - 1
    g = sp.Matrix(sp.symbols(f"g0:{r}"))
    d = sp.Matrix(sp.symbols(f"d0:{alpha}"))
    y = AT * (G * g).multiply_elementwise(BT * d)
    direct = sp.Matrix([sum(g[k] * d[i + k] for k in range(r)) for i in range(m)])
    return all(sp.expand(a - b) == 0 for a, b in zip(y, direct))
