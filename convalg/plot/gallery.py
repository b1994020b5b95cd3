"""The gallery: every picture kind of :mod:`convalg.plot`, drawn from fixed specs into one folder with a Markdown page.

The documentation build calls :func:`build` (so the gallery is never stale), and the tests build it too.

>>> [p.name for p in PICTURES][:3]
['sparsity-conv2d-36-weights', 'sparsity-conv2d-64-weights', 'sparsity-circular']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..display import OperatorMatrix
from ..spec import AvgPool, Conv, ConvTranspose, MaxPool
from ._mpl import pyplot
from .arithmetic import conv_arithmetic, conv_arithmetic_gif
from .receptive import receptive_field_map
from .routing import max_pool_routing
from .sparsity import sparsity

__all__ = ["Picture", "PICTURES", "build"]


@dataclass(frozen=True)
class Picture:
    """One gallery entry: ``draw(path)`` writes ``<name>.<suffix>``."""

    name: str
    caption: str
    draw: Callable[[str], Any]
    suffix: str = "png"


def _sparsity(layer: Any, spatial: tuple[int, ...]) -> Callable[[str], Any]:
    def draw(path: str) -> Any:
        op = OperatorMatrix.of(layer, spatial)
        return sparsity(op.matrix, op.row_shape, op.col_shape, path, title=f"{op.layer!r} on {spatial}")

    return draw


def _pictures() -> tuple[Picture, ...]:
    ties = np.array([[1, 4, 2, 2], [4, 0, 1, 0], [3, 5, 5, 1], [0, 2, 5, 6]], dtype=float)
    stack = [Conv(3, padding=1), MaxPool(2), Conv(3, padding=1), Conv(3, stride=2, padding=1)]
    convt = ConvTranspose(3, stride=2, padding=1, output_padding=1)
    return (
        Picture("sparsity-conv2d-36-weights", "3x3 conv, 2 -> 2 channels, on a 3x3 input: 36 weights, each a colour "
                "and a number; thick lines between channels, thin between rows (doubly block Toeplitz).",
                _sparsity(Conv(3, padding=1, in_channels=2, out_channels=2, ndim=2), (3, 3))),
        Picture("sparsity-conv2d-64-weights", "4x4 conv, stride 2, 2 -> 2 channels: 64 distinct colours.",
                _sparsity(Conv(4, stride=2, padding=2, in_channels=2, out_channels=2, ndim=2), (4, 4))),
        Picture("sparsity-circular", "circular padding: the doubly block circulant matrix.",
                _sparsity(Conv(3, padding=1, padding_mode="circular", in_channels=1, out_channels=1, ndim=2),
                          (4, 4))),
        Picture("arithmetic-conv2d-stride2", "3x3 conv, stride 2, padding 1 on 5x5: the window of output (1, 1).",
                lambda p: conv_arithmetic(Conv(3, stride=2, padding=1), (5, 5), (1, 1), p)),
        Picture("arithmetic-conv2d-stride2-animated", "the same, sliding over all 9 output positions.",
                lambda p: conv_arithmetic_gif(Conv(3, stride=2, padding=1), (5, 5), p), "gif"),
        Picture("arithmetic-conv1d-dilated", "dilation 2: the taps skip an input.",
                lambda p: conv_arithmetic(Conv(3, dilation=2, padding=1), (7,), (1,), p)),
        Picture("arithmetic-conv-transpose2d", "transposed conv, stride 2, padding 1, output padding 1 on 3x3: the "
                "stride-1 conv with the flipped kernel over the zero-inserted, padded input.",
                lambda p: conv_arithmetic(convt, (3, 3), (1, 2), p)),
        Picture("arithmetic-conv-transpose1d-animated", "the 1-D transposed conv, every output position.",
                lambda p: conv_arithmetic_gif(convt, (3,), p), "gif"),
        Picture("arithmetic-maxpool1d-ceil", "max pool 3, stride 2, ceil mode on 6: the last window overhangs.",
                lambda p: conv_arithmetic(MaxPool(3, stride=2, ceil_mode=True), (6,), (2,), p)),
        Picture("arithmetic-avgpool2d-padded", "2x2 average pool with padding 1 on 4x3.",
                lambda p: conv_arithmetic(AvgPool(2, padding=1), (4, 3), (1, 1), p)),
        Picture("receptive-field-2d", "receptive field of output (2, 1) of conv-pool-conv-conv(stride 2) on 16x16: "
                "the composed operator's row (all conv weights 1) inside the Araujo et al. region.",
                lambda p: receptive_field_map(stack, (16, 16), (2, 1), p)),
        Picture("receptive-field-1d", "1-D: the region reaches into the padding.",
                lambda p: receptive_field_map(stack[:3], (12,), (0,), p)),
        Picture("maxpool-routing-2d-ties", "2x2 max pool: each output's gradient goes to the first maximum of its "
                "window; inputs tying with a winner are hatched.", lambda p: max_pool_routing(MaxPool(2), ties, path=p)),
        Picture("maxpool-routing-1d-overlapping", "overlapping windows (k=3, s=2, p=1): two gradients add up at one "
                "input.", lambda p: max_pool_routing(MaxPool(3, stride=2, padding=1), np.array([2.0, 2, 1, 3, 3, 0, 1]),
                                                     path=p)),
    )


PICTURES = _pictures()


def build(folder: str | os.PathLike[str], page: str = "gallery.md") -> list[Path]:
    """Draw every picture into ``folder`` and write the Markdown ``page`` there that shows them; returns the files."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files, lines = [], ["# Gallery", "", "Drawn by `convalg.plot` when the documentation is built "
                        "(`convalg.plot.gallery.build`); `convalg draw` makes each from the command line.", ""]
    for picture in PICTURES:
        path = out / f"{picture.name}.{picture.suffix}"
        picture.draw(str(path))
        pyplot().close("all")
        files.append(path)
        lines += [f"## {picture.name}", "", picture.caption, "", f"![{picture.name}]({path.name})", ""]
    (out / page).write_text("\n".join(lines))
    return files
