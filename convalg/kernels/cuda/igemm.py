"""Tiled implicit-GEMM convolution kernels (shared-memory tiles, register blocking, no im2col buffer).

Each convolution pass is a GEMM ``C[m, p] = sum_q A(m, q) * B(q, p)`` per group,
whose operands are *gathered* on the fly through the index map:

==============  ===================  =======================  ===============================
pass            m                    q                        p
==============  ===================  =======================  ===============================
``fwd``         out channel (group)  (in channel, taps)       (batch, output position)
``bwd_data``    in channel (group)   (out channel, taps)      (batch, input position): B is the
                                                              gradient read at ``gather_output``
                                                              under ``gather_condition``
``bwd_weight``  out channel (group)  (batch, output pos.)     (in channel, taps); split over q
                                                              into fixed slices, summed in a
                                                              fixed order (deterministic)
==============  ===================  =======================  ===============================

``bwd_data`` with the map of a conv is also the forward pass of the transposed
conv (PyTorch weight ``(C_in, C_out/G, *k)``).  A block computes a ``BM x BN`` tile
of ``C``; per ``BK`` slice of ``q`` its threads gather ``A`` and ``B`` tiles into
registers (the fast thread index follows the contiguous memory axis: coalesced
loads), store them to shared memory, and, while the next slice's loads are in
flight (register prefetch), each thread accumulates a ``TM x TN`` register block
(``float4`` reads of its ``TM`` consecutive rows; its ``TN`` columns are interleaved
with its neighbours', :func:`owned_column`, so the epilogue's stores coalesce).

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> m = index_map(Conv(3, padding=1), (8, 8))
>>> ks = igemm(m, "fwd", 16, 32, 1, has_bias=False, tile=TILES["64x64"])
>>> ks.grid(2), ks.block, ks.barrier
((2, 1, 1), (256, 1, 1), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from ...index_map import IndexMap
from .codegen import Emitter, KernelSource, ceil_div, kernel_text, ravel, spec_tag, sym, thread_guard, unravel

__all__ = ["Tile", "TILES", "igemm", "gemm_sizes", "splitk_sum", "owned_column"]


@dataclass(frozen=True)
class Tile:
    """Block tile ``BM x BN``, ``BK`` reduction slice, ``TM x TN`` outputs per thread, ``blocks_per_sm`` resident
    blocks per SM (``__launch_bounds__`` minimum: ptxas caps the registers to fit them; the cost model counts them)."""

    bm: int
    bn: int
    bk: int
    tm: int
    tn: int
    blocks_per_sm: int = 2

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)


TILES = {
    "128x128": Tile(128, 128, 8, 8, 8, blocks_per_sm=1),
    "64x128": Tile(64, 128, 8, 4, 8),
    "64x64": Tile(64, 64, 16, 4, 4),
    "32x128": Tile(32, 128, 8, 4, 4),
    "16x128": Tile(16, 128, 16, 2, 4),
}


def gemm_sizes(imap: IndexMap, kind: str, c_in: int, c_out: int, groups: int, n_batch: int) -> tuple[int, int, int]:
    """``(M, Q, P)`` of one group's GEMM (``c_in``/``c_out``: channels of the conv's i / o sides)."""
    k = math.prod(int(a.kernel) for a in imap.axes)
    i_sp = math.prod(int(a.n) for a in imap.axes)
    o_sp = math.prod(int(a.n_out) for a in imap.axes)
    cig, cog = c_in // groups, c_out // groups
    if kind == "fwd":
        return cog, cig * k, n_batch * o_sp
    if kind == "bwd_data":
        return cig, cog * k, n_batch * i_sp
    return cog, n_batch * o_sp, cig * k


def igemm(imap: IndexMap, kind: str, c_in: int, c_out: int, groups: int, has_bias: bool, tile: Tile,
          splits: int = 1, guarded: bool = False) -> KernelSource:
    """Generate the implicit-GEMM kernel of ``kind`` (``fwd``, ``bwd_data``, ``bwd_weight``).

    ``c_in``, ``c_out``: channels of the conv whose map this is (its ``i`` and ``o``
    sides).  Pointers: ``a`` and ``b`` operands, ``bias``, output ``c``.
    ``fwd``: ``a = weight (c_out, c_in/G, *k)``, ``b = x``, ``c = y``.
    ``bwd_data``: ``a = weight``, ``b = dy`` (``o`` side), ``c = dx`` (``i`` side).
    ``bwd_weight``: ``a = dy``, ``b = x``, ``c = partial sums (splits, weight)``.
    ``guarded``: one more pointer, ``guard`` (one float, on the device), and the
    kernel does nothing unless ``guard[0] != 0``: a fallback decided on the device.
    """
    kernel = tuple(int(a.kernel) for a in imap.axes)
    i_sp = tuple(int(a.n) for a in imap.axes)
    o_sp = tuple(int(a.n_out) for a in imap.axes)
    K = math.prod(kernel)
    cig, cog = c_in // groups, c_out // groups
    t = tile
    name = "cv_igemm_" + spec_tag("igemm", kind, imap.axes, imap.padding_mode, imap.flip_kernel, c_in, c_out,
                                  groups, has_bias, t, splits, guarded)
    g, m, q, p, n, c, co, ci, sp_ = (sym(s) for s in ("g", "m", "q", "p", "n", "c", "co", "ci", "split"))
    syms = [g, m, q, p, *imap.o, *imap.k, *imap.i]
    M, Qper, Pper = gemm_sizes(imap, kind, c_in, c_out, groups, 1)
    batch_in = "q" if kind == "bwd_weight" else "p"
    x_pred = imap.valid if imap.padding_mode == "zeros" else sp.true

    def a_operand(em: Emitter) -> tuple[sp.Expr, sp.Expr]:
        if kind == "fwd":  # weight[g*cog + m, ci, tap(k)], q = (ci, k)
            parts = unravel(q, (cig, *kernel))
            em.decl(ci, parts[0])
            for k, e in zip(imap.k, parts[1:]):
                em.decl(k, e)
            return ravel((g * cog + m, ci, *imap.taps()), (c_out, cig, *kernel)), sp.true
        if kind == "bwd_data":  # weight[g*cog + co, m, tap(k)], q = (co, k)
            parts = unravel(q, (cog, *kernel))
            em.decl(co, parts[0])
            for k, e in zip(imap.k, parts[1:]):
                em.decl(k, e)
            return ravel((g * cog + co, m, *imap.taps()), (c_out, cig, *kernel)), sp.true
        parts = unravel(q, (None, *o_sp))  # dy[n, g*cog + m, o], q = (n, o)
        em.decl(n, parts[0])
        for o, e in zip(imap.o, parts[1:]):
            em.decl(o, e)
        return ravel((n, g * cog + m, *imap.o), (None, c_out, *o_sp)), sp.true

    def b_operand(em: Emitter) -> tuple[sp.Expr, sp.Expr]:
        if kind == "fwd":  # x[n, g*cig + ci, padded_index(o, k)], q = (ci, k), p = (n, o)
            for o, e in zip(imap.o, unravel(p, (None, *o_sp))[1:]):
                em.decl(o, e)
            em.decl(n, unravel(p, (None, *o_sp))[0])
            parts = unravel(q, (cig, *kernel))
            em.decl(ci, parts[0])
            for k, e in zip(imap.k, parts[1:]):
                em.decl(k, e)
            return ravel((n, g * cig + ci, *imap.padded_index()), (None, c_in, *i_sp)), x_pred
        if kind == "bwd_data":  # dy[n, g*cog + co, gather_output(i, k)], q = (co, k), p = (n, i)
            parts = unravel(p, (None, *i_sp))
            em.decl(n, parts[0])
            for i, e in zip(imap.i, parts[1:]):
                em.decl(i, e)
            parts = unravel(q, (cog, *kernel))
            em.decl(co, parts[0])
            for k, e in zip(imap.k, parts[1:]):
                em.decl(k, e)
            for a in imap.axes:
                em.decl(a.o, a.gather_index)
            cond = sp.And(*[a.gather_index_condition for a in imap.axes])
            return ravel((n, g * cog + co, *imap.o), (None, c_out, *o_sp)), cond
        parts = unravel(q, (None, *o_sp))  # x[n, g*cig + ci, padded_index(o, k)], q = (n, o), p = (ci, k)
        em.decl(n, parts[0])
        for o, e in zip(imap.o, parts[1:]):
            em.decl(o, e)
        parts = unravel(p, (cig, *kernel))  # p is the stored weight position: solve k from tap(k)
        em.decl(ci, parts[0])
        for a, e in zip(imap.axes, parts[1:]):
            stored = sym(f"w{a.axis}")
            em.decl(stored, e)
            em.decl(a.k, a.tap_for_weight(stored, imap.flip_kernel))
        return ravel((n, g * cig + ci, *imap.padded_index()), (None, c_in, *i_sp)), x_pred

    def c_operand(em: Emitter) -> sp.Expr:
        if kind == "fwd":
            parts = unravel(p, (None, *o_sp))
            return ravel((parts[0], g * cog + m, *parts[1:]), (None, c_out, *o_sp))
        if kind == "bwd_data":
            parts = unravel(p, (None, *i_sp))
            return ravel((parts[0], g * cig + m, *parts[1:]), (None, c_in, *i_sp))
        return ravel((sp_, g * cog + m, p), (None, c_out, cig * K))  # partial sums, weight layout per split

    em = Emitter(syms)
    if guarded:
        em.line("if (guard[0] == 0.0f) return;  // the whole block: no barrier is left waiting")
    em.line(f"__shared__ __align__(16) float As[{t.bk}][{t.bm + 4}];")
    em.line(f"__shared__ __align__(16) float Bs[{t.bk}][{t.bn + 4}];")
    em.line(f"const int M = {M};")
    em.line(f"const int Q = {Qper}{' * n_batch' if batch_in == 'q' else ''};")
    em.line(f"const int P = {Pper}{' * n_batch' if batch_in == 'p' else ''};")
    em.decl(g, f"blockIdx.z / {splits}")
    em.decl(sp_, f"blockIdx.z % {splits}")
    em.line(f"const int q_chunk = ((Q + {splits * t.bk - 1}) / {splits * t.bk}) * {t.bk};")
    em.line("const int q_begin = split * q_chunk;")
    em.line("const int q_end = cv_min(Q, q_begin + q_chunk);")
    em.line(f"const int tx = threadIdx.x % {t.bn // t.tn}, ty = threadIdx.x / {t.bn // t.tn};")
    em.line(f"float acc[{t.tm}][{t.tn}];")
    em.line("#pragma unroll")
    em.open(f"for (int i = 0; i < {t.tm}; ++i)")
    em.line("#pragma unroll")
    em.line(f"for (int j = 0; j < {t.tn}; ++j) acc[i][j] = 0.0f;")
    em.close()
    tiles = (("As", "ra", t.bm, a_operand, True), ("Bs", "rb", t.bn, b_operand, kind == "bwd_weight"))
    for _, reg, rows, _, _ in tiles:
        if (rows * t.bk) % t.threads:
            raise ValueError(f"tile {t}: {rows}x{t.bk} elements do not split over {t.threads} threads")
        em.line(f"float {reg}[{rows * t.bk // t.threads}];")

    def gather_tile(first: str) -> None:
        """Global -> registers for the q slice starting at ``first`` (coalesced: see the module docstring)."""
        em.line(f"const int q0 = {first};")
        for tile_name, reg, rows, op, q_fast_first in tiles:
            per = rows * t.bk
            em.line("#pragma unroll")
            em.open(f"for (int r = 0; r < {per // t.threads}; ++r)")
            em.line(f"const int e = threadIdx.x + r * {t.threads};")
            if q_fast_first:
                em.line(f"const int ql = e % {t.bk}, rl = e / {t.bk};")
            else:
                em.line(f"const int rl = e % {rows}, ql = e / {rows};")
            row_sym = m if tile_name == "As" else p
            em.line(f"const int {row_sym} = blockIdx.{'y' if tile_name == 'As' else 'x'} * {rows} + rl;")
            em.line("const int q = q0 + ql;")
            off, pred = op(em)
            bound = f"{row_sym} < {'M' if tile_name == 'As' else 'P'} && q < q_end"
            em.line(f"{reg}[r] = ({bound} && ({em.expr(pred)})) ? __ldg(&{'a' if tile_name == 'As' else 'b'}"
                    f"[{em.expr(off)}]) : 0.0f;")
            em.close()

    def store_tile() -> None:
        """Registers -> shared memory (same element mapping as :func:`gather_tile`)."""
        for tile_name, reg, rows, _, q_fast_first in tiles:
            em.line("#pragma unroll")
            em.open(f"for (int r = 0; r < {rows * t.bk // t.threads}; ++r)")
            em.line(f"const int e = threadIdx.x + r * {t.threads};")
            if q_fast_first:
                em.line(f"{tile_name}[e % {t.bk}][e / {t.bk}] = {reg}[r];")
            else:
                em.line(f"{tile_name}[e / {rows}][e % {rows}] = {reg}[r];")
            em.close()

    # software pipeline: the next slice's global loads are in flight while this slice is multiplied
    em.open("if (q_begin < q_end)")
    gather_tile("q_begin")
    em.close()
    em.open(f"for (int q_cur = q_begin; q_cur < q_end; q_cur += {t.bk})")
    store_tile()
    em.line("__syncthreads();")
    em.open(f"if (q_cur + {t.bk} < q_end)")
    gather_tile(f"q_cur + {t.bk}")
    em.close()
    em.line("#pragma unroll")
    em.open(f"for (int kk = 0; kk < {t.bk}; ++kk)")
    em.line(f"float av[{t.tm}], bv[{t.tn}];")
    for arr, reg, size, idx in (("As", "av", t.tm, "ty"), ("Bs", "bv", t.tn, "tx")):
        if size % 4 == 0 and arr == "As":  # a thread's rows are consecutive: float4 reads
            em.line("#pragma unroll")
            em.open(f"for (int v = 0; v < {size}; v += 4)")
            em.line(f"const float4 f = *reinterpret_cast<const float4*>(&{arr}[kk][{idx} * {size} + v]);")
            em.line(f"{reg}[v] = f.x; {reg}[v + 1] = f.y; {reg}[v + 2] = f.z; {reg}[v + 3] = f.w;")
            em.close()
        else:
            em.line("#pragma unroll")
            col = owned_column(t, "v") if arr == "Bs" else f"{idx} * {size} + v"
            em.line(f"for (int v = 0; v < {size}; ++v) {reg}[v] = {arr}[kk][{col}];")
    em.line("#pragma unroll")
    em.open(f"for (int i = 0; i < {t.tm}; ++i)")
    em.line("#pragma unroll")
    em.line(f"for (int j = 0; j < {t.tn}; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);")
    em.close()
    em.close()
    em.line("__syncthreads();")
    em.close()
    em.line("#pragma unroll")
    em.open(f"for (int i = 0; i < {t.tm}; ++i)")
    em.line(f"const int m = blockIdx.y * {t.bm} + ty * {t.tm} + i;")
    em.line("if (m >= M) continue;")
    bias_channel = {"fwd": cog, "bwd_data": cig}.get(kind)
    em.line(f"const float bv = {f'__ldg(&bias[g * {bias_channel} + m])' if has_bias and bias_channel else '0.0f'};")
    em.line("#pragma unroll")
    em.open(f"for (int j = 0; j < {t.tn}; ++j)")
    em.line(f"const int p = blockIdx.x * {t.bn} + {owned_column(t, 'j')};")
    em.line(f"if (p < P) c[{em.expr(c_operand(em))}] = acc[i][j] + bv;")
    em.close()
    em.close()
    params = (("const float* __restrict__", "a"), ("const float* __restrict__", "b"),
              ("const float* __restrict__", "bias"), ("float* __restrict__", "c"), *_guard(guarded), ("int", "n_batch"))

    def grid(nb: int) -> tuple[int, int, int]:
        m_, _, p_ = gemm_sizes(imap, kind, c_in, c_out, groups, nb)
        return ceil_div(p_, t.bn), ceil_div(m_, t.bm), groups * splits

    return KernelSource(name, kernel_text(name, params, em.text(), t.threads, t.blocks_per_sm), params, grid, (t.threads, 1, 1),
                        barrier=True, notes={"tile": t, "splits": splits})


def owned_column(t: Tile, j: str) -> str:
    """Tile column (``p`` within the block) of a thread's ``j``-th output column, in C: ``j * (BN / TN) + tx``.

    Neighbouring threads own neighbouring columns, so each epilogue store of a warp
    covers contiguous addresses along ``p`` (coalesced), and the shared-memory reads of
    ``Bs`` are conflict-free (threads of one row of the block read the same word:
    broadcast).

    >>> owned_column(TILES["64x128"], "j")
    'j * 16 + tx'
    """
    return f"{j} * {t.bn // t.tn} + tx"


def _guard(guarded: bool) -> tuple[tuple[str, str], ...]:
    return (("const float* __restrict__", "guard"),) if guarded else ()


def splitk_sum(size: int, splits: int, guarded: bool = False) -> KernelSource:
    """``out[e] = sum_s part[s, e]`` in increasing ``s`` (fixed order: deterministic); ``guarded`` as :func:`igemm`."""
    name = f"cv_splitk_sum_{size}_{splits}" + ("_guarded" if guarded else "")
    e = sym("e")
    em = Emitter([e])
    if guarded:
        em.line("if (guard[0] == 0.0f) return;")
    thread_guard(em, e, "1", size)
    em.line("float acc = 0.0f;")
    em.line(f"for (int s = 0; s < {splits}; ++s) acc += part[s * {size} + e];")
    em.line("out[e] = acc;")
    params = (("const float* __restrict__", "part"), ("float* __restrict__", "out"), *_guard(guarded),
              ("int", "n_batch"))
    return KernelSource(name, kernel_text(name, params, em.text()), params,
                        lambda nb: (ceil_div(size, 256), 1, 1), (256, 1, 1))
