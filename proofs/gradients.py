r"""Gradients of convolution and max pooling, from SymPy jacobians.

Scope: bounded, because jacobians need materialised matrices (concrete sizes); the index-level
gather form behind ``A^T`` is proved generally by ``transpose-index-relation``.

``conv-gradients`` (bounded)
    For ``y = A(w) x`` and ``L = g · y`` (``g`` symbolic): the SymPy gradient
    ``∂L/∂x = A(w)^T g`` (= the ConvTranspose of ``Conv.transpose`` applied to
    ``g`` for zero padding, = ``grad_input_matrix``), and ``∂L/∂w = B(x)^T g``
    where ``B(x)`` is the library's ``unfold_matrix`` (``A(w) x = B(x) w`` checked
    too) and ``grad_weight`` returns it; ``∂L/∂b = Σ_o g``.
``gradient-index-formulas`` (bounded)
    The library's index-level formulas (``grad_input_formula``: gather form
    ``Σ_{co,k} w[co, c, tap(k)] g[co, (i + lo - d k)/s]`` under
    ``gather_condition``; ``grad_weight_formula``: ``Σ_o g[co, o] x[c, s o - lo + d k]``),
    SymPy ``Sum`` of ``Piecewise`` expressions, are *not* simplified by SymPy
    here (sympy#27359 shows such simplifications can be wrong): they are
    expanded term by term over their finite ranges at concrete sizes and
    compared with the SymPy jacobians, for every ``(c, i)`` and ``(co, ci, k)``.
    Their general validity for symbolic sizes rests on ``transpose-index-relation``.
``max-pool-jacobian`` (bounded; exhaustive over input orderings)
    ``y[o] = max_{k valid} x[s o - lo + d k]``.  For inputs with distinct
    values the jacobian (SymPy derivative of ``Max``) equals the library mask
    ``max_pool_mask``: one 1 per row, at the window's maximum.  The mask
    depends on the input only through comparisons, so checking every
    ordering (all permutations of ``0..n-1``) covers all distinct inputs.
``max-pool-subgradient`` (bounded; exhaustive over tie patterns)
    With ties the library selects the *first* maximum in scan order.  Proof
    that this is a valid (Clarke / Bouligand) generalised jacobian: the
    perturbation ``x_ε = x - ε·(flat index)`` makes, in every window at once,
    the first maximum the unique maximum, for all ``0 < ε < 1/(2N)`` (integer
    inputs); there the max-pool is differentiable with jacobian = the library
    mask at ``x``; letting ``ε -> 0`` puts the mask in the B-subdifferential
    ``⊆`` Clarke jacobian.  Each row also lies in
    ``∂ max = conv{e_j : j ∈ argmax}``.  Checked for every input in
    ``{0, 1, 2}^n`` (1-D) or ``{0, 1}^n`` (the 2-D cases) up to the bound.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from convalg import SpecError

from ._core import require, same_matrix, theorem
from ._ops import mat, ops, symbols_like, vec

__all__ = ["check_conv_gradients", "check_gradient_formulas", "check_max_pool_distinct", "check_max_pool_ties", "pool_jacobian"]


def check_conv_gradients(bound: int) -> None:
    from convalg import Conv

    cases = []
    for n, K, s, d, lo in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (0, 1)):
        cases.append(((n,), Conv(K, stride=s, dilation=d, padding=((lo, 1 - lo),), groups=2, in_channels=2,
                                 out_channels=4, ndim=1)))
    cases.append(((3, 3), Conv((2, 2), stride=(2, 1), padding=1, in_channels=2, out_channels=1)))
    cases.append(((4,), Conv(3, padding=1, padding_mode="reflect", in_channels=1, out_channels=1, ndim=1)))
    for spatial, conv in cases:
        try:
            out = conv.output_shape(spatial)
        except Exception:
            continue
        x = symbols_like("x", (conv.in_channels, *spatial))
        g = symbols_like("g", (conv.out_channels, *out))
        w = conv.weight_symbols
        A = mat(conv, spatial)
        y = A * vec(x)
        L = (vec(g).T * y)[0]
        where = f"{conv} at {spatial}"
        dx = sp.Matrix([sp.diff(L, v) for v in x.reshape(-1)])
        same_matrix(dx, A.T * vec(g), f"{where}: dL/dx vs A^T g")
        same_matrix(dx, ops().grad_input_matrix(conv, spatial) * vec(g), f"{where}: dL/dx vs grad_input_matrix")
        if conv.padding_mode == "zeros":
            T = conv.transpose(spatial)
            same_matrix(dx, mat(T, out, weights=w) * vec(g), f"{where}: dL/dx vs ConvTranspose(g)")
        B = ops().unfold_matrix(conv, spatial, x)
        same_matrix(B * vec(w), y, f"{where}: B(x) w vs A(w) x")
        dw = sp.Matrix([sp.diff(L, v) for v in w.reshape(-1)])
        same_matrix(dw, B.T * vec(g), f"{where}: dL/dw vs B(x)^T g")
        same_matrix(dw, vec(ops().grad_weight(conv, spatial, x, g)), f"{where}: dL/dw vs grad_weight")
        bias = conv.replace(bias=True)
        _, b = ops().affine(bias, spatial)
        bs = ops().bias_symbols(bias)
        Lb = (vec(g).T * b)[0]
        db = sp.Matrix([sp.diff(Lb, v) for v in bs])
        same_matrix(db, vec(ops().grad_bias(bias, g)), f"{where}: dL/db vs grad_bias")


def _expand_sum(expr: sp.Expr, values: dict, arrays: dict) -> sp.Expr:
    """Expand a (nested) ``Sum`` over its finite ranges by explicit enumeration, then map ``Indexed`` to symbols."""
    expr = expr.xreplace(values)
    if isinstance(expr, sp.Sum):
        body, limits = expr.function, expr.limits
        total = sp.Integer(0)
        ranges = [range(int(lo), int(hi) + 1) for _, lo, hi in limits]
        for point in itertools.product(*ranges):
            total += _expand_sum(body, {v: sp.Integer(p) for (v, _, _), p in zip(limits, point)}, arrays)
        return sp.expand(total)
    expr = sp.piecewise_fold(expr)
    if isinstance(expr, sp.Piecewise):  # conditions are numeric now: pick the branch explicitly
        for value, cond in expr.args:
            if cond in (sp.true, True):
                expr = value
                break
            if cond not in (sp.false, False):
                raise AssertionError(f"condition {cond} is not decided at a concrete point")
        else:  # pragma: no cover - Piecewise always has a True branch here
            expr = sp.Integer(0)

    def lookup(e: sp.Indexed) -> sp.Expr:
        idx = tuple(int(v) for v in e.indices)
        return arrays[e.base.name][idx]

    return expr.replace(lambda e: isinstance(e, sp.Indexed), lookup)


def check_gradient_formulas(bound: int) -> None:
    from convalg import Conv

    # (K, s, d, lo, groups, flip): each feature on its own and combined (the formulas are slow to build)
    params = [(1, 1, 1, 0, 1, False), (3, 1, 1, 1, 1, False), (3, 2, 1, 1, 1, False), (3, 1, 2, 0, 1, False),
              (3, 2, 2, 1, 2, False), (2, 2, 1, 0, 1, True), (3, 3, 1, 1, 2, True), (2, 1, 3, 1, 1, False)]
    cases = [((n,), Conv(K, stride=s, dilation=d, padding=((lo, 1 - lo),), groups=G, in_channels=2,
                         out_channels=2 * G, flip_kernel=f, ndim=1))
             for n in range(1, bound + 1) for K, s, d, lo, G, f in params]
    cases.append(((3, 3), Conv((2, 2), stride=(2, 1), padding=1, in_channels=2, out_channels=1)))
    for spatial, conv in cases:
        try:
            out = conv.output_shape(spatial)
        except Exception:
            continue
        x = symbols_like("x", (conv.in_channels, *spatial))
        g = symbols_like("g", (conv.out_channels, *out))
        w = conv.weight_symbols
        L = (vec(g).T * mat(conv, spatial) * vec(x))[0]
        arrays = {"x": x, "g": g, "w": w}
        where = f"{conv} at {spatial}"
        lhs, expr = ops().grad_input_formula(conv, spatial)
        c_sym, i_syms = lhs.indices[0], lhs.indices[1:]
        for c in range(conv.in_channels):
            for i in itertools.product(*(range(n) for n in spatial)):
                vals = {c_sym: sp.Integer(c), **{a: sp.Integer(b) for a, b in zip(i_syms, i)}}
                got = _expand_sum(expr, vals, arrays)
                require(sp.expand(got - sp.diff(L, x[(c, *i)])) == 0,
                        f"{where}: grad_input_formula at c={c}, i={i}: {got} != dL/dx = {sp.diff(L, x[(c, *i)])}")
        lhs, expr = ops().grad_weight_formula(conv, spatial)
        co_sym, ci_sym = lhs.indices[0], lhs.indices[1]
        taps = lhs.indices[2:]
        ks = sorted(set().union(*[t.free_symbols for t in taps]) - {co_sym, ci_sym}, key=str)
        for co, ci in itertools.product(range(conv.out_channels), range(conv.in_channels // conv.groups)):
            for k in itertools.product(*(range(K) for K in conv.kernel_size)):
                vals = {co_sym: sp.Integer(co), ci_sym: sp.Integer(ci), **{a: sp.Integer(b) for a, b in zip(ks, k)}}
                tap = tuple(int(t.xreplace(vals)) for t in taps)
                got = _expand_sum(expr, vals, arrays)
                want = sp.diff(L, w[(co, ci, *tap)])
                require(sp.expand(got - want) == 0,
                        f"{where}: grad_weight_formula at (co, ci, k)=({co}, {ci}, {k}): {got} != dL/dw = {want}")


def _pool_cases(bound: int):
    from convalg import MaxPool

    for n, K, s, d, lo, ceil in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (0, 1),
                                                  (False, True)):
        if 2 * lo > K:
            continue
        layer = MaxPool(K, stride=s, padding=lo, dilation=d, ceil_mode=ceil, ndim=1)
        try:
            layer.output_shape((n,))
            ops().max_pool_mask(layer, np.zeros((1, n)))
        except SpecError:  # a window that reads only padding has no maximum (and no mask)
            continue
        yield layer, (n,)
    yield MaxPool(2, stride=1, ndim=2), (2, 3)
    yield MaxPool(3, stride=2, padding=1, ndim=2), (3, 2)


def pool_jacobian(layer, spatial: tuple[int, ...]) -> tuple[list, sp.Matrix]:
    """Symbols and the SymPy jacobian of ``y[o] = Max(valid taps)``, windows from the index map."""
    m = layer.index_map(spatial)
    xs = symbols_like("x", spatial)
    ys = []
    for o in itertools.product(*(range(a.n_out) for a in m.axes)):
        taps = []
        for k in itertools.product(*(range(a.kernel) for a in m.axes)):
            idx = tuple(int(a.input_index.subs({a.o: oo, a.k: kk})) for a, oo, kk in zip(m.axes, o, k))
            if all(0 <= i < n for i, n in zip(idx, spatial)):
                taps.append(xs[idx])
        ys.append(sp.Max(*taps))
    flat = list(xs.reshape(-1))
    return flat, sp.Matrix(ys).jacobian(flat)


def _mask(layer, values: np.ndarray) -> sp.SparseMatrix:
    return ops().max_pool_mask(layer, values.reshape(1, *values.shape)).mask


def check_max_pool_distinct(bound: int) -> None:
    for layer, spatial in _pool_cases(bound):
        xs, J = pool_jacobian(layer, spatial)
        N = math.prod(spatial)
        for perm in itertools.permutations(range(N)):
            values = np.array(perm, dtype=np.int64).reshape(spatial)
            Jv = J.xreplace(dict(zip(xs, map(sp.Integer, values.reshape(-1)))))
            M = _mask(layer, values.astype(float))
            require(all(sum(M.row(r)) == 1 for r in range(M.rows)), f"{layer} at x={values.tolist()}: a row of the "
                                                                      "mask does not have exactly one 1")
            same_matrix(M, Jv, f"{layer} at x={values.tolist()}: mask vs jacobian")


def check_max_pool_ties(bound: int) -> None:
    for layer, spatial in _pool_cases(bound):
        xs, J = pool_jacobian(layer, spatial)
        window = [[j for j in range(J.cols) if J[r, j] != 0] for r in range(J.rows)]  # Max's arguments
        N = math.prod(spatial)
        eps = sp.Rational(1, 4 * N)
        levels = 3 if N <= 4 else 2  # three levels give every tie pattern of up to 3 distinct values
        for vals in itertools.product(range(levels), repeat=N):
            values = np.array(vals, dtype=np.int64).reshape(spatial)
            pert = {v: sp.Integer(x) - eps * j for j, (v, x) in enumerate(zip(xs, vals))}
            M = _mask(layer, values.astype(float))
            same_matrix(M, J.xreplace(pert), f"{layer} at x={values.tolist()}: mask vs jacobian at x - ε·index")
            for r in range(M.rows):
                cols = [c for c in range(N) if M[r, c] != 0]
                window_vals = [vals[j] for j in window[r]]
                require(len(cols) == 1 and vals[cols[0]] == max(window_vals),
                        f"{layer} at x={values.tolist()}: output {r} selects a non-maximal input")


theorem("conv-gradients", "dL/dx = A^T g (a ConvTranspose), dL/dw = B(x)^T g, dL/db = Σ g (SymPy jacobians)",
        r"∂(g·A(w)x)/∂x = A(w)^T g, ∂/∂w = B(x)^T g with A(w)x = B(x)w", general=False, bound=4,
        note="1-D n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2, pads (0,1)/(1,0), groups 2; a 2-D and a reflect-padded case")(check_conv_gradients)
theorem("gradient-index-formulas", "the index-level gradient formulas (Sum of Piecewise) equal the jacobians",
        r"grad_input_formula = ∂L/∂x, grad_weight_formula = ∂L/∂w, expanded term by term (no Sum simplification)",
        general=False, bound=3, note="1-D: 8 parameter sets (K ≤ 3, s ≤ 3, d ≤ 3, pads (0,1)/(1,0), groups ≤ 2, "
        "flipped or not) at every n ≤ bound; one 2-D case")(check_gradient_formulas)
theorem("max-pool-jacobian", "max-pool jacobian on distinct inputs = mask of the maxima (one 1 per window)",
        r"∂y/∂x = M(x) for all x with distinct entries (every ordering)", general=False,
        bound=4, note="1-D n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2, pad ≤ 1, ceil mode or not; 2-D (2,3) and (3,2)")(check_max_pool_distinct)
theorem("max-pool-subgradient", "with ties, the first-maximum mask is a valid generalised jacobian",
        r"M(x) = lim_{ε→0} ∂y/∂x (x - ε·index) ∈ ∂_B y(x) ⊆ ∂_C y(x); rows ∈ conv{e_j : j ∈ argmax}",
        general=False, bound=4,
        note="every input in {0,1,2}^n (n ≤ 4) or {0,1}^n (the 2-D cases) for the max-pool-jacobian layers")(check_max_pool_ties)
