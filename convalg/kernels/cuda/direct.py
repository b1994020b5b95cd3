"""Direct (non-GEMM) convolution kernels, generated from the index map.

=====================  ===================================================================
kernel                 use
=====================  ===================================================================
``direct_conv``        one thread per ``TW`` outputs of the last axis, ``ceil(n_out / TW)``
                       apart (neighbouring threads: neighbouring outputs, coalesced); the
                       depthwise / grouped path (few input channels per group) and the
                       general fallback (any padding mode, flip, dilation, N-d)
``gather_conv``        one thread per element of the ``i`` side: input gradient and
                       transposed convolution in gather form (``gather_output`` under
                       ``gather_condition``): no atomics, deterministic
``wgrad_direct``       one block per weight element; the block reduces over
                       (batch, outputs) in a fixed order (strided partial sums, then a
                       shared-memory tree): deterministic, used for depthwise / grouped
=====================  ===================================================================

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> m = index_map(Conv(3, padding=1, groups=2, in_channels=4, out_channels=4), (6, 6))
>>> ks = direct_conv(m, 4, 4, 2, has_bias=True)
>>> ks.name.startswith("cv_direct_"), ks.grid(2)
(True, (1, 1, 1))
>>> "k1 + o1 - 1" in ks.body
True
"""

from __future__ import annotations

import math

import sympy as sp

from ...index_map import IndexMap
from .codegen import (
    Emitter,
    KernelSource,
    ceil_div,
    elementwise_kernel,
    kernel_text,
    ravel,
    skip_ungathered,
    spec_tag,
    sym,
    tap_loops,
    taps_of_weight,
    thread_prologue,
    unravel,
)

__all__ = ["direct_conv", "gather_conv", "wgrad_direct", "tap_loops"]


def _sides(imap: IndexMap, gather: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(input spatial, output spatial) of the kernel: forward reads the i side, gather reads the o side."""
    i_side = tuple(int(a.n) for a in imap.axes)
    o_side = tuple(int(a.n_out) for a in imap.axes)
    return (o_side, i_side) if gather else (i_side, o_side)


def direct_conv(imap: IndexMap, c_in: int, c_out: int, groups: int, has_bias: bool, tw: int = 4) -> KernelSource:
    """Forward convolution, one thread per ``tw`` outputs along the last axis, ``ceil(n_out / tw)`` apart."""
    in_sp, out_sp = _sides(imap, gather=False)
    kernel = tuple(int(a.kernel) for a in imap.axes)
    cig, cog = c_in // groups, c_out // groups
    nd = imap.ndim
    tw = max(1, min(tw, out_sp[-1]))
    blocks_last = ceil_div(out_sp[-1], tw)
    work = (c_out, *out_sp[:-1], blocks_last)
    items = math.prod(work)
    name = "cv_direct_" + spec_tag("direct", imap.kind, imap.axes, imap.padding_mode, imap.flip_kernel,
                                   c_in, c_out, groups, has_bias, tw)
    co, ci, c, g, u, ob = (sym(s) for s in ("co", "ci", "c", "g", "u", "ob"))
    em = Emitter([*imap.o, *imap.k])
    n = thread_prologue(em, "n_batch", items, (co, *imap.o[:-1], ob), work, batch="n")
    em.decl(g, sp.floor(co / cog))
    em.line(f"float acc[{tw}];")
    em.unrolled(f"for (int u = 0; u < {tw}; ++u)", f"acc[u] = {'__ldg(&bias[co])' if has_bias else '0.0f'};")
    em.open(f"for (int ci = 0; ci < {cig}; ++ci)")
    em.nonneg.add(ci)
    em.decl(c, g * cig + ci)
    tap_loops(em, imap.k, kernel)
    w_off = ravel((co, ci, *imap.taps()), (c_out, cig, *kernel))
    em.line(f"const float wv = __ldg(&w[{em.expr(w_off)}]);")
    em.unrolled(f"for (int u = 0; u < {tw}; ++u)")
    em.nonneg.add(u)
    em.decl(imap.o[-1], ob + u * blocks_last)
    idx = imap.padded_index()
    pred = sp.And(sp.Lt(imap.o[-1], out_sp[-1]), imap.valid if imap.padding_mode == "zeros" else sp.true)
    x_off = ravel((n, c, *idx), (None, c_in, *in_sp))
    em.line(f"if ({em.expr(pred)}) acc[u] += wv * __ldg(&x[{em.expr(x_off)}]);")
    em.close()
    for _ in range(nd):
        em.close()
    em.close()
    em.unrolled(f"for (int u = 0; u < {tw}; ++u)")
    em.decl(imap.o[-1], ob + u * blocks_last)
    y_off = ravel((n, co, *imap.o), (None, c_out, *out_sp))
    em.line(f"if ({em.expr(sp.Lt(imap.o[-1], out_sp[-1]))}) y[{em.expr(y_off)}] = acc[u];")
    em.close()
    params = (("const float* __restrict__", "x"), ("const float* __restrict__", "w"),
              ("const float* __restrict__", "bias"), ("float* __restrict__", "y"), ("int", "n_batch"))
    return elementwise_kernel(name, params, em, items)


def gather_conv(imap: IndexMap, c_red: int, c_out: int, groups: int, has_bias: bool) -> KernelSource:
    """Gather-form transpose of the map: ``y[n, c, i] = sum w[c_r, c_l, tap(k)] * x[n, c_r, o(i, k)]``.

    ``x`` lives on the ``o`` side with ``c_red`` channels, ``y`` on the ``i`` side
    with ``c_out`` channels, the weight is ``(c_red, c_out/groups, *kernel)``: the
    input gradient of a convolution with weight ``(C_out, C_in/G, *k)`` (then
    ``c_red = C_out``) and a transposed convolution with PyTorch weight
    ``(C_in, C_out/G, *k)`` (then ``c_red = C_in``) are the same kernel.
    """
    in_sp, out_sp = _sides(imap, gather=True)
    kernel = tuple(int(a.kernel) for a in imap.axes)
    crg, colg = c_red // groups, c_out // groups
    items = c_out * math.prod(out_sp)
    name = "cv_gather_" + spec_tag("gather", imap.axes, imap.flip_kernel, c_red, c_out, groups, has_bias)
    c, g, cl, cr, j = (sym(s) for s in ("c", "g", "cl", "cr", "j"))
    em = Emitter([*imap.k, *imap.i])
    n = thread_prologue(em, "n_batch", items, (c, *imap.i), (c_out, *out_sp), batch="n")
    em.decl(g, sp.floor(c / colg))
    em.decl(cl, sp.Mod(c, colg))
    em.line(f"float acc = {'__ldg(&bias[c])' if has_bias else '0.0f'};")
    tap_loops(em, imap.k, kernel)
    skip_ungathered(em, imap)
    em.open(f"for (int j = 0; j < {crg}; ++j)")
    em.nonneg.add(j)
    em.decl(cr, g * crg + j)
    w_off = ravel((cr, cl, *imap.taps()), (c_red, colg, *kernel))
    x_off = ravel((n, cr, *imap.o), (None, c_red, *in_sp))
    em.line(f"acc += __ldg(&w[{em.expr(w_off)}]) * __ldg(&x[{em.expr(x_off)}]);")
    em.close()
    for _ in kernel:
        em.close()
    y_off = ravel((n, c, *imap.i), (None, c_out, *out_sp))
    em.line(f"y[{em.expr(y_off)}] = acc;")
    params = (("const float* __restrict__", "x"), ("const float* __restrict__", "w"),
              ("const float* __restrict__", "bias"), ("float* __restrict__", "y"), ("int", "n_batch"))
    return elementwise_kernel(name, params, em, items)


def wgrad_direct(imap: IndexMap, c_in: int, c_out: int, groups: int, threads: int = 256) -> KernelSource:
    """Weight gradient as a correlation of input and output gradient, one block per weight element.

    ``dw[co, ci, tap(k)] = sum_{n, o} dy[n, co, o] * x[n, c(co, ci), padded_index(o, k)]``.
    Reduction order is fixed (thread ``t`` sums elements ``t, t + T, ...``, then a
    shared-memory tree), so the result is bitwise reproducible.
    """
    in_sp, out_sp = _sides(imap, gather=False)
    kernel = tuple(int(a.kernel) for a in imap.axes)
    cig, cog = c_in // groups, c_out // groups
    out_size = math.prod(out_sp)
    n_w = c_out * cig * math.prod(kernel)
    name = "cv_wgrad_" + spec_tag("wgrad", imap.axes, imap.padding_mode, imap.flip_kernel, c_in, c_out, groups,
                                  threads)
    b, co, ci, c, g, e, n, r = (sym(s) for s in ("b", "co", "ci", "c", "g", "e", "n", "r"))
    em = Emitter([b, e, *imap.o, *imap.k])
    em.decl(b, "blockIdx.x")
    parts = unravel(b, (c_out, cig, *kernel))
    em.decl(co, parts[0])
    em.decl(ci, parts[1])
    taps_of_weight(em, imap, parts[2:])
    em.decl(g, sp.floor(co / cog))
    em.decl(c, g * cig + ci)
    em.line("float acc = 0.0f;")
    em.open(f"for (int e = threadIdx.x; e < n_batch * {out_size}; e += {threads})")
    em.decl(n, sp.floor(e / out_size))
    em.decl(r, sp.Mod(e, out_size))
    for o, p in zip(imap.o, unravel(r, out_sp)):
        em.decl(o, p)
    pred = imap.valid if imap.padding_mode == "zeros" else sp.true
    x_off = ravel((n, c, *imap.padded_index()), (None, c_in, *in_sp))
    dy_off = ravel((n, co, *imap.o), (None, c_out, *out_sp))
    em.line(f"if ({em.expr(pred)}) acc += __ldg(&dy[{em.expr(dy_off)}]) * __ldg(&x[{em.expr(x_off)}]);")
    em.close()
    em.line(f"__shared__ float red[{threads}];")
    em.line("red[threadIdx.x] = acc;")
    em.line("__syncthreads();")
    em.open(f"for (int h = {threads // 2}; h > 0; h >>= 1)")
    em.line("if (threadIdx.x < h) red[threadIdx.x] += red[threadIdx.x + h];")
    em.line("__syncthreads();")
    em.close()
    em.line("if (threadIdx.x == 0) dw[b] = red[0];")
    params = (("const float* __restrict__", "x"), ("const float* __restrict__", "dy"), ("float* __restrict__", "dw"),
              ("int", "n_batch"))
    return KernelSource(name, kernel_text(name, params, em.text(), threads), params,
                        lambda nb: (n_w, 1, 1), (threads, 1, 1), barrier=True)
