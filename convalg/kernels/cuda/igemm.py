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

The code is split the same way: one :class:`GemmPass` per convolution pass (``PASSES``)
says how its ``A`` and ``B`` elements are gathered through the index map and where
``C`` is stored; :class:`TiledGemm` emits the tiled GEMM around any of them.

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> m = index_map(Conv(3, padding=1), (8, 8))
>>> ks = igemm(m, "fwd", 16, 32, 1, has_bias=False, tile=TILES["64x64"])
>>> ks.grid(2), ks.block, ks.barrier
((2, 1, 1), (256, 1, 1), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ...index_map import IndexMap
from .codegen import Emitter, KernelSource, ceil_div, kernel_text, spec_tag, thread_prologue
from .gemm_passes import PASSES, SPLIT, G, GemmPass, M, P, Q, gemm_pass, gemm_sizes

__all__ = ["Tile", "TILES", "igemm", "gemm_sizes", "splitk_sum", "owned_column", "GemmPass", "PASSES", "TiledGemm"]


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

@dataclass(frozen=True)
class _Operand:
    """One shared-memory tile of the GEMM: ``A`` (rows ``m``, ``BM``) or ``B`` (rows ``p``, ``BN``)."""

    smem: str  # "As" / "Bs"
    reg: str  # its register staging array
    rows: int
    row: sp.Symbol  # m / p
    size: str  # "M" / "P"
    block: str  # the blockIdx component along the rows
    pointer: str  # "a" / "b"
    q_fast_first: bool  # consecutive threads step along q (B of bwd_weight: x is contiguous along the taps)


class TiledGemm:
    """Emits the tiled, register-blocked, software-pipelined GEMM kernel of one :class:`GemmPass`."""

    def __init__(self, ops: GemmPass, tile: Tile, splits: int, has_bias: bool, guarded: bool) -> None:
        self.ops, self.t, self.splits, self.has_bias, self.guarded = ops, tile, splits, has_bias, guarded
        imap = ops.imap
        self.em = Emitter([G, M, Q, P, *imap.o, *imap.k, *imap.i])
        t = tile
        self.tiles = (_Operand("As", "ra", t.bm, M, "M", "y", "a", True),
                      _Operand("Bs", "rb", t.bn, P, "P", "x", "b", ops.batch_axis == "q"))
        for op in self.tiles:
            if (op.rows * t.bk) % t.threads:
                raise ValueError(f"tile {t}: {op.rows}x{t.bk} elements do not split over {t.threads} threads")

    def kernel(self) -> KernelSource:
        ops, t = self.ops, self.t
        imap = ops.imap
        name = "cv_gemm_" + spec_tag("gemm", ops.conv_pass, imap.axes, imap.padding_mode, imap.flip_kernel,
                                      ops.c_in, ops.c_out, ops.groups, self.has_bias, t, self.splits, self.guarded)
        self._prologue()
        self._main_loop()
        self._epilogue()
        params = (("const float* __restrict__", "a"), ("const float* __restrict__", "b"),
                  ("const float* __restrict__", "bias"), ("float* __restrict__", "c"), *_guard(self.guarded),
                  ("int", "n_batch"))

        def grid(nb: int) -> tuple[int, int, int]:
            m_, _, p_ = ops.sizes(nb)
            return ceil_div(p_, t.bn), ceil_div(m_, t.bm), ops.groups * self.splits

        return KernelSource(name, kernel_text(name, params, self.em.text(), t.threads, t.blocks_per_sm), params, grid,
                            (t.threads, 1, 1), barrier=True, notes={"tile": t, "splits": self.splits})

    def _prologue(self) -> None:
        """Shared tiles, the GEMM sizes, this block's group and split-K range, the zeroed accumulators."""
        em, t, splits = self.em, self.t, self.splits
        m_, q_, p_ = self.ops.sizes(1)
        if self.guarded:
            em.line("if (guard[0] == 0.0f) return;  // the whole block: no barrier is left waiting")
        em.line(f"__shared__ __align__(16) float As[{t.bk}][{t.bm + 4}];")
        em.line(f"__shared__ __align__(16) float Bs[{t.bk}][{t.bn + 4}];")
        em.line(f"const int M = {m_};")
        em.line(f"const int Q = {q_}{' * n_batch' if self.ops.batch_axis == 'q' else ''};")
        em.line(f"const int P = {p_}{' * n_batch' if self.ops.batch_axis == 'p' else ''};")
        em.decl(G, f"blockIdx.z / {splits}")
        em.decl(SPLIT, f"blockIdx.z % {splits}")
        em.line(f"const int q_chunk = ((Q + {splits * t.bk - 1}) / {splits * t.bk}) * {t.bk};")
        em.line("const int q_begin = split * q_chunk;")
        em.line("const int q_end = cv_min(Q, q_begin + q_chunk);")
        em.line(f"const int tx = threadIdx.x % {t.bn // t.tn}, ty = threadIdx.x / {t.bn // t.tn};")
        em.line(f"float acc[{t.tm}][{t.tn}];")
        em.unrolled(f"for (int i = 0; i < {t.tm}; ++i)")
        em.unrolled(f"for (int j = 0; j < {t.tn}; ++j)", "acc[i][j] = 0.0f;")
        em.close()
        for op in self.tiles:
            em.line(f"float {op.reg}[{op.rows * t.bk // t.threads}];")

    def _element_loop(self, op: _Operand) -> tuple[str, str]:
        """Open the loop over this thread's elements ``e`` of ``op``'s tile; returns where ``e`` sits: the C
        declaration of its slice column ``ql`` and tile row ``rl``, and its shared-memory subscript ``[ql][rl]``
        (one mapping for the gather and the store)."""
        t = self.t
        self.em.unrolled(f"for (int r = 0; r < {op.rows * t.bk // t.threads}; ++r)")
        self.em.line(f"const int e = threadIdx.x + r * {t.threads};")
        if op.q_fast_first:
            return f"const int ql = e % {t.bk}, rl = e / {t.bk};", f"[e % {t.bk}][e / {t.bk}]"
        return f"const int rl = e % {op.rows}, ql = e / {op.rows};", f"[e / {op.rows}][e % {op.rows}]"

    def _gather_tile(self, first: str) -> None:
        """Global -> registers for the q slice starting at ``first`` (coalesced: see the module docstring)."""
        em = self.em
        em.line(f"const int q0 = {first};")
        for op in self.tiles:
            em.line(self._element_loop(op)[0])
            em.line(f"const int {op.row} = blockIdx.{op.block} * {op.rows} + rl;")
            em.line("const int q = q0 + ql;")
            off, pred = (self.ops.a_operand if op.smem == "As" else self.ops.b_operand)(em)
            bound = f"{op.row} < {op.size} && q < q_end"
            em.line(f"{op.reg}[r] = ({bound} && ({em.expr(pred)})) ? __ldg(&{op.pointer}[{em.expr(off)}]) : 0.0f;")
            em.close()

    def _store_tile(self) -> None:
        """Registers -> shared memory (same element mapping as :meth:`_gather_tile`)."""
        for op in self.tiles:
            self.em.line(f"{op.smem}{self._element_loop(op)[1]} = {op.reg}[r];")
            self.em.close()

    def _multiply_slice(self) -> None:
        """``acc += As[kk] (x) Bs[kk]`` over the ``BK`` slice in shared memory (register blocking)."""
        em, t = self.em, self.t
        em.unrolled(f"for (int kk = 0; kk < {t.bk}; ++kk)")
        em.line(f"float av[{t.tm}], bv[{t.tn}];")
        if t.tm % 4 == 0:  # a thread's rows are consecutive: float4 reads
            em.unrolled(f"for (int v = 0; v < {t.tm}; v += 4)")
            em.line(f"const float4 f = *reinterpret_cast<const float4*>(&As[kk][ty * {t.tm} + v]);")
            em.line("av[v] = f.x; av[v + 1] = f.y; av[v + 2] = f.z; av[v + 3] = f.w;")
            em.close()
        else:
            em.unrolled(f"for (int v = 0; v < {t.tm}; ++v)", f"av[v] = As[kk][ty * {t.tm} + v];")
        em.unrolled(f"for (int v = 0; v < {t.tn}; ++v)", f"bv[v] = Bs[kk][{owned_column(t, 'v')}];")
        em.unrolled(f"for (int i = 0; i < {t.tm}; ++i)")
        em.unrolled(f"for (int j = 0; j < {t.tn}; ++j)", "acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);")
        em.close()
        em.close()

    def _main_loop(self) -> None:
        """Software pipeline: the next slice's global loads are in flight while this slice is multiplied."""
        em, t = self.em, self.t
        em.open("if (q_begin < q_end)")
        self._gather_tile("q_begin")
        em.close()
        em.open(f"for (int q_cur = q_begin; q_cur < q_end; q_cur += {t.bk})")
        self._store_tile()
        em.line("__syncthreads();")
        em.open(f"if (q_cur + {t.bk} < q_end)")
        self._gather_tile(f"q_cur + {t.bk}")
        em.close()
        self._multiply_slice()
        em.line("__syncthreads();")
        em.close()

    def _epilogue(self) -> None:
        """``c = acc + bias`` for this thread's ``TM x TN`` outputs (columns interleaved: coalesced stores)."""
        em, t = self.em, self.t
        em.unrolled(f"for (int i = 0; i < {t.tm}; ++i)")
        em.line(f"const int m = blockIdx.y * {t.bm} + ty * {t.tm} + i;")
        em.line("if (m >= M) continue;")
        channels = self.ops.bias_channels
        em.line(f"const float bv = {f'__ldg(&bias[g * {channels} + m])' if self.has_bias and channels else '0.0f'};")
        em.unrolled(f"for (int j = 0; j < {t.tn}; ++j)")
        em.line(f"const int p = blockIdx.x * {t.bn} + {owned_column(t, 'j')};")
        em.line(f"if (p < P) c[{em.expr(self.ops.c_offset())}] = acc[i][j] + bv;")
        em.close()
        em.close()


def igemm(imap: IndexMap, conv_pass: str, c_in: int, c_out: int, groups: int, has_bias: bool, tile: Tile,
          splits: int = 1, guarded: bool = False) -> KernelSource:
    """Generate the implicit-GEMM kernel of ``conv_pass`` (``fwd``, ``bwd_data``, ``bwd_weight``).

    ``c_in``, ``c_out``: channels of the conv whose map this is (its ``i`` and ``o``
    sides).  Pointers: ``a`` and ``b`` operands, ``bias``, output ``c``
    (see :class:`ForwardPass`, :class:`BackwardDataPass`, :class:`BackwardWeightPass`).
    ``guarded``: one more pointer, ``guard`` (one float, on the device), and the
    kernel does nothing unless ``guard[0] != 0``: a fallback decided on the device.
    """
    return TiledGemm(gemm_pass(imap, conv_pass, c_in, c_out, groups), tile, splits, has_bias, guarded).kernel()


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
    em = Emitter()
    if guarded:
        em.line("if (guard[0] == 0.0f) return;")
    thread_prologue(em, "1", size, t="e")
    em.line("float acc = 0.0f;")
    em.line(f"for (int s = 0; s < {splits}; ++s) acc += part[s * {size} + e];")
    em.line("out[e] = acc;")
    params = (("const float* __restrict__", "part"), ("float* __restrict__", "out"), *_guard(guarded),
              ("int", "n_batch"))
    return KernelSource(name, kernel_text(name, params, em.text()), params,
                        lambda nb: (ceil_div(size, 256), 1, 1), (256, 1, 1))
