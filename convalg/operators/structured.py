"""Structured matrices: Toeplitz / circulant builders (1-D and multi-level block) and predicates.

==========================  =========================================================
builder                     entry ``(i, j)``
==========================  =========================================================
``toeplitz(c, r)``          ``c[i-j]`` if ``i >= j`` else ``r[j-i]`` (``r[0]`` ignored,
                            ``r`` defaults to ``c``), as ``scipy.linalg.toeplitz``
                            without conjugation
``circulant(c)``            ``c[(i-j) mod n]`` (first column ``c``)
``block_toeplitz(C, R)``    block ``(i, j)`` = ``C[i-j]`` or ``R[j-i]`` (matrices)
``block_circulant(C)``      block ``(i, j)`` = ``C[(i-j) mod n]``
==========================  =========================================================

Nesting the block builders gives multi-level (doubly, triply ...) block
Toeplitz / circulant matrices.  :func:`block_structure` reads a matrix whose
rows and columns are flattened multi-indices (``row_shape``, ``col_shape``)
and reports per level whether it is circulant, Toeplitz, or neither; level
``l`` is Toeplitz when the entry depends on ``r_l - c_l`` only (all other
indices fixed), circulant when it depends on ``(r_l - c_l) mod n_l``.

>>> import sympy as sp
>>> a, b, c = sp.symbols("a b c")
>>> toeplitz([a, b, c], [a, c])
Matrix([
[a, c],
[b, a],
[c, b]])
>>> is_circulant(circulant([a, b, c])), is_toeplitz(circulant([a, b, c]))
(True, True)
>>> B = block_circulant([circulant([a, b]), circulant([c, 0])])
>>> block_structure(B, (2, 2), (2, 2))
('circulant', 'circulant')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError

__all__ = [
    "toeplitz", "circulant", "block_toeplitz", "block_circulant", "is_toeplitz", "is_circulant",
    "block_structure", "is_block_toeplitz", "is_block_circulant",
]


def toeplitz(c: Sequence[Any], r: Sequence[Any] | None = None) -> sp.SparseMatrix:
    """Toeplitz matrix with first column ``c`` and first row ``r`` (see the module table).

    >>> toeplitz([1, 2, 3], [1, 4])         # as scipy.linalg.toeplitz(c, r)
    Matrix([
    [1, 4],
    [2, 1],
    [3, 2]])
    """
    r = c if r is None else r
    m, n = len(c), len(r)
    return sp.SparseMatrix(m, n, lambda i, j: c[i - j] if i >= j else r[j - i])


def circulant(c: Sequence[Any]) -> sp.SparseMatrix:
    """Circulant matrix with first column ``c``.

    >>> circulant([1, 2, 3])
    Matrix([
    [1, 3, 2],
    [2, 1, 3],
    [3, 2, 1]])
    """
    n = len(c)
    return sp.SparseMatrix(n, n, lambda i, j: c[(i - j) % n])


def _blocks(blocks: Sequence[Any]) -> tuple[int, int]:
    shapes = {(b.rows, b.cols) for b in blocks}
    if len(shapes) != 1:
        raise SpecError(f"blocks: all blocks must have one shape, got {sorted(shapes)}")
    return shapes.pop()


def _assemble(m: int, n: int, pick: Any, p: int, q: int) -> sp.SparseMatrix:
    entries: dict[tuple[int, int], Any] = {}
    for bi in range(m):
        for bj in range(n):
            block = pick(bi, bj)
            for (i, j), v in block.todok().items():
                entries[(bi * p + i, bj * q + j)] = v
    return sp.SparseMatrix(m * p, n * q, entries)


def block_toeplitz(c_blocks: Sequence[sp.MatrixBase], r_blocks: Sequence[sp.MatrixBase] | None = None) -> sp.SparseMatrix:
    """Block Toeplitz matrix with first block column ``c_blocks`` and first block row ``r_blocks``.

    >>> import sympy as sp
    >>> block_toeplitz([sp.eye(1) * 2, sp.eye(1) * 3], [sp.eye(1), sp.eye(1) * 5]).tolist()
    [[2, 5], [3, 2]]
    """
    r_blocks = c_blocks if r_blocks is None else r_blocks
    p, q = _blocks([*c_blocks, *r_blocks])
    return _assemble(len(c_blocks), len(r_blocks),
                     lambda i, j: c_blocks[i - j] if i >= j else r_blocks[j - i], p, q)


def block_circulant(c_blocks: Sequence[sp.MatrixBase]) -> sp.SparseMatrix:
    """Block circulant matrix with first block column ``c_blocks``.

    >>> block_circulant([sp.Matrix([[1]]), sp.Matrix([[2]])]).tolist()
    [[1, 2], [2, 1]]
    """
    p, q = _blocks(c_blocks)
    n = len(c_blocks)
    return _assemble(n, n, lambda i, j: c_blocks[(i - j) % n], p, q)


def _dense(A: sp.MatrixBase) -> np.ndarray:
    out = np.zeros((A.rows, A.cols), dtype=object)
    out[...] = sp.Integer(0)
    for (i, j), v in A.todok().items():
        out[i, j] = v
    return out


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and all(x == y for x, y in zip(a.flat, b.flat))


def is_toeplitz(A: sp.MatrixBase) -> bool:
    """Whether ``A[i, j]`` depends only on ``i - j``.

    >>> is_toeplitz(toeplitz([1, 2, 3], [1, 4])), is_toeplitz(sp.Matrix([[1, 2], [3, 4]]))
    (True, False)
    """
    T = _dense(A)
    return _equal(T[1:, 1:], T[:-1, :-1])


def is_circulant(A: sp.MatrixBase) -> bool:
    """Whether ``A`` is square and ``A[i, j]`` depends only on ``(i - j) mod n``.

    >>> is_circulant(circulant([1, 2, 3])), is_circulant(toeplitz([1, 2, 3]))
    (True, False)
    """
    if A.rows != A.cols:
        return False
    T = _dense(A)
    return _equal(np.roll(np.roll(T, 1, 0), 1, 1), T)


def block_structure(A: sp.MatrixBase, row_shape: Sequence[int], col_shape: Sequence[int]) -> tuple[str, ...]:
    """Per level: ``'circulant'``, ``'toeplitz'`` or ``'none'`` (rows / columns are row-major multi-indices).

    >>> from convalg import Conv
    >>> A = Conv(3, padding=1, in_channels=1, out_channels=1, ndim=2).matrix((3, 4))
    >>> block_structure(A, (3, 4), (3, 4))
    ('toeplitz', 'toeplitz')
    """
    row_shape, col_shape = tuple(map(int, row_shape)), tuple(map(int, col_shape))
    if len(row_shape) != len(col_shape):
        raise SpecError(f"row_shape={row_shape}, col_shape={col_shape}: need one size per level on both sides")
    if int(np.prod(row_shape)) != A.rows or int(np.prod(col_shape)) != A.cols:
        raise SpecError(f"row_shape={row_shape}, col_shape={col_shape}: do not match the {A.rows} x {A.cols} matrix")
    L = len(row_shape)
    T = _dense(A).reshape(row_shape + col_shape)
    labels = []
    for lvl in range(L):
        ra, ca = lvl, L + lvl
        hi = [slice(None)] * (2 * L)
        lo = [slice(None)] * (2 * L)
        hi[ra] = hi[ca] = slice(1, None)
        lo[ra] = lo[ca] = slice(None, -1)
        if not _equal(T[tuple(hi)], T[tuple(lo)]):
            labels.append("none")
        elif row_shape[lvl] == col_shape[lvl] and _equal(np.roll(np.roll(T, 1, ra), 1, ca), T):
            labels.append("circulant")
        else:
            labels.append("toeplitz")
    return tuple(labels)


def is_block_toeplitz(A: sp.MatrixBase, row_shape: Sequence[int], col_shape: Sequence[int]) -> bool:
    """Multi-level block Toeplitz: Toeplitz (or circulant) at every level.

    >>> from convalg import Conv
    >>> A = Conv(3, padding=1, in_channels=1, out_channels=1, ndim=2).matrix((3, 3))
    >>> is_block_toeplitz(A, (1, 3, 3), (1, 3, 3)), is_block_circulant(A, (1, 3, 3), (1, 3, 3))
    (True, False)
    """
    return all(s != "none" for s in block_structure(A, row_shape, col_shape))


def is_block_circulant(A: sp.MatrixBase, row_shape: Sequence[int], col_shape: Sequence[int]) -> bool:
    """Multi-level block circulant: circulant at every level.

    >>> from convalg import Conv
    >>> A = Conv(3, padding=1, padding_mode="circular", in_channels=1, out_channels=1, ndim=2).matrix((3, 3))
    >>> is_block_circulant(A, (1, 3, 3), (1, 3, 3))       # doubly block circulant
    True
    """
    return all(s == "circulant" for s in block_structure(A, row_shape, col_shape))
