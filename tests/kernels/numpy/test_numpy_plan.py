"""Window plans: stored axis programs equal their symbolic derivation; plans stay per-axis."""

from __future__ import annotations

import pytest

import convalg
from convalg.kernels.numpy._axis_programs import PRINTED
from convalg.kernels.numpy.plan import PROGRAM_KEYS, derive_axis_program, window_plan


@pytest.mark.parametrize("key", PROGRAM_KEYS)
def test_stored_axis_program_is_the_symbolic_derivation(key):
    assert PRINTED[key] == derive_axis_program(*key)


def test_plan_size_does_not_grow_with_output_times_kernel():
    small = window_plan(convalg.Conv(31, padding=15, ndim=2), (64, 64))
    big = window_plan(convalg.Conv(31, padding=15, ndim=2), (2048, 2048))
    assert big.nbytes < 64 << 10 and big.nbytes <= small.nbytes + 4096
