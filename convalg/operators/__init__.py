"""Symbolic operators (stage 4): every layer as a SymPy matrix built from its index map.

==========================  ====================================================
name                        what
==========================  ====================================================
``weight_symbols``          weight symbols, PyTorch weight shape
``matrix`` / ``affine``     operator matrix ``A`` / ``(A, b)`` of a layer
``padding_operator``        the pad-by-mode matrix (reflect / replicate / circular)
``toeplitz`` & co.          structured 1-D / multi-level builders and predicates
``kronecker_terms``         ``A = sum_k W_k (x) S_0(k0) (x) S_1(k1) ...``
``grad_*``, ``im2col``      gradient operators and index-level formulas
``max_pool_mask``           the selection matrix of max pooling
``Budget``                  size limits of materialised matrices
==========================  ====================================================

>>> from convalg import Conv
>>> A = Conv(3, padding=1, padding_mode="circular", in_channels=1, out_channels=1, ndim=2).matrix((3, 3))
>>> block_structure(A, (3, 3), (3, 3))
('circulant', 'circulant')
"""

from .budget import DEFAULT_BUDGET, Budget, check_budget
from .gradients import (
    grad_bias,
    grad_input_formula,
    grad_input_matrix,
    grad_weight,
    grad_weight_formula,
    im2col,
    unfold_matrix,
)
from .kronecker import kronecker_sum, kronecker_terms, shift_matrix, sparse_kron
from .linear import affine, conv_matrix, matrix, padding_operator
from .maxpool import MaxPoolSelection, max_pool_mask, max_pool_mask_symbolic
from .pooling import pool_matrix
from .structured import (
    block_circulant,
    block_structure,
    block_toeplitz,
    circulant,
    is_block_circulant,
    is_block_toeplitz,
    is_circulant,
    is_toeplitz,
    toeplitz,
)
from .symbols import bias_symbols, symbol_array, weight_symbols

__all__ = [
    "weight_symbols", "bias_symbols", "symbol_array",
    "matrix", "affine", "conv_matrix", "pool_matrix", "padding_operator",
    "Budget", "DEFAULT_BUDGET", "check_budget",
    "toeplitz", "circulant", "block_toeplitz", "block_circulant", "is_toeplitz", "is_circulant",
    "is_block_toeplitz", "is_block_circulant", "block_structure",
    "kronecker_terms", "kronecker_sum", "shift_matrix", "sparse_kron",
    "grad_input_matrix", "unfold_matrix", "im2col", "grad_weight", "grad_bias", "grad_weight_formula",
    "grad_input_formula",
    "max_pool_mask", "max_pool_mask_symbolic", "MaxPoolSelection",
]
