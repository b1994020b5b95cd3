"""Window plans: stored axis programs equal their symbolic derivation; plans stay per-axis; the plans of
sub-problems (phases, FFT tiles, scatter form) come from the index map, not from new layer specs."""

from __future__ import annotations

import ast
import importlib
import inspect

import numpy as np
import pytest

import convalg
from convalg import reference
from convalg.kernels import base, cache
from convalg.kernels.numpy import ops as numpy_ops
from convalg.kernels.numpy._axis_programs import PRINTED
from convalg.kernels.numpy.conv import conv_plan, gather_layer
from convalg.kernels.numpy.plan import PROGRAM_KEYS, derive_axis_program, sliding_plan, window_plan


@pytest.mark.parametrize("key", PROGRAM_KEYS)
def test_stored_axis_program_is_the_symbolic_derivation(key):
    assert PRINTED[key] == derive_axis_program(*key)


def test_plan_size_does_not_grow_with_output_times_kernel():
    small = window_plan(convalg.Conv(31, padding=15, ndim=2), (64, 64))
    big = window_plan(convalg.Conv(31, padding=15, ndim=2), (2048, 2048))
    assert big.nbytes < 64 << 10 and big.nbytes <= small.nbytes + 4096


_FIELDS = ("kind", "input_shape", "output_shape", "kernel", "stride", "dilation", "lo", "padding_mode", "extent",
           "inside", "step", "tap_step", "taps", "source")


@pytest.mark.parametrize("spatial,kernel,stride,dilation,padding", [
    ((6,), (3,), (2,), (1,), ((1, 1),)),
    ((64, 61), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((34, 40), (3, 5), (1, 2), (2, 3), ((2, 0), (1, 4))),
    ((9, 8, 7), (2, 3, 1), (3, 1, 2), (1, 2, 1), ((0, 1), (2, 2), (0, 0))),
])
def test_a_sliding_plan_is_the_window_plan_of_the_same_windows_without_a_layer(spatial, kernel, stride, dilation,
                                                                                 padding):
    got = sliding_plan(spatial, kernel, stride, dilation, padding)
    want = window_plan(convalg.Conv(kernel, stride, padding, dilation, bias=False, ndim=len(spatial)), spatial)
    assert [getattr(got, f) for f in _FIELDS] == [getattr(want, f) for f in _FIELDS]
    assert got is sliding_plan(spatial, kernel, stride, dilation, padding)  # cached


def test_a_sliding_plan_needs_a_window():
    with pytest.raises(convalg.SpecError, match=r"window kernel=\(5,\).*output size \(-1,\)"):
        sliding_plan((3,), (5,))


def test_the_numpy_algorithms_import_no_layer_specs():
    for name in ("polyphase", "fft", "conv"):
        tree = ast.parse(inspect.getsource(importlib.import_module(f"convalg.kernels.numpy.{name}")))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        assert not [m for m in imported if m.lstrip(".").startswith("spec") or "convalg.spec" in m], name


def test_sub_plans_build_no_layer_specs(monkeypatch):
    """The phases of a dilated layer, the overlap-save tiles of the FFT and the scatter form of a transposed
    convolution are window plans of other parameters: built from the index map, not from a new Conv."""
    rng = np.random.default_rng(0)
    dilated = convalg.Conv(3, padding=2, dilation=2, in_channels=2, out_channels=3, ndim=2)
    wide = convalg.Conv(11, padding=5, in_channels=2, out_channels=2, ndim=1)
    x2, x1 = rng.standard_normal((1, 2, 20, 19)), rng.standard_normal((1, 2, 600))
    w2, w1 = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 2, 11))
    xt, wt = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((2, 3, 3, 3))
    cache.clear()
    made = []
    init = convalg.Conv.__init__
    monkeypatch.setattr(convalg.Conv, "__init__", lambda self, *a, **kw: made.append(a) or init(self, *a, **kw))
    phased = conv_plan(dilated, x2.shape, "float64", "winograd")
    tiled = conv_plan(wide, x1.shape, "float64", "fft")
    assert phased.inner is not None and tiled.tiles is not None
    y2, y1 = phased(x2, w2), tiled(x1, w1)
    yt = numpy_ops.conv_transpose(xt, wt, stride=2, padding=1)  # strided: the scatter form
    assert made == []
    monkeypatch.undo()
    np.testing.assert_allclose(y2, reference.conv(x2, w2, padding=2, dilation=2), atol=1e-10)
    np.testing.assert_allclose(y1, reference.conv(x1, w1, padding=5), atol=1e-10)
    np.testing.assert_allclose(yt, reference.conv_transpose(xt, wt, stride=2, padding=1), atol=1e-12)
    cache.clear()


def test_the_gather_form_of_a_transposed_conv_comes_from_the_one_conv_builder():
    layer = convalg.ConvTranspose(3, stride=2, padding=1, output_padding=1, in_channels=4, out_channels=6, groups=2,
                                  ndim=2)
    gather, factors = gather_layer(layer, (5, 4))
    assert factors == (2, 2)
    assert gather is base.conv_layer((1, 4, 9, 7), (6, 2, 3, 3), 1, ((1, 2), (1, 2)), (1, 1), 2)
    with pytest.raises(convalg.SpecError, match="the gather form needs in_channels and out_channels"):
        gather_layer(convalg.ConvTranspose(3, stride=2, ndim=1), (5,))
