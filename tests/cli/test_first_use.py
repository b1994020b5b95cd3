"""What a new user meets first: unknown keys, --help, other frameworks' padding names, receptive-field intervals,
size sets of scalar-layer stacks, and the package metadata."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import sympy as sp

import convalg
from convalg import Conv, ConvTranspose, MaxPool, Sequential, SpecError
from convalg.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_key_is_named_with_the_known_keys(capsys) -> None:
    assert main(["shape", "--input", "H", "conv(kernel=3)"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'kernel'" in err and "needs k=" not in err
    assert "k (kernel_size)" in err and "mode (padding_mode)" in err and "flip (flip_kernel)" in err
    assert main(["shape", "--input", "H", "maxpool(k=2,cip=1)"]) == 2
    assert "unknown key 'count_include_pad'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["shape", "rf", "matrix"])
def test_help_lists_layer_names_and_keys(command) -> None:
    text = build_parser()._subparsers._group_actions[0].choices[command].format_help()
    for key, name in [("mode", "padding_mode"), ("g", "groups"), ("cip", "count_include_pad"),
                      ("o", "output_size"), ("flip", "flip_kernel"), ("div", "divisor_override")]:
        assert re.search(rf"^\s+{key}\s+{name}", text, re.M), (key, text)
    assert "convt / convtranspose / deconv" in text


@pytest.mark.parametrize("padding", ["SAME", "SAME_LOWER", "VALID"])
def test_framework_padding_names_point_to_conventions(padding) -> None:
    with pytest.raises(SpecError, match=r"convalg\.conventions\.explicit_padding"):
        Conv(3, padding=padding)
    with pytest.raises(SpecError, match=r"convalg\.conventions\.explicit_padding"):
        MaxPool(3, padding=padding)
    with pytest.raises(SpecError) as e:
        Conv(3, padding="full")
    assert "conventions" not in str(e.value)


def test_rf_prints_intervals(capsys) -> None:
    assert main(["rf", "conv(k=3,p=1)*2", "maxpool(k=2)"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("output y sees inputs [2*y - 2, 2*y + 3]")
    assert main(["rf", "--latex", "conv(k=3,s=2,p=1)"]) == 0
    assert "[2 y - 1, 2 y + 1]" in capsys.readouterr().out


def test_scalar_layer_stack_answers_every_axis_alike() -> None:
    """A stack of scalar-argument layers answers output_shape((H, W)); its size sets answer every axis the same,
    and agree with output_shape at concrete sizes."""
    down = [Conv(3, padding=1), MaxPool(2)]
    net = Sequential(*(down * 2 + [ConvTranspose(2, stride=2), Conv(3, padding=1)] * 2))
    assert net.ndim is None
    H, W = sp.symbols("H W", integer=True, positive=True)
    assert len(net.output_shape((H, W))) == 2
    for axis in (0, 1, 2):
        preserving, exact = net.size_preserving_sizes(axis=axis), net.exact_sizes(axis=axis)
        assert preserving == net.size_preserving_sizes() and exact == net.exact_sizes()
        for n in range(4, 40):
            assert (n in preserving) == (net.output_shape((7, n))[1] == n)
    bound = Sequential(*[layer.bind(2) for layer in net])
    with pytest.raises(SpecError, match="axis=2: must be < ndim=2"):
        bound.size_preserving_sizes(axis=2)


def test_readme_shows_size_preserving_sizes() -> None:
    text = (ROOT / "README.md").read_text()
    assert "size_preserving_sizes" in text and "exact_sizes" in text


def test_version_matches_pyproject() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == convalg.__version__
    # No [project.urls]: the project has no public address yet, and a guessed one would send
    # users to somebody else's repository.
    assert "urls" not in project
