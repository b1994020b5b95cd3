r"""Winograd / Toom-Cook minimal filtering, for the F(m, r) the library's kernels use.

``winograd`` (bounded: every tile of ``convalg.kernels.numpy.winograd.DEFAULT_TILE``)
    With ``(AT, G, BT) = winograd_matrices(m, r)`` (exact rationals) and
    symbolic ``g`` (``r`` taps), ``d`` (``m + r - 1`` inputs):
    ``AT [(G g) ⊙ (BT d)] = y``, ``y[i] = Σ_k g[k] d[i + k]`` (``i < m``), the
    direct correlation; and the nested 2-D form
    ``AT [(G g G^T) ⊙ (BT d B)] A = y2``, ``y2[i, j] = Σ_{k,l} g[k, l] d[i+k, j+l]``
    (both sides are linear in ``d``: proved on every basis input ``d = E_pq`` with ``g`` symbolic).
    Scope: the finitely many ``F(m, r)`` used (each is one polynomial identity
    in ``g`` and ``d``, proved exactly), plus ``F(2, 3)`` and ``F(6, 3)``; the 2-D nested form for
    every used tile with ``m + r - 1 <= bound + 1`` and always for ``F(4x4, 3x3)`` (the 3x3 kernels' tile).
"""

from __future__ import annotations

import importlib
import itertools

import sympy as sp

from ._core import Cases, MissingDependency, same_matrix, theorem

__all__ = ["check_winograd", "used_tiles"]


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise MissingDependency(f"{name} is not importable ({e})") from e


def used_tiles() -> list[tuple[int, int]]:
    """``(m, r)`` pairs the NumPy Winograd kernel uses (``DEFAULT_TILE``: ``r -> m``)."""
    tiles = getattr(_module("convalg.kernels.numpy.winograd"), "DEFAULT_TILE", None)
    if not tiles:
        raise MissingDependency("convalg.kernels.numpy.winograd.DEFAULT_TILE is missing")
    return sorted({(m, r) for r, m in tiles.items()} | {(2, 3), (6, 3)}, key=lambda t: (t[1], t[0]))


def check_winograd(bound: int, correlation: bool = True) -> Cases:
    """``correlation=False`` is the false variant: the transforms compute a true (flipped) convolution."""
    winograd_matrices = getattr(_module("convalg.operators.winograd"), "winograd_matrices", None)
    if winograd_matrices is None:
        raise MissingDependency("convalg.operators.winograd.winograd_matrices is missing")
    cases = Cases()
    tiles = used_tiles()
    for m, r in tiles:
        AT, G, BT = winograd_matrices(m, r)
        for mat_ in (AT, G, BT):
            if not all(isinstance(v, sp.Rational) for v in mat_):
                raise AssertionError(f"F({m}, {r}): transform entries are not exact rationals")
        alpha = m + r - 1
        g = sp.Matrix(sp.symbols(f"g0:{r}"))
        d = sp.Matrix(sp.symbols(f"d0:{alpha}"))
        y = AT * (G * g).multiply_elementwise(BT * d)
        direct = sp.Matrix([sum(g[k if correlation else r - 1 - k] * d[i + k] for k in range(r)) for i in range(m)])
        same_matrix(y.applyfunc(sp.expand), direct, f"F({m}, {r})")
        cases.add("1-D tiles")
        if alpha <= bound + 1 or (m, r) == (4, 3):  # nested 2-D form F(m x m, r x r) (its expansion is slow: bounded)
            # y2 is linear in d (d enters once, through BT d B): prove it on the basis d = E_pq, g symbolic
            g2 = sp.Matrix(r, r, lambda i, j: sp.Symbol(f"g{i}_{j}"))
            M = G * g2 * G.T
            for p, q in itertools.product(range(alpha), repeat=2):
                V = BT[:, p] * BT[:, q].T  # BT E_pq B
                y2 = AT * M.multiply_elementwise(V) * AT.T
                direct2 = sp.Matrix([[g2[p - i, q - j] if 0 <= p - i < r and 0 <= q - j < r else 0 for j in range(m)]
                                     for i in range(m)])
                same_matrix(y2.applyfunc(sp.expand), direct2, f"F({m}x{m}, {r}x{r}) at d = E_{p}{q}")
            cases.add("2-D tiles")
            if (m, r) == (4, 3):
                cases.add("F(4x4, 3x3)")
    return cases


theorem("winograd", "Winograd A^T[(G g) ⊙ (B^T d)] = direct correlation, for the library's F(m, r)",
        r"AT[(G g) ⊙ (BT d)] = (Σ_k g[k] d[i+k])_{i<m}; 2-D: AT[(G g G^T) ⊙ (BT d B)]A",
        general=False, bound=4, claims={"1-D tiles": 9, "2-D tiles": 4, "F(4x4, 3x3)": 1},
        note="every F(m, r) of DEFAULT_TILE plus F(2,3), F(6,3); 2-D nested form for m+r-1 ≤ bound+1 "
        "and F(4x4, 3x3)")(check_winograd)
