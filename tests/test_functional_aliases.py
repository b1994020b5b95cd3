"""PyTorch's per-rank names in convalg.functional: the N-d op, with the rank of x checked."""

from __future__ import annotations

import numpy as np
import pytest

from convalg import SpecError
from convalg import functional as F
from convalg.testing.harness import OPS

RNG = np.random.default_rng(0)
BASES = ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool")


def _args(base: str, rank: int) -> tuple[np.ndarray, tuple, dict]:
    x = RNG.standard_normal((2, 2, *[5] * rank))
    if base == "conv":
        return x, (RNG.standard_normal((3, 2, *[3] * rank)),), {"padding": 1}
    if base == "conv_transpose":
        return x, (RNG.standard_normal((2, 3, *[2] * rank)),), {"stride": 2}
    return x, (2,), {}  # pools: kernel_size 2; adaptive pools: output_size 2


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("base", BASES)
def test_alias_is_the_op_with_the_rank_checked(base, rank) -> None:
    alias, op = getattr(F, f"{base}{rank}d"), getattr(F, base)
    assert alias.__name__ == f"{base}{rank}d" and alias.__name__ in F.__all__
    x, args, kwargs = _args(base, rank)
    np.testing.assert_array_equal(alias(x, *args, **kwargs), op(x, *args, **kwargs))
    for wrong in (rank - 1, rank + 1):
        if wrong < 1:
            continue
        y = np.zeros((1, 2, *[5] * wrong))
        with pytest.raises(SpecError, match=rf"x: {base}{rank}d takes \(N, C, .*\), {rank + 2} dims; got {wrong + 2}"):
            alias(y, *args, **kwargs)


def test_every_forward_op_name_of_convalg_check_exists_in_functional() -> None:
    # The gradient ops of `convalg check` take torch.nn.grad's / aten's argument orders
    # (conv2d_input, max_pool2d_backward, ...); functional has them as conv_grad_input, max_pool_grad, ...
    forward = [name for name in OPS if not name.endswith(("_input", "_weight", "_backward"))]
    assert len(forward) >= 18
    missing = [name for name in forward if not callable(getattr(F, name, None))]
    assert not missing, missing
