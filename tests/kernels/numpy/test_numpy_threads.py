"""``parallel.thread_limit``: the NumPy kernels' own thread settings for a block, set back even on error."""

from __future__ import annotations

import numpy as np
import pytest

import convalg.functional as F
from convalg import SpecError
from convalg.kernels.numpy import parallel


def test_thread_limit_sets_both_settings_and_restores_them_after_an_error() -> None:
    before = parallel.KERNEL_WORKERS, parallel.FFT_WORKERS
    with pytest.raises(RuntimeError), parallel.thread_limit(before[0] + 1):
        assert (parallel.KERNEL_WORKERS, parallel.FFT_WORKERS) == (before[0] + 1,) * 2
        raise RuntimeError
    assert (parallel.KERNEL_WORKERS, parallel.FFT_WORKERS) == before


@pytest.mark.parametrize("threads", [0, -1, True, 2.0])
def test_thread_limit_rejects_non_positive_or_non_integer_counts(threads) -> None:
    with pytest.raises(SpecError, match="threads="):
        with parallel.thread_limit(threads):
            pass


def test_one_thread_gives_the_same_fft_and_winograd_results() -> None:
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3, 20, 20)), rng.standard_normal((5, 3, 3, 3))
    free = [F.conv(x, w, padding=1, algorithm=a) for a in ("fft", "winograd")]
    with parallel.thread_limit(1):
        limited = [F.conv(x, w, padding=1, algorithm=a) for a in ("fft", "winograd")]
    for a, b in zip(free, limited):
        np.testing.assert_array_equal(a, b)
