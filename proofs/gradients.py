r"""Gradients of convolution and max pooling, from SymPy jacobians.

Scope: bounded, because jacobians need materialised matrices (concrete sizes); the index-level
gather form behind ``A^T`` is proved generally by ``transpose-index-relation``.  Every jacobian is
taken of the *independent definition* (:mod:`proofs.definitions`), never of the library's matrix,
and the max-pool windows and first-maximum rule come from the definition too.

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

from . import definitions as D
from ._core import Cases, require, same_matrix, theorem
from ._ops import conv_vs_definition, mat, ops, symbols_like, vec
from .reductions import _direct

__all__ = ["check_conv_gradients", "check_gradient_formulas", "check_max_pool_distinct", "check_max_pool_ties", "pool_jacobian"]


def _conv_grid(bound: int):
    for n, K, s, d, lo in itertools.product(range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (0, 1)):
        yield (n,), K, s, d, ((lo, 1 - lo),), 2, 2, 4, "zeros", False
    yield (3, 3), (2, 2), (2, 1), 1, ((1, 1), (1, 1)), 1, 2, 1, "zeros", False
    for mode in ("reflect", "replicate", "circular"):
        yield (4,), 3, 1, 1, ((1, 1),), 1, 1, 1, mode, False
        yield (3,), 2, 2, 1, ((1, 1),), 1, 1, 2, mode, True


def check_conv_gradients(bound: int) -> Cases:
    cases = Cases()
    for spatial, K, s, d, pads, G, cin, cout, mode, flip in _conv_grid(bound):
        got = conv_vs_definition(cases, spatial, K, s, d, pads, G, cin, cout, mode, flip)
        if got is None:
            continue
        conv, A = got
        out = conv.output_shape(spatial)
        x = symbols_like("x", (conv.in_channels, *spatial))
        g = symbols_like("g", (conv.out_channels, *out))
        w = conv.weight_symbols
        nd = len(spatial)
        Kt = K if isinstance(K, tuple) else (K,) * nd
        y = _direct(spatial, Kt, s if isinstance(s, tuple) else (s,) * nd, d if isinstance(d, tuple) else (d,) * nd,
                    pads, G, cin, cout, w, mode, flip) * vec(x)  # the definition's output
        L = (vec(g).T * y)[0]
        where = f"{conv} at {spatial}"
        dx = sp.Matrix([sp.diff(L, v) for v in x.reshape(-1)])
        same_matrix(dx, ops().grad_input_matrix(conv, spatial) * vec(g), f"{where}: dL/dx vs grad_input_matrix")
        if conv.padding_mode == "zeros":
            T = conv.transpose(spatial)
            same_matrix(dx, mat(T, out, weights=w) * vec(g), f"{where}: dL/dx vs ConvTranspose(g)")
        B = ops().unfold_matrix(conv, spatial, x)
        same_matrix(B * vec(w), y, f"{where}: B(x) w vs the definition's y")
        dw = sp.Matrix([sp.diff(L, v) for v in w.reshape(-1)])
        same_matrix(dw, B.T * vec(g), f"{where}: dL/dw vs B(x)^T g")
        same_matrix(dw, vec(ops().grad_weight(conv, spatial, x, g)), f"{where}: dL/dw vs grad_weight")
        bias = conv.replace(bias=True)
        _, b = ops().affine(bias, spatial)
        bs = ops().bias_symbols(bias)
        Lb = (vec(g).T * b)[0]
        db = sp.Matrix([sp.diff(Lb, v) for v in bs])
        same_matrix(db, vec(ops().grad_bias(bias, g)), f"{where}: dL/db vs grad_bias")
        cases.add("layers (dx, dw, db)")
    return cases


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


def check_gradient_formulas(bound: int) -> Cases:
    from convalg import Conv

    cases = Cases()
    # (K, s, d, lo, groups, flip): each feature on its own and combined (the formulas are slow to build)
    params = [(1, 1, 1, 0, 1, False), (3, 1, 1, 1, 1, False), (3, 2, 1, 1, 1, False), (3, 1, 2, 0, 1, False),
              (3, 2, 2, 1, 2, False), (2, 2, 1, 0, 1, True), (3, 3, 1, 1, 2, True), (2, 1, 3, 1, 1, False)]
    grid = [((n,), Conv(K, stride=s, dilation=d, padding=((lo, 1 - lo),), groups=G, in_channels=2,
                        out_channels=2 * G, flip_kernel=f, ndim=1))
            for n in range(1, bound + 1) for K, s, d, lo, G, f in params]
    grid.append(((3, 3), Conv((2, 2), stride=(2, 1), padding=1, in_channels=2, out_channels=1)))
    for spatial, conv in grid:
        pads = conv.padding
        if not D.conv_valid(spatial, conv.kernel_size, conv.stride, conv.dilation, pads):
            cases.expect_rejection(f"{conv} at {spatial}", False, lambda conv=conv, spatial=spatial: conv.output_shape(spatial))
            continue
        out = conv.output_shape(spatial)
        x = symbols_like("x", (conv.in_channels, *spatial))
        g = symbols_like("g", (conv.out_channels, *out))
        w = conv.weight_symbols
        A = _direct(spatial, conv.kernel_size, conv.stride, conv.dilation, pads, conv.groups, conv.in_channels,
                    conv.out_channels, w, "zeros", conv.flip_kernel)
        L = (vec(g).T * A * vec(x))[0]  # of the definition
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
                cases.add("dx entries")
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
                cases.add("dw entries")
    return cases


def _pool_cases(cases: Cases, bound: int):
    """Max pools with their definition windows; a SpecError only where PyTorch rejects the layer too."""
    from convalg import MaxPool

    grid = [((n,), K, s, d, p, ceil) for n, K, s, d, p, ceil in itertools.product(
        range(1, bound + 1), (1, 2, 3), (1, 2), (1, 2), (0, 1), (False, True))]
    grid += [((2, 3), (2, 2), (1, 1), (1, 1), (0, 0), False), ((3, 2), (3, 3), (2, 2), (1, 1), (1, 1), True)]
    for spatial, K, s, d, p, ceil in grid:
        nd = len(spatial)
        K, s, d, p = (v if isinstance(v, tuple) else (v,) * nd for v in (K, s, d, p))
        pads = tuple((q, q) for q in p)
        outs, windows = D.max_pool_windows(spatial, K, s, d, pads, ceil)
        ok = all(2 * q <= k for q, k in zip(p, K)) and all(outs) and all(windows)
        where = f"MaxPool(K={K}, s={s}, d={d}, p={p}, ceil_mode={ceil}) at {spatial}"

        def build(K=K, s=s, d=d, p=p, ceil=ceil, spatial=spatial):
            layer = MaxPool(K, stride=s, padding=p, dilation=d, ceil_mode=ceil, ndim=len(spatial))
            ops().max_pool_mask(layer, np.zeros((1, *spatial)))
            return layer

        layer = cases.expect_rejection(where, ok, build)
        if layer is None:
            continue
        require(layer.output_shape(spatial) == tuple(outs), f"{where}: output shape {layer.output_shape(spatial)} "
                                                             f"!= {tuple(outs)} windows")
        if ceil and any(_dropped_window(n, k, ss, dd, q) for n, k, ss, dd, q in zip(spatial, K, s, d, p)):
            cases.add("ceil-mode drop cases")
        yield layer, spatial, windows


def _dropped_window(n: int, k: int, s: int, d: int, p: int) -> bool:
    from .layers import _dropped

    return _dropped(n, k, s, d, p, p)


def pool_jacobian(windows: list[list[int]], spatial: tuple[int, ...]) -> tuple[list, sp.Matrix]:
    """Symbols and the SymPy jacobian of ``y[o] = Max(taps of the definition's window o)``."""
    xs = list(symbols_like("x", spatial).reshape(-1))
    ys = [sp.Max(*[xs[t] for t in taps]) for taps in windows]
    return xs, sp.Matrix(ys).jacobian(xs)


def _mask(layer, values: np.ndarray) -> sp.SparseMatrix:
    return ops().max_pool_mask(layer, values.reshape(1, *values.shape)).mask


def check_max_pool_distinct(bound: int) -> Cases:
    cases = Cases()
    for layer, spatial, windows in _pool_cases(cases, bound):
        xs, J = pool_jacobian(windows, spatial)
        N = math.prod(spatial)
        for perm in itertools.permutations(range(N)):
            values = np.array(perm, dtype=np.int64).reshape(spatial)
            Jv = J.xreplace(dict(zip(xs, map(sp.Integer, values.reshape(-1)))))
            M = _mask(layer, values.astype(float))
            require(all(sum(M.row(r)) == 1 for r in range(M.rows)), f"{layer} at x={values.tolist()}: a row of the "
                                                                      "mask does not have exactly one 1")
            same_matrix(M, Jv, f"{layer} at x={values.tolist()}: mask vs jacobian")
            cases.add("inputs")
        cases.add("layers")
    return cases


def check_max_pool_ties(bound: int) -> Cases:
    cases = Cases()
    for layer, spatial, windows in _pool_cases(cases, bound):
        xs, J = pool_jacobian(windows, spatial)
        window = [[j for j in range(J.cols) if J[r, j] != 0] for r in range(J.rows)]  # Max's arguments
        N = math.prod(spatial)
        eps = sp.Rational(1, 4 * N)
        levels = 3 if N <= 4 else 2  # three levels give every tie pattern of up to 3 distinct values
        for vals in itertools.product(range(levels), repeat=N):
            values = np.array(vals, dtype=np.int64).reshape(spatial)
            pert = {v: sp.Integer(x) - eps * j for j, (v, x) in enumerate(zip(xs, vals))}
            M = _mask(layer, values.astype(float))
            first = D.max_pool_select(windows, list(vals))
            same_matrix(M, sp.SparseMatrix(len(windows), N, {(r, c): 1 for r, c in enumerate(first)}),
                        f"{layer} at x={values.tolist()}: mask vs the definition's first maximum")
            same_matrix(M, J.xreplace(pert), f"{layer} at x={values.tolist()}: mask vs jacobian at x - ε·index")
            for r in range(M.rows):
                cols = [c for c in range(N) if M[r, c] != 0]
                window_vals = [vals[j] for j in window[r]]
                require(len(cols) == 1 and vals[cols[0]] == max(window_vals),
                        f"{layer} at x={values.tolist()}: output {r} selects a non-maximal input")
            cases.add("inputs")
        cases.add("layers")
    return cases


theorem("conv-gradients", "dL/dx = A^T g (a ConvTranspose), dL/dw = B(x)^T g, dL/db = Σ g (jacobians of the definition)",
        r"∂(g·y)/∂x = grad_input_matrix g = ConvT(g), ∂/∂w = B(x)^T g = grad_weight, B(x)w = y; y the direct sum",
        general=False, bound=4, claims={"layers (dx, dw, db)": 83},
        note="1-D n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2, pads (0,1)/(1,0), groups 2 (2→4 channels); a 2-D case; "
        "reflect, replicate and circular padding (one flipped case each)")(check_conv_gradients)
theorem("gradient-index-formulas", "the index-level gradient formulas (Sum of Piecewise) equal the jacobians",
        r"grad_input_formula = ∂L/∂x, grad_weight_formula = ∂L/∂w (L of the direct sum), expanded term by term",
        general=False, bound=3, claims={"dx entries": 78, "dw entries": 124},
        note="1-D: 8 parameter sets (K ≤ 3, s ≤ 3, d ≤ 3, pads (0,1)/(1,0), groups ≤ 2, "
        "flipped or not) at every n ≤ bound; one 2-D case")(check_gradient_formulas)
theorem("max-pool-jacobian", "max-pool jacobian on distinct inputs = mask of the maxima (one 1 per window)",
        r"∂y/∂x = M(x) for all x with distinct entries (every ordering), y[o] = Max(definition window o)",
        general=False, bound=4, claims={"layers": 119, "inputs": 2615, "ceil-mode drop cases": 6},
        note="1-D n ≤ bound, K ≤ 3, s ≤ 2, d ≤ 2, pad ≤ 1, ceil mode or not (drop cases included); "
        "2-D (2,3) and (3,2); windows and output sizes from the definition")(check_max_pool_distinct)
theorem("max-pool-subgradient", "with ties, the first-maximum mask is a valid generalised jacobian",
        r"M(x) = first maximum of the definition = lim_{ε→0} ∂y/∂x (x - ε·index) ∈ ∂_B y(x) ⊆ ∂_C y(x)",
        general=False, bound=4, claims={"layers": 119, "inputs": 4391, "ceil-mode drop cases": 6},
        note="every input in {0,1,2}^n (n ≤ 4) or {0,1}^n (the 2-D cases) for the max-pool-jacobian "
        "layers")(check_max_pool_ties)
