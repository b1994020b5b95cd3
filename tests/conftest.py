"""Shared fixtures: Hypothesis profile selection, opt-in slow tests, and the ``xp`` array-module fixture."""

from __future__ import annotations

import numpy as np
import pytest

from convalg.kernels.arrays import cuda_device
from convalg.testing.profiles import load_profile

load_profile()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: opt in with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


XP_PARAMS = [pytest.param("numpy", id="numpy"),
             pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(not cuda_device(), reason="no CUDA device"))]


@pytest.fixture(params=XP_PARAMS)
def xp(request: pytest.FixtureRequest):
    """The array module under test: NumPy always, CuPy when a CUDA device is present."""
    if request.param == "numpy":
        return np
    import cupy

    return cupy
