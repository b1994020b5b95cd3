r"""The convolution theorem: the DFT diagonalises circulant and multi-level block-circulant matrices.

Notation: ``ω = exp(-2πi/n)``, ``F[k, j] = ω^{kj}``, circulant ``C[i, j] = c[(i - j) mod n]``.

``convolution-theorem`` (general in ``n``)
    ``F C F^{-1} = diag(F c)``.  Proof, each step checked by SymPy with ``n``,
    ``i, j, k`` symbols: (1) ``j -> m = (i - j) mod n`` is a bijection of
    ``{0..n-1}`` (its inverse is ``m -> (i - m) mod n``); (2)
    ``ω^{-jk} = ω^{-ik} ω^{mk}`` because ``ω^{n t} = 1`` for integer ``t``;
    hence ``(C v_k)[i] = λ_k v_k[i]`` with ``v_k[j] = ω^{-jk}``,
    ``λ_k = Σ_m c[m] ω^{mk} = (F c)[k]``; (3) ``F`` is invertible with
    ``F^{-1} = F^H/n``: ``Σ_j ω^{jt}`` is the geometric sum ``(1 - z^n)/(1 - z) = 0``
    for ``z = ω^t``, ``0 < t < n`` (``z^n = 1``, ``z != 1`` as ``0 < t/n < 1``),
    and ``n`` for ``t = 0`` (``-n < t < 0`` by conjugation).  The columns
    ``v_k`` are ``n F^{-1}[:, k]``, so ``C F^{-1} = F^{-1} diag(F c)``.
    Bounded cross-check: the library's ``circulant`` and circular ``Conv``
    matrices (their first column: the dilated kernel rolled by ``lo``), exactly
    in the cyclotomic field: entries are polynomials in ``z`` reduced modulo
    ``z^n - 1`` (eigen-equation) and ``Φ_n(z)`` (``F F^H = n I``).
``convolution-theorem-multilevel`` (bounded; general outline)
    Doubly / triply block-circulant matrices (library ``block_circulant`` of
    circulants, and 2-D / 3-D circular convs) satisfy
    ``C (v_{k0} ⊗ v_{k1} ⊗ ...) = λ (v_{k0} ⊗ ...)`` with ``λ`` the multi-dimensional
    DFT of the kernel.  Outline: ``C = Σ_a c[a] P^{a0} ⊗ P^{a1} ⊗ ...`` (checked on the
    library's matrices, ``c`` read off the definition, not the library); ``P^a v_k = ω^{ak} v_k``
    (checked by SymPy for symbolic ``n, a, k, j``); the mixed-product rule
    ``(A ⊗ B)(x ⊗ y) = Ax ⊗ By`` (an identity of matrix algebra, checked by SymPy on symbolic
    2x2 ⊗ 3x3 matrices) gives ``C v = Σ_a c[a] Π ω^{a_i k_i} v = λ v``.  Bounded: the eigen-equation
    on the library's matrices, exactly in ``Q(z)/(z^n - 1)``.

Scope: the general steps of both are a hand-written outline whose algebra SymPy checks; what is
proved of the library's objects is bounded.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from . import definitions as D
from ._core import Cases, equal, positive, require, same_entries, same_matrix, theorem
from ._ops import conv_vs_definition, ops

__all__ = ["check_convolution_theorem", "check_multilevel"]

Z = sp.symbols("z0:3")


def _eigen_check(C: sp.MatrixBase, c_first: list, sizes: tuple[int, ...], where: str) -> None:
    """``C v_k = λ_k v_k`` modulo ``z_a^{n_a} - 1`` for every multi-index ``k``; ``λ`` = DFT of ``c_first``.

    ``v_k[j] = Π_a z_a^{-j_a k_a}``, ``λ_k = Σ_m c[m] Π_a z_a^{m_a k_a}``.  Both sides are collected
    as polynomials in ``z`` with exponents reduced modulo ``n_a`` (exact: ``z_a^{n_a} = 1``).
    """
    grid = list(itertools.product(*(range(n) for n in sizes)))
    entries = C.todok()
    rows: dict[int, list] = {}
    for (i, j), val in entries.items():
        rows.setdefault(i, []).append((j, val))
    for k in grid:
        for i, ii in enumerate(grid):
            got: dict = {}
            for j, val in rows.get(i, []):
                e = tuple((-grid[j][a] * k[a]) % n for a, n in enumerate(sizes))
                got[e] = got.get(e, 0) + val
            want: dict = {}
            for c, m in zip(c_first, grid):
                e = tuple(((m[a] - ii[a]) * k[a]) % n for a, n in enumerate(sizes))
                want[e] = want.get(e, 0) + c
            for e in set(got) | set(want):
                require(sp.expand(got.get(e, 0) - want.get(e, 0)) == 0,
                        f"{where}: eigen-equation fails at k={k}, row {ii}, power z^{e}")


def _dft_invertible(n: int) -> None:
    phi = sp.Poly(sp.cyclotomic_poly(n, Z[0]), Z[0])
    for t in range(n):
        total = sp.Poly(sum(Z[0] ** ((j * t) % n) for j in range(n)), Z[0]).rem(phi)
        require(total.as_expr() == (n if t == 0 else 0), f"n={n}: Σ_j ω^(j·{t}) != {n if t == 0 else 0}")


def _circular_column(spatial: tuple[int, ...], K: tuple[int, ...], d: tuple[int, ...], pads, w) -> list:
    """First column of the definition's circular conv (row-major over the output), from the direct sum."""
    entries = D.conv_entries(spatial, K, (1,) * len(spatial), d, pads, 1, 1, 1, w, "circular")
    return [entries.get((r, 0), sp.Integer(0)) for r in range(math.prod(spatial))]


def check_convolution_theorem(bound: int) -> Cases:
    cases = Cases()
    # general steps
    i, j, k, t = sp.symbols("i j k t", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    w = sp.exp(-2 * sp.pi * sp.I / n)
    m = sp.Mod(i - j, n)
    equal(sp.Mod(i - m, n), sp.Mod(j, n), "m -> (i - m) mod n inverts j -> (i - j) mod n", general=True)
    m_floor = (i - j) - n * sp.floor((i - j) / n)  # the definition of Mod
    equal(sp.powsimp(w ** (-j * k) / (w ** (-i * k) * w ** (m_floor * k))), 1, "ω^{-jk} = ω^{-ik} ω^{mk}",
          general=True)
    tt, u = sp.symbols("tt u", integer=True, positive=True)  # 0 < t < n as n = t + u
    z = sp.exp(-2 * sp.pi * sp.I * tt / (tt + u))
    jj = sp.Symbol("jj", integer=True, nonnegative=True)
    geo = sp.Sum(sp.Symbol("zz") ** jj, (jj, 0, n - 1)).doit()
    closed = geo.args[1][0]  # the z != 1 branch: (1 - z^n)/(1 - z)
    equal(sp.simplify(closed.subs(n, tt + u).subs(sp.Symbol("zz"), z) * (1 - z)), 0, "(1 - z^n) = 0 for z = ω^t",
          general=True)
    positive(tt / (tt + u), "0 < t/n")
    positive(1 - tt / (tt + u), "t/n < 1, so z != 1")
    cases.add("outline steps", 5)
    # bounded: library circulant and circular conv matrices, exactly
    for nn in range(1, bound + 1):
        _dft_invertible(nn)
        c = list(sp.symbols(f"c0:{nn}"))
        C = ops().circulant(c)
        same_matrix(C, sp.Matrix([[c[(i - j) % nn] for j in range(nn)] for i in range(nn)]), f"circulant n={nn} vs C[i,j] = c[(i-j) mod n]")
        _eigen_check(C, c, (nn,), f"circulant n={nn}")
        cases.add("eigen-equations")
        for K, d in itertools.product((1, 2, 3), (1, 2)):
            keff = d * (K - 1) + 1
            lo = keff // 2
            got = conv_vs_definition(cases, (nn,), K, 1, d, ((lo, keff - 1 - lo),), 1, 1, 1, "circular")
            if got is None:
                continue
            conv, A = got
            first = _circular_column((nn,), (K,), (d,), ((lo, keff - 1 - lo),), conv.weight_symbols)
            same_matrix(A, ops().circulant(first), f"circular Conv(K={K}, d={d}) n={nn} vs circulant(rolled kernel)")
            _eigen_check(A, first, (nn,), f"circular Conv(K={K}, d={d}) n={nn}")
            cases.add("eigen-equations")
    return cases


def _outline_steps() -> None:
    j, k, a = sp.symbols("j k a", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    w = sp.exp(-2 * sp.pi * sp.I / n)
    folded = (j - a) - n * sp.floor((j - a) / n)  # (j - a) mod n
    equal(sp.powsimp(w ** (-folded * k) / (w ** (a * k) * w ** (-j * k))), 1, "(P^a v_k)[j] = ω^{ak} v_k[j]",
          general=True)
    A = sp.Matrix(2, 2, sp.symbols("A0:4"))
    B = sp.Matrix(3, 3, sp.symbols("B0:9"))
    x, y = sp.Matrix(sp.symbols("x0:2")), sp.Matrix(sp.symbols("y0:3"))
    same_matrix(sp.kronecker_product(A, B) * sp.kronecker_product(x, y), sp.kronecker_product(A * x, B * y),
                "mixed-product rule (A ⊗ B)(x ⊗ y) = Ax ⊗ By")


def check_multilevel(bound: int) -> Cases:
    cases = Cases()
    _outline_steps()
    cases.add("outline steps", 2)
    sizes_list = list(itertools.product(range(1, bound + 1), repeat=2)) + [(2, 2, 2), (2, 3, 2), (3, 2, 3), (3, 3, 3)]
    for sizes in sizes_list:
        cdim = np.array(sp.symbols(f"c0:{math.prod(sizes)}"), dtype=object).reshape(sizes)
        if len(sizes) == 2:
            blocks = [ops().circulant(list(cdim[a])) for a in range(sizes[0])]
            C = ops().block_circulant(blocks)
            _eigen_check(C, list(cdim.reshape(-1)), sizes, f"block_circulant of circulants {sizes}")
            cases.add("eigen-equations")
        K = tuple(min(3, n) for n in sizes)
        pads = tuple((k // 2, k - 1 - k // 2) for k in K)
        conv, A = conv_vs_definition(cases, sizes, K, 1, 1, pads, 1, 1, 1, "circular")
        first = _circular_column(sizes, K, (1,) * len(sizes), pads, conv.weight_symbols)
        # Σ_a c[a] P^a0 ⊗ P^a1 ⊗ ...: entry ((i...), (j...)) is c[(i - j) mod n, ...] (one a per entry)
        grid = list(itertools.product(*map(range, sizes)))
        kron = {(r, c): first[int(np.ravel_multi_index(tuple((i - j) % n for i, j, n in zip(ri, cj, sizes)), sizes))]
                for r, ri in enumerate(grid) for c, cj in enumerate(grid)}
        same_entries(A, kron, A.shape, f"{len(sizes)}-D circular conv {sizes} vs Σ_a c[a] P^a0 ⊗ P^a1 ...")
        _eigen_check(A, first, sizes, f"{len(sizes)}-D circular conv {sizes}")
        require(ops().is_block_circulant(A, sizes, sizes), f"{len(sizes)}-D circular conv {sizes} is not block circulant")
        cases.add("eigen-equations")
    return cases


theorem("convolution-theorem", "the DFT diagonalises every circulant matrix; eigenvalues = DFT of the kernel",
        r"F C F^{-1} = diag(F c) for C[i,j] = c[(i-j) mod n], F[k,j] = ω^{kj}",
        general=False, bound=6, outline=True, claims={"eigen-equations": 32, "outline steps": 5},
        note="general in n as an outline (its steps checked by SymPy); the library's circulant and circular Conv "
        "(against the definition) exactly in the cyclotomic field for n ≤ bound")(check_convolution_theorem)
theorem("convolution-theorem-multilevel", "the N-d DFT diagonalises doubly / multi-level block circulant matrices",
        r"C (v_{k0} ⊗ v_{k1} ⊗ ...) = DFT_N(c)[k] (v_{k0} ⊗ ...), C = block circulant of circulants / N-d circular conv",
        general=False, bound=5, outline=True, claims={"eigen-equations": 54, "outline steps": 2},
        note="Kronecker form Σ_a c[a] P^a0 ⊗ P^a1 and eigenvalues from the definition's kernel; 2-level: all (n0, n1) ≤ bound; 3-level: (2,2,2), (2,3,2), (3,2,3), (3,3,3); exact in Q(z)/(z^n - 1)")(check_multilevel)
