"""Winograd / Toom-Cook convolution F(m, r), N-d, multi-channel (Lavin & Gray 2015).

For stride 1 and dilation 1 the padded input is cut into overlapping tiles of
``alpha = m + r - 1`` (a zero-copy ``as_strided`` view, step ``m``); per axis

    V = BT d BT^T ...,   U = G w G^T ...,   M[xi] = U[xi] @ V[xi],   y = AT M AT^T ...

where ``M[xi]`` is one GEMM ``(Cout/G x Cin/G) @ (Cin/G x N*tiles)`` per
transformed point ``xi`` (``prod(alpha)`` of them).  The matrices are the exact
rational ones of :func:`convalg.operators.winograd.winograd_matrices`, rounded
once to the working dtype.  Every transform is one GEMM along one axis
(``(alpha x alpha) @ (alpha x everything else)``).

Error model: the transforms mix every element of a tile, so the error is
*norm-wise* per tile, not element-wise, and grows with the tile (Barabasz et
al. 2020).  :func:`error_bound` is the bound the tests use,

    |y - ŷ| <= 2 u F (C/G * prod(k)) * max|x| * sum_{ci,k} |w[co, ci, k]|

with ``F`` = :func:`error_factor` (product over axes of
``||AT||∞ ||G||∞ ||BT||∞``: 12.6 per axis for F(2,3) with points 0, ±1;
120 for F(4,3); ~8000 for F(6,3)).

Memory: the tiles, their transform and the per-point products each take
``prod(alpha/m)`` times the input (or output) of one batch chunk; stages are
freed as the next is made.  The batch is processed in chunks of about
:data:`CHUNK_BYTES` of tiles (cache-sized stages), and the forward pass runs
its chunks on :func:`~convalg.kernels.numpy.parallel.map_chunks` threads with
BLAS pinned to one thread (:func:`_work_items` says when).  A forward call
peaks near ``2 prod(alpha/m)`` times the chunks' input (or output) plus the
whole output: the price of the batched GEMMs.  Measured errors, peaks and
timings: ``docs/performance.md`` (Kernel design measurements).

The weight gradient (:func:`weight_grad_winograd`) uses F(r, m): the tiles'
sum moves inside the output transform, one GEMM per point over ``N * tiles``.
Dilated layers run on their undilated phases (:mod:`.polyphase`).
"""

from __future__ import annotations

import math
import threading
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

import numpy as np

from ...operators.winograd import winograd_matrices
from . import parallel, workspace
from .plan import WindowPlan

__all__ = ["conv_winograd", "weight_grad_winograd", "weight_grad_error_bound", "tile_sizes", "winograd_extent", "error_factor", "error_bound", "supports",
           "DEFAULT_TILE"]

#: Output tile ``m`` per kernel size ``r`` (F(4,3) for 3x3, alpha <= 8).
DEFAULT_TILE = {1: 1, 2: 4, 3: 4, 4: 3, 5: 2, 6: 2, 7: 2}


def supports(plan: WindowPlan) -> bool:
    """Stride 1, dilation 1 and every kernel size in ``DEFAULT_TILE``."""
    return (all(s == 1 for s in plan.step) and all(t == 1 for t in plan.tap_step)
            and all(k in DEFAULT_TILE for k in plan.kernel))


def tile_sizes(plan: WindowPlan, tile: int | None = None) -> tuple[int, ...]:
    """Output tile per axis (``r = 1`` axes use F(1, 1): no transform)."""
    return tuple(tile if (tile is not None and k > 1) else DEFAULT_TILE[k] for k in plan.kernel)


def winograd_extent(plan: WindowPlan, tile: int | None = None) -> tuple[int, ...]:
    """Padded extent covering whole tiles: ``ceil(out/m)*m + r - 1`` per axis."""
    ms = tile_sizes(plan, tile)
    return tuple(-(-o // m) * m + k - 1 for o, m, k in zip(plan.output_shape, ms, plan.kernel))


@lru_cache(maxsize=64)
def _arrays(m: int, r: int, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    AT, G, BT = winograd_matrices(m, r)
    mats = tuple(np.array(M.tolist(), dtype=np.float64).astype(dtype) for M in (AT, G, BT))
    for a in mats:
        a.flags.writeable = False  # shared through the cache
    return mats  # type: ignore[return-value]


def error_factor(plan: WindowPlan, tile: int | None = None) -> float:
    """Growth of the rounding error over GEMM: ``prod_a ||AT||_inf ||G||_inf ||BT||_inf``."""
    f = 1.0
    for m, r in zip(tile_sizes(plan, tile), plan.kernel):
        AT, G, BT = _arrays(m, r, "float64")
        f *= float(np.abs(AT).sum(1).max() * np.abs(G).sum(1).max() * np.abs(BT).sum(1).max())
    return f


def error_bound(x: np.ndarray, w: np.ndarray, plan: WindowPlan, tile: int | None = None,
                dtype: Any = None) -> np.ndarray:
    """Norm-wise bound on the error of :func:`conv_winograd` in ``dtype`` (default: the arrays') per output channel."""
    u = float(np.finfo(np.result_type(x, w) if dtype is None else np.dtype(dtype)).eps) / 2
    k_len = w.shape[1] * math.prod(plan.kernel)
    xmax = float(np.abs(x).max()) if x.size else 0.0
    wsum = np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).sum(axis=1)
    bound = 2 * u * error_factor(plan, tile) * k_len * xmax * wsum
    return bound.reshape(1, -1, *[1] * plan.ndim)


_KRON: dict[tuple[int, ...], tuple[list[np.ndarray], np.ndarray]] = {}


def _kron(mats: list[np.ndarray]) -> np.ndarray:
    """Kronecker product of the (cached, immutable) transform matrices, cached on their identity
    (the entry keeps them alive, so an id cannot be reused while cached)."""
    key = tuple(id(m) for m in mats)
    hit = _KRON.get(key)
    if hit is None:
        out = mats[0]
        for m in mats[1:]:
            out = np.kron(out, m)
        if len(_KRON) > 256:
            _KRON.clear()
        hit = _KRON[key] = (list(mats), out)
    return hit[1]


def _transform(t: np.ndarray, mats: list[np.ndarray], slot: str | None = None) -> np.ndarray:
    """Apply ``mats[j]`` (``(new, old)``) along leading axis ``j`` of ``t`` (``(*old, rest)``): one GEMM
    with their Kronecker product (row-major order of the leading axes), into scratch ``slot`` if given."""
    nd = len(mats)
    rest = t.shape[nd:]
    kron = _kron(mats)
    flat = t.reshape(math.prod(t.shape[:nd]), -1)
    out = None if slot is None else workspace.scratch(slot, (kron.shape[0], flat.shape[1]), np.result_type(kron, t))
    res = np.matmul(kron, flat, out=out)
    return res.reshape(*[m.shape[0] for m in mats], *rest)


#: Batch entries per chunk: the tiles of one chunk take about this many bytes (cache-sized stages).
CHUNK_BYTES = 2 << 20
#: Smallest chunk worth a thread of its own (:func:`_work_items`; a hand-off costs ~20-50 µs).
MIN_CHUNK_BYTES = 256 << 10
#: Fewest tiles (GEMM columns per point) a chunk thread gets (:func:`_work_items`).
MIN_CHUNK_COLUMNS = 64


def batch_chunk(bytes_per_entry: int) -> int:
    """Batch entries per chunk (at least 1)."""
    return max(1, CHUNK_BYTES // max(bytes_per_entry, 1))


def _input_tiles(padded: np.ndarray, ms: tuple[int, ...], alphas: tuple[int, ...], tiles: tuple[int, ...],
                 slot: str | None = None) -> np.ndarray:
    """``(*alpha, C, N, *T)``: the overlapping input tiles, ``prod(alpha/m)`` times the input (one copy,
    into scratch ``slot`` if given)."""
    n, c = padded.shape[:2]
    st = padded.strides[2:]
    view = np.lib.stride_tricks.as_strided(
        padded, (*alphas, c, n, *tiles), (*st, padded.strides[1], padded.strides[0], *[m * s for m, s in zip(ms, st)]),
        writeable=False)
    if slot is None:
        return parallel.contiguous(view)
    return parallel.copyto(workspace.scratch(slot, view.shape, view.dtype), view)


def _work_items(n: int, tiles: tuple[int, ...], entry_bytes: int, workers: int | None = None) -> list[tuple[int, int]]:
    """Batch chunks ``(b0, nb)``: about :data:`CHUNK_BYTES` of tiles each, and at least one per chunk thread
    (:data:`~.parallel.KERNEL_WORKERS`, or ``workers``) when each still gets :data:`MIN_CHUNK_BYTES` of tiles
    and :data:`MIN_CHUNK_COLUMNS` tiles (the columns of its per-point GEMMs).

    The batch only: one image's rows of tiles are not split over threads (no faster in measurements,
    ``docs/performance.md``)."""
    threads = parallel.KERNEL_WORKERS if workers is None else workers
    want = max(1, min(threads, n, n * entry_bytes // MIN_CHUNK_BYTES, n * math.prod(tiles) // MIN_CHUNK_COLUMNS))
    step = min(batch_chunk(entry_bytes), -(-n // want))
    return [(b0, min(n, b0 + step) - b0) for b0 in range(0, n, step)]


def conv_winograd(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int,
                  tile: int | None = None) -> np.ndarray:
    """Correlation of ``padded`` (padded to :func:`winograd_extent`) with ``w`` by F(m, r) per axis."""
    n, c = padded.shape[:2]
    cout = w.shape[0]
    dtype = np.result_type(padded, w)
    out = plan.output_shape
    ms = tile_sizes(plan, tile)
    ks = plan.kernel
    alphas = tuple(m + k - 1 for m, k in zip(ms, ks))
    tiles = tuple(-(-o // m) for o, m in zip(out, ms))
    if n == 0 or math.prod(out) == 0:
        return np.zeros((n, cout, *out), dtype=dtype)
    mats = [_arrays(m, k, dtype.name) for m, k in zip(ms, ks)]
    na = math.prod(alphas)
    items = _work_items(n, tiles, na * c * math.prod(tiles) * padded.itemsize)
    with parallel.single_threaded_blas() if len(items) > 1 else nullcontext():
        return _conv_winograd(padded, w, plan, groups, ms, alphas, tiles, mats, items)


def _conv_winograd(padded: np.ndarray, w: np.ndarray, plan: WindowPlan, groups: int, ms: tuple[int, ...],
                   alphas: tuple[int, ...], tiles: tuple[int, ...], mats: list[Any],
                   items: list[tuple[int, int]]) -> np.ndarray:
    n, c = padded.shape[:2]
    cout, nd = w.shape[0], plan.ndim
    g, cg, cog = groups, c // groups, cout // groups
    dtype, out, na = np.result_type(padded, w), plan.output_shape, math.prod(alphas)
    # weight transform: one GEMM with the taps as the contraction, BLAS reading w^T in place (no transpose copy)
    kron_g = _kron([gm for _, gm, _ in mats])
    u = np.matmul(kron_g, w.reshape(cout * cg, -1).T,
                  out=workspace.scratch("winograd.u", (na, cout * cg), dtype)).reshape(na, g, cog, cg)
    full_shape = (n, cout, *[t * m for t, m in zip(tiles, ms)])
    holder: list[np.ndarray | None] = [None]  # the output, allocated once a chunk's stages are freed (lower peak)
    lock = threading.Lock()
    shape = [-1, cout]
    for t, m in zip(tiles, ms):
        shape += [t, m]
    order = [nd, nd - 1]
    for a in range(nd - 1):
        order += [nd + 1 + a, a]
    order += [2 * nd, 2 * nd + 1]

    nt = math.prod(tiles)

    def run(item: tuple[int, int]) -> None:
        b0, nb = item
        # every stage in this thread's scratch buffers (no fresh pages per call in a plain process)
        d = _input_tiles(padded[b0:b0 + nb], ms, alphas, tiles, "winograd.tiles")
        v = _transform(d, [bt for _, _, bt in mats], "winograd.v").reshape(na, g, cg, nb * nt)
        del d
        mprod = np.matmul(u, v, out=workspace.scratch("winograd.m", (na, g, cog, nb * nt), dtype))  # per point
        del v
        # output transform: the last axis first with the result's m_d innermost (BLAS reads the transposed
        # operand in place), then the leading axes in one Kronecker GEMM; the final copy then moves rows of
        # T_d*m_d contiguous elements
        rows = math.prod(alphas[:-1])
        lhs = mprod.reshape(rows, alphas[-1], -1).transpose(0, 2, 1)
        last = np.matmul(lhs, mats[-1][0].T, out=workspace.scratch("winograd.last", (*lhs.shape[:2], ms[-1]),
                                                                     dtype))  # (rows, R, m_d)
        del mprod
        y = last.reshape(*alphas[:-1], cout * nb * nt * ms[-1])
        del last
        if nd > 1:
            y = _transform(y, [at for at, _, _ in mats[:-1]], "winograd.y")
        y = y.reshape(*ms[:-1], cout, nb, *tiles, ms[-1])  # (*m[:-1], Cout, nb, *T, m_d)
        with lock:
            if holder[0] is None:
                holder[0] = np.empty(full_shape, dtype=dtype)
        parallel.copyto(holder[0][b0:b0 + nb].reshape(shape), y.transpose(order))

    parallel.map_chunks(run, items)
    full = holder[0]
    assert full is not None
    if full.shape[2:] == out:
        return full
    return parallel.contiguous(full[(Ellipsis, *[slice(0, o) for o in out])])


def weight_grad_winograd(padded: np.ndarray, gy: np.ndarray, plan: WindowPlan, groups: int,
                         tile: int | None = None) -> np.ndarray:
    """Weight gradient by F(r, m) per axis (the roles of kernel and tile swapped).

    With output tiles ``o = m t + j``, ``dW[k] = sum_{n,t} sum_j gy_t[j] d_t[j + k]``: per tile an
    ``r``-output correlation with the ``m``-tap filter ``gy_t`` over the same ``alpha``-point input tile
    ``d_t`` as the forward pass, so with ``(AT, G, BT)`` of F(r, m) the sum over tiles moves inside the
    output transform: ``M[xi] = (G gy)[xi] @ (BT d)[xi]^T``, one GEMM ``(Cout/G x N*T) @ (N*T x Cin/G)``
    per transformed point, and ``dW = AT M AT^T ...``.  ``padded`` is padded to :func:`winograd_extent`.
    """
    n, c = padded.shape[:2]
    cout = gy.shape[1]
    nd = plan.ndim
    g, cg, cog = groups, c // groups, cout // groups
    dtype = np.result_type(padded, gy)
    out = plan.output_shape
    ms = tile_sizes(plan, tile)
    ks = plan.kernel
    if n == 0 or math.prod(out) == 0:
        return np.zeros((cout, cg, *ks), dtype=dtype)
    alphas = tuple(m + k - 1 for m, k in zip(ms, ks))
    tiles = tuple(-(-o // m) for o, m in zip(out, ms))
    na, nt = math.prod(alphas), math.prod(tiles)
    mats = [_arrays(k, m, dtype.name) for m, k in zip(ms, ks)]  # F(r, m): r outputs, m-tap filter
    shape = [-1, cout]
    for t, m in zip(tiles, ms):
        shape += [t, m]
    order = [3 + 2 * a for a in range(nd)] + [1, 0] + [2 + 2 * a for a in range(nd)]
    mprod = np.zeros((na, g, cog, cg), dtype=dtype)
    step = batch_chunk(na * (c + cout) * nt * padded.itemsize)
    for b0 in range(0, n, step):
        nb = min(n, b0 + step) - b0
        d = _input_tiles(padded[b0:b0 + nb], ms, alphas, tiles, "winograd.tiles")
        v = _transform(d, [bt for _, _, bt in mats], "winograd.v").reshape(na, g, cg, nb * nt)
        del d
        blocks = workspace.scratch("winograd.blocks", (nb, cout, *[t * m for t, m in zip(tiles, ms)]), dtype)
        if blocks.shape[2:] != out:
            blocks.fill(0)
        blocks[(Ellipsis, *[slice(0, o) for o in out])] = gy[b0:b0 + nb]
        view = blocks.reshape(shape).transpose(order)
        gt = parallel.copyto(workspace.scratch("winograd.gt", view.shape, dtype), view)  # (*m, Cout, nb, *T)
        del blocks
        u = _transform(gt, [gm for _, gm, _ in mats], "winograd.m").reshape(na, g, cog, nb * nt)
        del gt
        mprod += np.matmul(u, v.transpose(0, 1, 3, 2))  # (na, G, Cog, Cg)
        del u, v
    # output transform straight into (Cout*Cg, *k) order: BLAS reads mprod^T in place
    dw = mprod.reshape(na, cout * cg).T @ _kron([at for at, _, _ in mats]).T
    return dw.reshape(cout, cg, *ks)


def weight_grad_error_bound(x: np.ndarray, gy: np.ndarray, plan: WindowPlan, tile: int | None = None,
                            dtype: Any = None) -> np.ndarray:
    """Norm-wise bound on the error of :func:`weight_grad_winograd` per output channel (same form as
    :func:`error_bound` with the F(r, m) matrices and the ``N * prod(out)`` products summed)."""
    u = float(np.finfo(np.result_type(x, gy) if dtype is None else np.dtype(dtype)).eps) / 2
    f = 1.0
    for m, r in zip(tile_sizes(plan, tile), plan.kernel):
        AT, G, BT = _arrays(r, m, "float64")
        f *= float(np.abs(AT).sum(1).max() * np.abs(G).sum(1).max() * np.abs(BT).sum(1).max())
    length = gy.shape[0] * math.prod(gy.shape[2:])
    xmax = float(np.abs(x).max()) if x.size else 0.0
    gsum = np.abs(gy.astype(np.float64)).sum(axis=(0, *range(2, gy.ndim)))
    return (2 * u * f * length * xmax * gsum).reshape(-1, 1, *[1] * plan.ndim)
