"""A user's program: mypy --strict must accept it against an installed convalg (.ci/typecheck)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import convalg
from convalg import functional as F

x = np.ones((1, 2, 8, 8))
w = np.ones((3, 2, 3, 3))
y: npt.NDArray[np.float64] = F.conv2d(x, w, padding=1, stride=(1, 2))
z = F.conv_transpose2d(y, np.ones((3, 2, 2, 2)), stride=2, output_padding=(0, 1))
pooled: npt.NDArray[np.float64] = F.max_pool2d(z, 2)
values, indices = F.max_pool2d(z, 2, return_indices=True)
grad = F.max_pool_grad(np.ones_like(values), indices, z.shape)
avg = F.avg_pool(x, (2, 2), padding=((0, 1), (1, 0)), count_include_pad=False)
net = convalg.Sequential(convalg.Conv(3, padding=1), convalg.MaxPool(2))
sizes = net.output_shape((8, 8))
print(pooled.shape, grad.shape, avg.shape, sizes)
