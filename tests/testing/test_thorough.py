"""Opt-in (``--runslow``): torch's own ops pass 1,000 examples per op through every adapter, 0 false alarms."""

from __future__ import annotations

import pytest

from convalg.testing import check
from convalg.testing.ops import OPS

torch = pytest.importorskip("torch")

from .torch_targets import TORCH_OPTIONS, numpy_wrapped, torch_targets  # noqa: E402

FORWARD = [op for op in OPS if OPS[op].forward]


def _thousand(target, op, **opts):
    report = check(target, op=op, max_examples=1000, seed=1, **TORCH_OPTIONS.get(op, {}), **opts)
    assert report.passed and report.examples == 1000, report.summary()


@pytest.mark.slow
@pytest.mark.parametrize("op", list(OPS))
def test_torch_ops_on_torch_tensors(op):
    _thousand(torch_targets()[op], op, array="torch")


@pytest.mark.slow
@pytest.mark.parametrize("op", FORWARD)
def test_torch_autograd_backward(op):
    _thousand(torch_targets()[op], op, array="torch", autograd=True)


@pytest.mark.slow
@pytest.mark.parametrize("op", list(OPS))
def test_torch_ops_on_numpy_arrays(op):
    _thousand(numpy_wrapped(torch_targets()[op]), op)
