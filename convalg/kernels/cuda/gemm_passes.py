"""The three convolution passes as grouped GEMMs whose operands are gathered through the index map.

=====================  ==========================  ==========================  ===========================
pass (``conv_pass``)   ``A(m, q)``                 ``B(q, p)``                 ``C[m, p]``
=====================  ==========================  ==========================  ===========================
``fwd``                weight, ``q = (ci, k)``     x at ``padded_index``,      y, ``p = (n, o)``
                                                   ``p = (n, o)``
``bwd_data``           weight, ``q = (co, k)``     dy at ``gather_index``      dx, ``p = (n, i)``
                                                   (``gather_index_condition``)
``bwd_weight``         dy, ``q = (n, o)``          x at ``padded_index``,      partial weight sums per
                                                   ``p = (ci, stored tap)``    split
=====================  ==========================  ==========================  ===========================

A :class:`GemmPass` only says *what* is read and written (flat offsets and
predicates, printed by the CUDA printer); :class:`~convalg.kernels.cuda.igemm.TiledGemm`
emits the tiled kernel around it.

>>> from convalg import Conv
>>> from convalg.index_map import index_map
>>> m = index_map(Conv(3, padding=1), (8, 8))
>>> gemm_sizes(m, "bwd_weight", 16, 32, 1, n_batch=2)
(32, 128, 144)
>>> PASSES["fwd"](m, 16, 32, 1).batch_axis
'p'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ...errors import SpecError
from ...index_map import IndexMap
from .codegen import Emitter, gather_outputs, ravel, sym, taps_of_weight, unravel

__all__ = ["GemmPass", "ForwardPass", "BackwardDataPass", "BackwardWeightPass", "PASSES", "gemm_pass", "gemm_sizes",
           "G", "M", "Q", "P", "SPLIT"]

# the GEMM's loop and layout symbols (non-negative C ints in the generated code)
G, M, Q, P, N, CO, CI, SPLIT = (sym(s) for s in ("g", "m", "q", "p", "n", "co", "ci", "split"))


def _unravel_into(em: Emitter, flat: sp.Expr, names: tuple[sp.Symbol, ...], sizes: tuple[Any, ...]) -> None:
    """Declare ``names`` as the row-major coordinates of ``flat`` over ``sizes``."""
    for s, e in zip(names, unravel(flat, sizes)):
        em.decl(s, e)


@dataclass(frozen=True)
class GemmPass:
    """One convolution pass as a grouped GEMM ``C[m, p] = sum_q A(m, q) B(q, p)`` (see the module docstring).

    ``c_in``, ``c_out``: channels of the conv whose map this is (its ``i`` and ``o`` sides).  A subclass
    says how ``A`` and ``B`` are gathered (:meth:`a_operand`, :meth:`b_operand`: flat offset and predicate,
    declaring what they need on the emitter), where ``C`` goes (:meth:`c_offset`) and which GEMM axis
    runs over the batch (``batch_axis``).
    """

    conv_pass: ClassVar[str]
    batch_axis: ClassVar[str]  # "q" or "p"

    imap: IndexMap
    c_in: int
    c_out: int
    groups: int

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(int(a.kernel) for a in self.imap.axes)

    @property
    def i_sp(self) -> tuple[int, ...]:
        return tuple(int(a.n) for a in self.imap.axes)

    @property
    def o_sp(self) -> tuple[int, ...]:
        return tuple(int(a.n_out) for a in self.imap.axes)

    @property
    def cig(self) -> int:
        return self.c_in // self.groups

    @property
    def cog(self) -> int:
        return self.c_out // self.groups

    @property
    def bias_channels(self) -> int | None:
        """Channels per group of the bias added in the epilogue (``None``: the pass has no bias)."""
        return None

    def sizes(self, n_batch: int) -> tuple[int, int, int]:
        """``(M, Q, P)`` of one group's GEMM."""
        raise NotImplementedError

    def a_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:
        raise NotImplementedError

    def b_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:
        raise NotImplementedError

    def c_offset(self) -> sp.Expr:
        raise NotImplementedError

    def _x_predicate(self) -> sp.Basic:
        return self.imap.valid if self.imap.padding_mode == "zeros" else sp.true

    def _x_offset(self) -> sp.Expr:
        """``x[n, g*cig + ci, padded_index(o, k)]``."""
        return ravel((N, G * self.cig + CI, *self.imap.padded_index()), (None, self.c_in, *self.i_sp))


class ForwardPass(GemmPass):
    """``fwd``: ``a = weight (c_out, c_in/G, *k)``, ``b = x``, ``c = y``; ``q = (ci, k)``, ``p = (n, o)``."""

    conv_pass = "fwd"
    batch_axis = "p"

    @property
    def bias_channels(self) -> int | None:
        return self.cog

    def sizes(self, n_batch: int) -> tuple[int, int, int]:
        return self.cog, self.cig * math.prod(self.kernel), n_batch * math.prod(self.o_sp)

    def a_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # weight[g*cog + m, ci, tap(k)]
        _unravel_into(em, Q, (CI, *self.imap.k), (self.cig, *self.kernel))
        return ravel((G * self.cog + M, CI, *self.imap.taps()), (self.c_out, self.cig, *self.kernel)), sp.true

    def b_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # x[n, g*cig + ci, padded_index(o, k)]
        parts = unravel(P, (None, *self.o_sp))
        for o, e in zip(self.imap.o, parts[1:]):
            em.decl(o, e)
        em.decl(N, parts[0])
        _unravel_into(em, Q, (CI, *self.imap.k), (self.cig, *self.kernel))
        return self._x_offset(), self._x_predicate()

    def c_offset(self) -> sp.Expr:
        parts = unravel(P, (None, *self.o_sp))
        return ravel((parts[0], G * self.cog + M, *parts[1:]), (None, self.c_out, *self.o_sp))


class BackwardDataPass(GemmPass):
    """``bwd_data``: ``a = weight``, ``b = dy`` (``o`` side), ``c = dx`` (``i`` side); ``q = (co, k)``,
    ``p = (n, i)``; ``B`` is read at ``gather_index`` under ``gather_index_condition``."""

    conv_pass = "bwd_data"
    batch_axis = "p"

    @property
    def bias_channels(self) -> int | None:
        return self.cig

    def sizes(self, n_batch: int) -> tuple[int, int, int]:
        return self.cig, self.cog * math.prod(self.kernel), n_batch * math.prod(self.i_sp)

    def a_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # weight[g*cog + co, m, tap(k)]
        _unravel_into(em, Q, (CO, *self.imap.k), (self.cog, *self.kernel))
        return ravel((G * self.cog + CO, M, *self.imap.taps()), (self.c_out, self.cig, *self.kernel)), sp.true

    def b_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # dy[n, g*cog + co, gather_index(i, k)]
        _unravel_into(em, P, (N, *self.imap.i), (None, *self.i_sp))
        _unravel_into(em, Q, (CO, *self.imap.k), (self.cog, *self.kernel))
        cond = gather_outputs(em, self.imap)
        return ravel((N, G * self.cog + CO, *self.imap.o), (None, self.c_out, *self.o_sp)), cond

    def c_offset(self) -> sp.Expr:
        parts = unravel(P, (None, *self.i_sp))
        return ravel((parts[0], G * self.cig + M, *parts[1:]), (None, self.c_in, *self.i_sp))


class BackwardWeightPass(GemmPass):
    """``bwd_weight``: ``a = dy``, ``b = x``, ``c = partial sums (splits, weight)``; ``q = (n, o)``,
    ``p = (ci, stored weight position)``, whose tap is solved from ``tap(k)``."""

    conv_pass = "bwd_weight"
    batch_axis = "q"

    def sizes(self, n_batch: int) -> tuple[int, int, int]:
        return self.cog, n_batch * math.prod(self.o_sp), self.cig * math.prod(self.kernel)

    def a_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # dy[n, g*cog + m, o]
        _unravel_into(em, Q, (N, *self.imap.o), (None, *self.o_sp))
        return ravel((N, G * self.cog + M, *self.imap.o), (None, self.c_out, *self.o_sp)), sp.true

    def b_operand(self, em: Emitter) -> tuple[sp.Expr, sp.Basic]:  # x[n, g*cig + ci, padded_index(o, k)]
        _unravel_into(em, Q, (N, *self.imap.o), (None, *self.o_sp))
        parts = unravel(P, (self.cig, *self.kernel))
        em.decl(CI, parts[0])
        taps_of_weight(em, self.imap, parts[1:])
        return self._x_offset(), self._x_predicate()

    def c_offset(self) -> sp.Expr:  # partial sums, weight layout per split
        return ravel((SPLIT, G * self.cog + M, P), (None, self.c_out, self.cig * math.prod(self.kernel)))


PASSES: dict[str, type[GemmPass]] = {c.conv_pass: c for c in (ForwardPass, BackwardDataPass, BackwardWeightPass)}


def gemm_pass(imap: IndexMap, conv_pass: str, c_in: int, c_out: int, groups: int) -> GemmPass:
    """The :class:`GemmPass` of ``conv_pass`` for this map and these channels."""
    if conv_pass not in PASSES:
        raise SpecError(f"conv_pass={conv_pass!r}: must be one of {', '.join(map(repr, PASSES))}")
    return PASSES[conv_pass](imap, c_in, c_out, groups)


def gemm_sizes(imap: IndexMap, conv_pass: str, c_in: int, c_out: int, groups: int,
               n_batch: int) -> tuple[int, int, int]:
    """``(M, Q, P)`` of one group's GEMM (``c_in``/``c_out``: channels of the conv's i / o sides)."""
    return gemm_pass(imap, conv_pass, c_in, c_out, groups).sizes(n_batch)


