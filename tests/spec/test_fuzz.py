"""Fuzz: random argument combinations, garbage included, give a valid layer or SpecError, nothing else."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import convalg
from convalg import (
    AdaptiveAvgPool,
    AdaptiveMaxPool,
    AvgPool,
    Conv,
    ConvTranspose,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    MaxPool,
    Sequential,
    SpecError,
)
from convalg.cli.syntax import parse_input, parse_layers
from convalg.spec import INPUT_SIZE
from convalg.spec.conventions import explicit_padding, onnx_pads, tf_output_size, torch_pad_tuple

H = sp.Symbol("H", integer=True, positive=True)
GOOD = [1, 2, 3, 4, (2, 3), (1, 1), ((1, 2),), ((0, 1), (1, 0)), np.int64(2), sp.Integer(3)]
GARBAGE = [
    0, -1, -7, 10**30, -(10**30), 2.0, 1.5, math.nan, math.inf, -math.inf, True, False, None, "3", "", "same", "valid",
    "SAME", b"3", (), (1,), (1, 2, 3), (2, 2, 2, 2), [3], [[1]], ((1, 2, 3),), (None,), ((None, 1),), ((1, 2),) * 3,
    object(), np.int32(2), np.float64(2.0), np.array(3), np.array([1, 2]), np.bool_(True), sp.Rational(1, 2),
    sp.Symbol("x"), H, INPUT_SIZE, sp.nan, sp.oo, sp.zoo, 1 + 0j, {1: 2}, {3}, (sp.Integer(1), np.int64(2)),
    ((np.int64(1), sp.Integer(2)),), (-1, 2), ((-1, -1),), (math.nan,), (True, 1), ((INPUT_SIZE, 0),),
    ((sp.floor(INPUT_SIZE / 2), 1),), ((H, 1),), ((sp.Rational(1, 2) * INPUT_SIZE, 0),), [(1, 2), (3, 4)], range(2),
    "zeros", "reflect", "circular", "replicate", "bogus", 64, 65, 1000, ((2, 2),), ((3, 0),),
]
VALUES = GOOD * 3 + GARBAGE
SIGNATURES: dict[type, list[str]] = {
    Conv: ["kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode", "in_channels",
           "out_channels", "flip_kernel", "ndim"],
    ConvTranspose: ["kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation",
                    "padding_mode", "in_channels", "out_channels", "flip_kernel", "ndim"],
    MaxPool: ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "ndim"],
    AvgPool: ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override", "ndim"],
    AdaptiveAvgPool: ["output_size", "ndim"],
    AdaptiveMaxPool: ["output_size", "ndim"],
    GlobalAvgPool: ["ndim", "output_size"],
    GlobalMaxPool: ["ndim"],
}
REQUIRED = {"kernel_size": [1, 2, 3, (2, 3)], "output_size": [1, 2, (2, None)]}
NAMESPACE = {name: getattr(convalg, name) for name in convalg.__all__}


def attempt(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``call(*args, **kwargs)``; SpecError is a fine answer, anything else fails the test with the culprit."""
    try:
        return call(*args, **kwargs)
    except SpecError as e:
        assert str(e), what
        return None
    except Exception as e:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{what} raised {type(e).__name__}: {e}")


def check_valid_layer(layer: Layer) -> None:
    """A constructed layer is normalised: per-axis int tuples of the right length, hashable, repr round-trips."""
    count = 1 if layer.ndim is None else layer.ndim
    assert layer.ndim is None or 1 <= layer.ndim <= 64
    for name in ("kernel_size", "stride", "dilation", "output_padding"):
        value = getattr(layer, name, None)
        if value is not None:
            assert isinstance(value, tuple) and len(value) == count
            assert all(type(v) is int and v >= (0 if name == "output_padding" else 1) for v in value)
    pads = getattr(layer, "padding", None)
    if pads is not None:
        assert len(pads) == count and all(len(p) == 2 for p in pads)
        assert all(type(p) is int or (isinstance(p, sp.Expr) and p.free_symbols == {INPUT_SIZE})
                   for pair in pads for p in pair)
    assert layer == layer.replace() and hash(layer) == hash(layer.replace())
    if pads is None or all(type(p) is int for pair in pads for p in pair):
        assert eval(repr(layer), NAMESPACE) == layer


def random_sizes(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.5:
        return tuple(rng.choice([1, 2, 5, 8, 17, H]) for _ in range(rng.randint(1, 3)))
    if pick < 0.8:
        return tuple(rng.choice(VALUES) for _ in range(rng.randint(0, 3)))
    return rng.choice(VALUES)


def exercise(layer: Layer, rng: random.Random) -> None:
    """Every public method of a valid layer, with random (often invalid) arguments."""
    check_valid_layer(layer)
    sizes = random_sizes(rng)
    out = attempt(f"{layer!r}.output_shape({sizes!r})", lambda: layer.output_shape(sizes))
    if out is not None:
        assert len(out) == (len(sizes) if isinstance(sizes, tuple) else 1)
        assert all((type(o) is int and o >= 1) or isinstance(o, sp.Expr) for o in out)
    attempt(f"{layer!r}.axis_specs({sizes!r})", lambda: layer.axis_specs(sizes))
    ndim = rng.choice([1, 2, 3, 0, -1, 2.0, None, 10**9])
    attempt(f"{layer!r}.bind({ndim!r})", lambda: layer.bind(ndim))
    name, value = rng.choice(SIGNATURES[type(layer)]), rng.choice(VALUES)
    changed = attempt(f"{layer!r}.replace({name}={value!r})", lambda: layer.replace(**{name: value}))
    if changed is not None:
        check_valid_layer(changed)
    if isinstance(layer, ConvTranspose):
        want = random_sizes(rng)
        attempt(f"{layer!r}.output_padding_for({sizes!r}, {want!r})", lambda: layer.output_padding_for(sizes, want))
        attempt(f"{layer!r}.with_output_size({sizes!r}, {want!r})", lambda: layer.with_output_size(sizes, want))
        attempt(f"{layer!r}.transpose()", layer.transpose)
    if isinstance(layer, Conv):
        attempt(f"{layer!r}.transpose({sizes!r})", lambda: layer.transpose(sizes))
    attempt(f"{layer!r}.output_channels", lambda: layer.output_channels(rng.choice([None, 1, 2, 4, 6])))


def random_kwargs(cls: type, rng: random.Random) -> dict[str, Any]:
    kwargs = {name: rng.choice(GOOD if rng.random() < 0.6 else VALUES) for name in SIGNATURES[cls]
              if rng.random() < 0.35}
    for name, good in REQUIRED.items():
        if name in SIGNATURES[cls] and name not in kwargs and cls not in (GlobalAvgPool,):
            kwargs[name] = rng.choice(good)
    return kwargs


@pytest.mark.parametrize("cls", list(SIGNATURES), ids=lambda c: c.__name__)
def test_constructors_and_methods_give_layers_or_spec_errors(cls) -> None:
    rng = random.Random(f"convalg-fuzz-{cls.__name__}")
    built = 0
    for _ in range(600):
        kwargs = random_kwargs(cls, rng)
        layer = attempt(f"{cls.__name__}(**{kwargs!r})", cls, **kwargs)
        if layer is not None:
            built += 1
            exercise(layer, rng)
    assert built > 15  # the fuzz reaches valid layers too, not only errors


def test_conventions_and_stacks_give_results_or_spec_errors() -> None:
    rng = random.Random("convalg-fuzz-conventions")
    for _ in range(800):
        kw = {k: rng.choice(VALUES) for k in ("kernel_size", "stride", "dilation", "n", "ndim") if rng.random() < 0.5}
        convention = rng.choice(["SAME", "SAME_LOWER", "SAME_UPPER", "VALID", "torch_same", *VALUES[:8]])
        attempt(f"explicit_padding({convention!r}, **{kw!r})",
                explicit_padding, convention, kw.pop("kernel_size", 3), **kw)
        value = rng.choice(VALUES + [[1, 2, 3, 4], (1, 2), [0, 0]])
        attempt(f"onnx_pads({value!r})", onnx_pads, value)
        attempt(f"torch_pad_tuple({value!r})", torch_pad_tuple, value)
        args = [rng.choice(VALUES + [5, 9]) for _ in range(4)] + [rng.choice(["SAME", "VALID", *VALUES[:5]])]
        attempt(f"tf_output_size{tuple(args)!r}", tf_output_size, *args)
        text = rng.choice(["H,W", "224", "H", "", ",", "3.5", "H,-1", "a b", "0,2", "x,,y"])
        attempt(f"parse_input({text!r})", parse_input, text)
    for _ in range(150):
        layers = []
        for _ in range(rng.randint(0, 4)):
            cls = rng.choice(list(SIGNATURES))
            kwargs = random_kwargs(cls, rng)
            layer = attempt("", cls, **kwargs)
            layers.append(layer if layer is not None and rng.random() < 0.9 else rng.choice(VALUES))
        net = attempt(f"Sequential(*{layers!r})", Sequential, *layers)
        if net is None:
            continue
        sizes = random_sizes(rng)
        attempt(f"{net!r}.output_shape({sizes!r})", net.output_shape, sizes)
        attempt(f"{net!r}.receptive_field({sizes!r})", net.receptive_field, sizes)
        axis = rng.choice([0, 1, -1, 5, 1.0, None])
        attempt(f"{net!r}.exact_sizes({axis!r})", net.exact_sizes, axis)
        attempt(f"{net!r}.size_preserving_sizes({axis!r})", net.size_preserving_sizes, axis)


ALPHABET = st.sampled_from(["conv", "convt", "maxpool", "avgpool", "gap", "aap", "amp", "gmp", "foo", "(", ")", "k=",
                            "s=", "p=", "d=", "op=", "ceil=", "mode=", "o=", "g=", "cin=", "cout=", "3", "0", "-1",
                            "2x2", "1:2", "same", "valid", "none", "reflect", ",", "*", "*3", " ", "=", "x", ":",
                            "1.5", "true", "yes", "flip=", "cip=", "div=", "bias=", "zz=", "9" * 30])


@given(st.lists(ALPHABET, max_size=14).map("".join))
def test_cli_layer_syntax_never_raises_anything_but_spec_error(text) -> None:
    layers = attempt(f"parse_layers({text!r})", lambda: parse_layers(text))
    if layers is not None:
        assert layers and all(isinstance(layer, Layer) for layer in layers)


JUNK = st.one_of(st.integers(-5, 10), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                 st.text(max_size=3), st.sampled_from(GARBAGE),
                 st.lists(st.integers(-2, 5), max_size=4).map(tuple),
                 st.lists(st.tuples(st.integers(-2, 4), st.integers(-2, 4)), max_size=3).map(tuple),
                 st.recursive(st.integers(0, 3), lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6))


@given(st.sampled_from(list(SIGNATURES)), st.dictionaries(st.sampled_from(sorted({n for v in SIGNATURES.values()
                                                                                for n in v})), JUNK, max_size=5))
def test_hypothesis_junk_gives_layer_or_spec_error(cls, kwargs) -> None:
    kwargs = {k: v for k, v in kwargs.items() if k in SIGNATURES[cls]}
    for name, good in REQUIRED.items():
        if name in SIGNATURES[cls] and name not in kwargs and cls is not GlobalAvgPool:
            kwargs[name] = good[0]
    layer = attempt(f"{cls.__name__}(**{kwargs!r})", cls, **kwargs)
    if layer is not None:
        exercise(layer, random.Random(repr(kwargs)))
