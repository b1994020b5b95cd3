"""Shared pieces of the CUDA kernel generators: the kernel record, layout helpers, printing.

Every index expression a kernel uses is a SymPy expression built from
:mod:`convalg.index_map` (or a row-major layout flattening) and printed by
:class:`convalg.printers.cuda.CudaPrinter`; the templates only hold loop
structure, tiling and memory movement.

>>> import sympy as sp
>>> f = sp.Symbol("f", integer=True, nonnegative=True)
>>> [str(e) for e in unravel(f, (2, 3, 4))]
['floor(f/12)', 'Mod(floor(f/4), 3)', 'Mod(f, 4)']
>>> ravel((1, 2), (5, 7))
9
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ...errors import SpecError
from ...printers.cuda import PREAMBLE, CudaPrinter

__all__ = ["KernelSource", "unravel", "ravel", "sym", "Emitter", "THREADS", "ceil_div", "module_source", "thread_guard",
           "thread_prologue", "elementwise_kernel", "tap_loops", "gather_outputs", "skip_ungathered", "taps_of_weight", "check_grid", "MAX_GRID"]

THREADS = 256


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def sym(name: str) -> sp.Symbol:
    """A non-negative integer symbol (loop counter, thread index, channel...)."""
    return sp.Symbol(name, integer=True, nonnegative=True)


def unravel(flat: sp.Expr, sizes: Sequence[int]) -> list[sp.Expr]:
    """Row-major multi-index of ``flat`` over ``sizes`` (the first component is not wrapped)."""
    out = []
    for j in range(len(sizes)):
        stride = math.prod(sizes[j + 1:])
        e = sp.floor(flat / stride) if stride != 1 else flat
        out.append(e if j == 0 else sp.Mod(e, sizes[j]))
    return out


def ravel(index: Sequence[sp.Expr], sizes: Sequence[int]) -> sp.Expr:
    """Row-major flat offset of ``index`` in an array of shape ``sizes``."""
    flat: sp.Expr = sp.sympify(index[0])
    for i, n in zip(index[1:], sizes[1:]):
        flat = flat * n + i
    return sp.expand(flat)


@dataclass
class KernelSource:
    """One generated kernel: its source (preamble inlined), parameters and launch geometry.

    ``params``: ``(ctype, name)`` pairs in call order; pointers are ``const float*`` /
    ``float*`` / ``long long*``, scalars ``int`` (passed as ``numpy.int32``).
    ``grid(n_batch)`` gives the launch grid; ``barrier`` says the kernel uses
    ``__syncthreads`` (the host shim then runs a block's threads concurrently).
    """

    name: str
    body: str
    params: tuple[tuple[str, str], ...]
    grid: Callable[[int], tuple[int, int, int]]
    block: tuple[int, int, int]
    barrier: bool = False
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return PREAMBLE + self.body

    @property
    def signature(self) -> str:
        return ", ".join(f"{t} {n}" for t, n in self.params)


MAX_GRID = (2**31 - 1, 65535, 65535)  # CUDA's grid limits (x, y, z)


def check_grid(name: str, grid: tuple[int, int, int]) -> None:
    """Raise :class:`SpecError` when a launch grid passes CUDA's limits.

    >>> check_grid("k", (1, 1, 65536))
    Traceback (most recent call last):
    ...
    convalg.errors.SpecError: k: grid=(1, 1, 65536): CUDA allows at most (2147483647, 65535, 65535) blocks per dimension
    """
    if any(g > lim for g, lim in zip(grid, MAX_GRID)):
        raise SpecError(f"{name}: grid={tuple(grid)}: CUDA allows at most {MAX_GRID} blocks per dimension")


def module_source(kernels: Iterable[KernelSource]) -> str:
    """Several kernels in one translation unit (one nvcc call compiles them all)."""
    return PREAMBLE + "\n".join(k.body for k in kernels)


class Emitter:
    """Accumulates CUDA lines; prints SymPy expressions with the CUDA printer.

    ``nonneg`` symbols are known to be >= 0 (so ``/`` and ``%`` print directly).
    """

    def __init__(self, nonneg: Iterable[sp.Symbol] = ()) -> None:
        self.lines: list[str] = []
        self.nonneg: set[sp.Symbol] = set(nonneg)
        self.depth = 1

    def expr(self, e: object) -> str:
        return CudaPrinter(nonnegative=self.nonneg).doprint(sp.sympify(e))

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def decl(self, s: sp.Symbol, e: object, ctype: str = "const int") -> None:
        """Declare C variable ``s`` as the printed value of ``e`` (and remember its sign).

        A ``str`` ``e`` is CUDA text (a builtin such as ``blockIdx.x``), taken as non-negative.
        """
        if isinstance(e, str):
            self.line(f"{ctype} {s} = {e};")
            self.nonneg.add(s)
            return
        e = sp.sympify(e)
        self.line(f"{ctype} {s} = {self.expr(e)};")
        if self._known_nonneg(e):
            self.nonneg.add(s)

    def _known_nonneg(self, e: sp.Expr) -> bool:
        return CudaPrinter(nonnegative=self.nonneg).is_nonnegative(e)

    def open(self, text: str) -> None:
        self.line(text + " {")
        self.depth += 1

    def unrolled(self, loop: str, body: str | None = None) -> None:
        """``#pragma unroll`` and the loop header ``loop``: opened as a block, or with ``body`` on the same line."""
        self.line("#pragma unroll")
        if body is None:
            self.open(loop)
        else:
            self.line(f"{loop} {body}")

    def close(self, text: str = "") -> None:
        self.depth -= 1
        self.line("}" + text)

    def text(self) -> str:
        return "\n".join(self.lines)


def thread_guard(em: Emitter, t: sp.Symbol, count: str, items: int) -> None:
    """Declare the global thread index ``t`` and return threads past ``count * items`` (``count``: the ``int``
    launch parameter).  64-bit (``blockIdx.x`` widened before the product): the rounded-up grid can pass 2**31
    threads, and ``blockIdx.x * blockDim.x`` 2**32, even when every array fits 32 bits."""
    em.decl(t, "(long long)blockIdx.x * blockDim.x + threadIdx.x", "const long long")
    em.line(f"if ({t} >= (long long){count} * {items}) return;")


def thread_prologue(em: Emitter, count: str, items: int, coords: Sequence[sp.Symbol] = (),
                    sizes: Sequence[int] = (), batch: str = "plane", t: str = "t") -> sp.Symbol:
    """The prologue of every one-thread-per-element kernel: thread ``t`` (64-bit, :func:`thread_guard`) of
    ``count * items`` handles element ``r = t % items`` of batch entry ``batch = t / items``, whose row-major
    coordinates over ``sizes`` are declared as ``coords``.  Returns the ``batch`` symbol (``t`` itself when no
    ``coords`` are asked for: the element is the flat index).

    >>> em = Emitter()
    >>> n = thread_prologue(em, "n_batch", 12, (sym("c"), sym("x")), (3, 4), batch="n")
    >>> print(em.text())
        const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        if (t >= (long long)n_batch * 12) return;
        const int n = (t / 12);
        const int r = (t % 12);
        const int c = (r / 4);
        const int x = (r % 4);
    """
    ts = sym(t)
    thread_guard(em, ts, count, items)
    if not coords:
        return ts
    n, r = sym(batch), sym("r")
    em.decl(n, sp.floor(ts / items))
    em.decl(r, sp.Mod(ts, items))
    for s, e in zip(coords, unravel(r, sizes)):
        em.decl(s, e)
    return n


def elementwise_kernel(name: str, params: Sequence[tuple[str, str]], em: Emitter, items: int) -> KernelSource:
    """The :class:`KernelSource` of a :func:`thread_prologue` kernel: ``THREADS`` per block, enough blocks for
    ``count * items`` threads (``count``: the ``int`` launch parameter, the grid's argument)."""
    params = tuple(params)
    return KernelSource(name, kernel_text(name, params, em.text()), params,
                        lambda count: (ceil_div(count * items, THREADS), 1, 1), (THREADS, 1, 1))


def tap_loops(em: Emitter, ks: Sequence[sp.Symbol], kernel: Sequence[int]) -> None:
    """Open one unrolled loop per kernel axis over the tap symbols ``ks``."""
    for k, K in zip(ks, kernel):
        em.unrolled(f"for (int {k} = 0; {k} < {K}; ++{k})")
        em.nonneg.add(k)


def gather_outputs(em: Emitter, imap: Any) -> sp.Basic:
    """Declare, per axis, the output ``o`` that tap ``k`` reaches input ``i`` from (``AxisMap.gather_index``);
    returns the condition under which it is a real output (``gather_index_condition``)."""
    for a in imap.axes:
        em.decl(a.o, a.gather_index)
    return sp.And(*[a.gather_index_condition for a in imap.axes])


def taps_of_weight(em: Emitter, imap: Any, stored: Sequence[sp.Expr]) -> None:
    """Declare, per axis, the stored weight index ``w<axis>`` (``stored``) and the tap ``k`` that reads it
    (``AxisMap.tap_for_weight``): the weight-gradient kernels own weight elements and walk back to their taps."""
    for a, e in zip(imap.axes, stored):
        w = sym(f"w{a.axis}")
        em.decl(w, e)
        em.decl(a.k, a.tap_for_weight(w, imap.flip_kernel))


def skip_ungathered(em: Emitter, imap: Any) -> None:
    """Inside the tap loops of a gather kernel: :func:`gather_outputs`, and skip the tap where it reaches none."""
    em.line(f"if (!({em.expr(gather_outputs(em, imap))})) continue;")


def kernel_text(name: str, params: Sequence[tuple[str, str]], body: str, launch_bounds: int | None = None,
                min_blocks: int | None = None) -> str:
    """``extern "C"`` kernel definition; ``__launch_bounds__(threads[, min_blocks])`` when given (``min_blocks``
    resident blocks per SM cap the registers: ptxas then fits them or spills, which the tests forbid)."""
    sig = ", ".join(f"{t} {n}" for t, n in params)
    bounds = ", ".join(str(v) for v in (launch_bounds, min_blocks) if v)
    lb = f"__launch_bounds__({bounds}) " if launch_bounds else ""
    return f'\nextern "C" __global__ void {lb}{name}({sig}) {{\n{body}\n}}\n'


def spec_tag(*parts: object) -> str:
    """A short stable hash naming a kernel after its specialisation."""
    import hashlib

    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]
