"""The receptive field of one output of a stack: the effective weights of the composed operator on the input grid."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sparse

from ..checks import check_spatial
from ..errors import SpecError
from ..operators import matrix
from ..operators.maxpool import window_candidates
from ..shapes.stack import flatten_layers
from ..spec.sequential import Sequential
from ..vocabulary import kind_of
from ._mpl import finish, pyplot, wrapped_title

__all__ = ["effective_weights", "receptive_field_map"]


def _operator(layer: Any, spatial: tuple[int, ...]) -> sparse.csr_matrix:
    """One channel of ``layer`` as a numeric sparse matrix: a conv with every weight 1, an average pool with its
    ``1/divisor`` entries, a max pool as the indicator of its windows (every tap could be the winner)."""
    kind = kind_of(layer)
    return (_no_operator if kind is None else _OPERATOR[kind])(layer, spatial)


def _window_indicator(layer: Any, spatial: tuple[int, ...]) -> sparse.csr_matrix:
    _, windows = window_candidates(layer, spatial)
    rows = [r for r, taps in enumerate(windows) for _ in taps]
    cols = [c for taps in windows for c in taps]
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(windows), math.prod(spatial)))


def _unit_conv(layer: Any, spatial: tuple[int, ...]) -> sparse.csr_matrix:
    one: Any = layer.replace(in_channels=1, out_channels=1, groups=1)
    return _numeric(matrix(one, spatial, weights=np.ones(one.weight_shape, dtype=object)))


def _linear(layer: Any, spatial: tuple[int, ...]) -> sparse.csr_matrix:
    return _numeric(matrix(layer, spatial))


def _no_operator(layer: Any, spatial: tuple[int, ...]) -> sparse.csr_matrix:
    raise SpecError(f"layer={layer!r}: the receptive-field map takes Conv, MaxPool and AvgPool layers")


def _numeric(A: Any) -> sparse.csr_matrix:
    entries = A.todok()
    rows, cols = (list(t) for t in zip(*entries)) if entries else ([], [])
    return sparse.csr_matrix(([float(v) for v in entries.values()], (rows, cols)), shape=A.shape)


#: Per layer kind, its one-channel operator in the picture: ``operator(layer, spatial)``.
_OPERATOR = {
    "conv": _unit_conv, "avg_pool": _linear, "max_pool": _window_indicator,
    "conv_transpose": _no_operator, "adaptive_avg_pool": _no_operator, "adaptive_max_pool": _no_operator,
    "sequential": _no_operator,
}


def effective_weights(layers: Any, spatial: Sequence[int], output: Sequence[int]) -> np.ndarray:
    """The row of the composed operator ``A_L ... A_1`` for output position ``output``, on the input grid.

    Conv weights are all 1, so with stride-1 3x3 convs the entries count the paths from each input to the output.

    >>> from convalg import Conv
    >>> effective_weights([Conv(3, padding=1), Conv(3, padding=1)], (7,), (3,))
    array([0., 1., 2., 3., 2., 1., 0.])
    """
    stack = flatten_layers(list(layers) if isinstance(layers, (list, tuple)) else [layers])
    sizes = check_spatial(spatial, None)
    total = sparse.identity(math.prod(sizes), format="csr")
    current = sizes
    for layer in stack:
        bound = layer.bind(len(current))  # type: ignore[attr-defined]
        total = _operator(bound, current) @ total
        current = tuple(int(n) for n in bound.output_shape(current))
    out = tuple(output)
    if len(out) != len(current) or not all(0 <= o < n for o, n in zip(out, current)):
        raise SpecError(f"output={out}: must index the stack's output of shape {current}")
    row = total.getrow(int(np.ravel_multi_index(out, current))).toarray().reshape(sizes)
    return row


def receptive_field_map(layers: Any, spatial: Sequence[int], output: Sequence[int] | None = None,
                        path: str | os.PathLike[str] | None = None) -> Any:
    """Heat map of :func:`effective_weights` for ``output`` (default: the centre output) on the input grid, with
    the region ``[y*S - P, y*S - P + r - 1]`` of :meth:`convalg.Sequential.receptive_field` outlined.

    The heat map is the axes' image; the outline is the patch with gid ``'rf-region'``.
    """
    plt = pyplot()
    from matplotlib.patches import Rectangle

    net = layers if kind_of(layers) == "sequential" else Sequential(*layers)
    sizes = tuple(int(n) for n in spatial)
    if len(sizes) not in (1, 2):
        raise SpecError(f"spatial={sizes}: the receptive-field map is 1-D or 2-D")
    out_shape = tuple(int(n) for n in net.output_shape(sizes))
    y = tuple(output) if output is not None else tuple(n // 2 for n in out_shape)
    heat = effective_weights(net.layers, sizes, y)
    fields = net.receptive_field(sizes)
    regions = [f.region(o) for f, o in zip(fields, y)]
    grid = heat.reshape(1, -1) if len(sizes) == 1 else heat
    fig, ax = plt.subplots(figsize=(max(4.5, 0.35 * grid.shape[1] + 2), max(2.5, 0.35 * grid.shape[0] + 1.5)),
                           layout="constrained")
    shown = np.where(grid > 0, grid, np.nan)
    image = ax.imshow(shown, cmap="viridis", interpolation="nearest")
    ax.set_facecolor("#eeeeee")
    fig.colorbar(image, ax=ax, label="effective weight (conv weights 1)", shrink=0.8)
    (r0, r1), (c0, c1) = ((0, 0), regions[0]) if len(sizes) == 1 else (regions[0], regions[1])
    ax.add_patch(Rectangle((int(c0) - 0.5, int(r0) - 0.5), int(c1) - int(c0) + 1, int(r1) - int(r0) + 1,
                           fill=False, edgecolor="red", linewidth=2, linestyle="--", gid="rf-region", clip_on=False))
    ax.set_xlim(min(-0.5, int(c0) - 0.7), max(grid.shape[1] - 0.5, int(c1) + 0.7))
    ax.set_ylim(max(grid.shape[0] - 0.5, int(r1) + 0.7), min(-0.5, int(r0) - 0.7))
    text = " x ".join(f"[{int(a)}, {int(b)}]" for a, b in regions)
    ax.set_title(wrapped_title(f"{net!r}: output {y} of {out_shape} sees input {text} (dashed; padding "
                               "outside the grid), heat = composed operator row", 80), fontsize=8)
    ax.set_xlabel(f"input index, axis {len(sizes) - 1}")
    if len(sizes) == 2:
        ax.set_ylabel("input index, axis 0")
    ax.set_yticks([] if len(sizes) == 1 else range(grid.shape[0]))
    return finish(fig, path)
