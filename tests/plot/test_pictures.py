"""Every picture of convalg.plot, drawn from specs and checked by what it contains (cells, positions, frames)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

import matplotlib.pyplot as plt  # noqa: E402

from convalg import AvgPool, Conv, ConvTranspose, MaxPool, Sequential  # noqa: E402
from convalg.display import OperatorMatrix  # noqa: E402
from convalg.operators import matrix  # noqa: E402
from convalg.plot import (  # noqa: E402
    arithmetic_geometry,
    conv_arithmetic,
    conv_arithmetic_gif,
    direct_equivalent,
    max_pool_routing,
    receptive_field_map,
    sparsity,
)
from convalg.plot._mpl import palette  # noqa: E402
from convalg.plot.receptive import effective_weights  # noqa: E402
from convalg.plot.routing import routing_table  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gids(patches, gid: str) -> int:
    return sum(p.get_gid() == gid for p in patches)


def _png(path) -> tuple[int, int]:
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


# -- sparsity ---------------------------------------------------------------------------------------------------------
def test_palette_distinct_up_to_64() -> None:
    for n in (20, 36, 64):
        colours = np.array(palette(n))
        distance = min(np.linalg.norm(a - b) for a, b in itertools.combinations(colours, 2))
        assert len(colours) == n and distance >= 0.09, (n, distance)


def test_sparsity_numbers_legend_blocks_and_title(tmp_path) -> None:
    """The 36 weights of a 2->2 channel 3x3 conv: 36 legend entries, every stored entry numbered, block lines for
    the channel level and the row level, and the title inside the written image."""
    op = OperatorMatrix.of(Conv(3, padding=1, in_channels=2, out_channels=2, ndim=2), (3, 3))
    title = repr(op.layer) * 2  # long: wrapped, not clipped
    fig = sparsity(op.matrix, op.row_shape, op.col_shape, tmp_path / "s.png", title=title)
    ax = fig.axes[0]
    assert len(ax.get_legend().get_texts()) == 36 == len(set(op.matrix.todok().values()))
    numbers = [t for t in ax.texts if t.get_gid() == "number"]
    assert len(numbers) == op.matrix.nnz()
    lines = [line.get_gid() for line in ax.lines]
    # 18 rows and 18 columns: the channel level splits at 9 (one line each way), the rows of axis 0 every 3
    # (3, 6, 9, 12, 15: five lines each way)
    assert lines.count("block-level-0") == 2 and lines.count("block-level-1") == 10
    width, height = _png(tmp_path / "s.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    saved = fig.get_tightbbox(renderer)  # the area bbox_inches="tight" writes, in inches
    title = ax.title.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
    assert "\n" in ax.title.get_text()  # wrapped
    assert saved.x0 <= title.x0 and title.x1 <= saved.x1 and saved.y0 <= title.y0 and title.y1 <= saved.y1
    assert width > 400 and height > 300


# -- conv arithmetic --------------------------------------------------------------------------------------------------
CASES = [
    (Conv(3, stride=2, padding=1), (5, 5)),
    (Conv(3, dilation=2, padding=1), (7,)),
    (ConvTranspose(3, stride=2, padding=1, output_padding=1), (3, 3)),
    (ConvTranspose(2, stride=2), (3,)),
    (MaxPool(3, stride=2, ceil_mode=True), (6,)),
    (AvgPool(2, padding=1), (4, 3)),
]


@pytest.mark.parametrize("layer,spatial", CASES, ids=[repr(c[0]) for c in CASES])
def test_conv_arithmetic_cells_and_window(tmp_path, layer, spatial) -> None:
    geo = arithmetic_geometry(layer, spatial)
    assert geo.output_shape == tuple(layer.output_shape(spatial))  # the drawn direct layer has the layer's output
    last = tuple(n - 1 for n in geo.output_shape)
    fig = conv_arithmetic(layer, spatial, position=last, path=tmp_path / "a.png")
    ax_in, ax_out = fig.axes
    shown = math.prod(b - a + 1 for a, b in zip(geo.first, geo.last))
    kinds = ("input", "zero", "padding", "overhang")
    assert sum(_gids(ax_in.patches, k) for k in kinds) == shown
    values = math.prod(spatial)
    assert _gids(ax_in.patches, "input") == values  # every input value drawn once, zeros and padding apart
    assert _gids(ax_in.patches, "zero") == math.prod(geo.input_shape) - values
    assert _gids(ax_in.patches, "window") == math.prod(layer.bind(len(spatial)).kernel_size)
    assert _gids(ax_out.patches, "output") == geo.positions == math.prod(layer.output_shape(spatial))
    assert _gids(ax_out.patches, "output-current") == 1
    _png(tmp_path / "a.png")


def test_conv_arithmetic_padding_and_overhang_counts() -> None:
    fig = conv_arithmetic(Conv(3, stride=2, padding=1), (5, 5))
    assert _gids(fig.axes[0].patches, "padding") == 7 * 7 - 25
    geo = arithmetic_geometry(MaxPool(3, stride=2, ceil_mode=True), (6,))
    assert geo.index[0][-1] == (4, 5, 6) and geo.kind((6,)) == "overhang"  # the last window overhangs by one


def test_transposed_conv_is_the_direct_conv_of_the_zero_inserted_input() -> None:
    """The picture's claim, checked on the operators: ConvT = Conv(direct) . Z_s (zero insertion)."""
    for layer, m in [(ConvTranspose(3, stride=2, padding=1, output_padding=1, in_channels=1, out_channels=1), 3),
                     (ConvTranspose(2, stride=3, in_channels=1, out_channels=1), 2)]:
        direct, (size,), (s,) = direct_equivalent(layer, (m,))
        stuffed = sp.zeros(size, m)
        for j in range(m):
            stuffed[s * j, j] = 1
        w = matrix(layer.bind(1), (m,))
        d = matrix(direct.replace(in_channels=1, out_channels=1), (size,)) * stuffed
        assert w == d


def test_gif_frame_count_is_the_number_of_window_positions(tmp_path) -> None:
    for layer, spatial in [(Conv(3, stride=2, padding=1), (5, 5)), (ConvTranspose(2, stride=2), (3,))]:
        path = tmp_path / "slide.gif"
        frames = conv_arithmetic_gif(layer, spatial, path)
        positions = math.prod(layer.output_shape(spatial))
        with Image.open(path) as im:
            assert im.format == "GIF" and im.n_frames == frames == positions


# -- receptive field --------------------------------------------------------------------------------------------------
def test_receptive_field_heat_map_support_is_the_receptive_field(tmp_path) -> None:
    """The composed operator's nonzero support (all weights positive) is exactly the receptive-field region of
    Araujo et al. inside the input, for several outputs."""
    stack = [Conv(3, padding=1), MaxPool(2), Conv(3, padding=1), Conv(3, stride=2, padding=1)]
    net = Sequential(*stack)
    fields = net.receptive_field((16, 16))
    for y in [(0, 0), (2, 1), (3, 3)]:
        heat = effective_weights(stack, (16, 16), y)
        rows, cols = np.nonzero(heat)
        for axis, found in enumerate((rows, cols)):
            lo, hi = fields[axis].region(y[axis])
            assert (found.min(), found.max()) == (max(lo, 0), min(hi, 15))
    fig = receptive_field_map(stack, (16, 16), output=(2, 1), path=tmp_path / "rf.png")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (16, 16)
    assert _gids(ax.patches, "rf-region") == 1
    _png(tmp_path / "rf.png")


def test_effective_weights_count_paths() -> None:
    assert effective_weights([Conv(3, padding=1)] * 2, (7,), (3,)).tolist() == [0, 1, 2, 3, 2, 1, 0]
    avg = effective_weights([AvgPool(2), AvgPool(2)], (4,), (0,))
    assert avg.tolist() == [0.25] * 4


# -- max-pool routing -------------------------------------------------------------------------------------------------
def test_max_pool_routing_arrows_and_ties(tmp_path) -> None:
    x = np.array([[1, 4, 2, 2], [4, 0, 1, 0], [3, 5, 5, 1], [0, 2, 5, 6]], float)
    table = routing_table(MaxPool(2), x)
    assert table == [(0, 1, (4,)), (1, 2, (3,)), (2, 9, ()), (3, 15, ())]
    fig = max_pool_routing(MaxPool(2), x, path=tmp_path / "r.png")
    routes = [a for a in fig.artists if a.get_gid() == "route"]
    assert len(routes) == 4
    ties = [t for t in fig.axes[0].texts if t.get_gid() == "tie"]
    assert len(ties) == 2
    assert _gids(fig.axes[0].patches, "cell") == 16 and _gids(fig.axes[1].patches, "cell") == 4
    _png(tmp_path / "r.png")
    fig = max_pool_routing(MaxPool(3, stride=2, padding=1), np.array([2.0, 2, 1, 3, 3, 0, 1]))
    assert len([a for a in fig.artists if a.get_gid() == "route"]) == 4
    # the input gradient shown is M^T g: outputs 1 and 2 both route to input 3
    assert [t.get_text() for t in fig.axes[2].texts] == ["1", "0", "0", "5", "0", "0", "4"]


def test_gallery_builds_every_picture_kind(tmp_path) -> None:
    """The docs gallery is built from these specs: every file is written, shown on the page, and every kind is in."""
    from convalg.plot.gallery import PICTURES, build

    files = build(tmp_path)
    page = (tmp_path / "gallery.md").read_text()
    assert len(files) == len(PICTURES) and all(f.stat().st_size > 0 for f in files)
    assert all(f"]({f.name})" in page for f in files)
    kinds = {p.name.split("-")[0] for p in PICTURES}
    assert kinds == {"sparsity", "arithmetic", "receptive", "maxpool"}
    assert {p.suffix for p in PICTURES} == {"png", "gif"}
