"""Mistakes the typed API catches: mypy must reject every marked line (.ci/typecheck counts them)."""

from __future__ import annotations

import numpy as np

from convalg import functional as F

x = np.ones((1, 2, 8, 8))
w = np.ones((3, 2, 3, 3))
F.conv2d(x, w, padding=1.5)  # error: a float padding
F.conv2d(x, w, groups="2")  # error: groups is an int
values: np.ndarray = F.max_pool2d(x, 2, return_indices=True)  # error: with return_indices, a pair
F.avg_pool(x, kernel_size=None)  # error: avg_pool needs a kernel size
