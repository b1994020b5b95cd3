"""The harness on convalg's own NumPy kernels (convalg.functional), one algorithm at a time.

GEMM kernels are held to the strict element-wise model; FFT and Winograd
kernels are accurate only norm-wise, so they are checked with
``algorithm='fft'`` (the norm-wise term of convalg.testing.tolerance).
"""

from __future__ import annotations

import functools

import pytest

from convalg.testing import check

functional = pytest.importorskip("convalg.functional")

CASES = [
    ("conv-gemm", "conv", "gemm", "conv2d", {"asymmetric_padding": True,
                                              "padding_modes": ("zeros", "reflect", "replicate", "circular")}),
    ("conv3d-gemm", "conv", "gemm", "conv3d", {}),
    ("conv-fft", "conv", "fft", "conv1d", {"algorithm": "fft"}),
    ("conv-winograd", "conv", "winograd", "conv2d", {"algorithm": "fft", "stride": False, "dilation": False}),
    ("conv-transpose-gemm", "conv_transpose", "gemm", "conv_transpose2d", {}),
    ("max-pool", "max_pool", None, "max_pool2d", {"nan": True}),
    ("avg-pool", "avg_pool", None, "avg_pool3d", {"asymmetric_padding": True}),
]


@pytest.mark.parametrize("name,fn,kernel_algorithm,op,opts", CASES, ids=[c[0] for c in CASES])
def test_convalg_functional_conforms(name, fn, kernel_algorithm, op, opts):
    target = getattr(functional, fn)
    if kernel_algorithm:
        target = functools.partial(target, algorithm=kernel_algorithm)
    report = check(target, op=op, max_examples=20, target_name=f"convalg.functional:{fn}", **opts)
    assert report.passed, report.summary()
