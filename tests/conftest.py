"""Shared fixtures: Hypothesis profile selection, opt-in slow tests, and the ``xp`` array-module fixture."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

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


def _gpu_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


XP_PARAMS = [pytest.param("numpy", id="numpy"),
             pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(not _gpu_available(), reason="no CUDA device"))]


@pytest.fixture(params=XP_PARAMS)
def xp(request: pytest.FixtureRequest):
    """The array module under test: NumPy always, CuPy when a CUDA device is present."""
    if request.param == "numpy":
        return np
    import cupy

    return cupy
