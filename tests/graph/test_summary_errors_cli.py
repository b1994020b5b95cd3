"""Summary figures against torch, the error paths of the importers, and ``convalg shape`` on whole models."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp

torch = pytest.importorskip("torch")

import convalg  # noqa: E402
from convalg.cli import main  # noqa: E402

from .torch_models import FPN, MobileNetBlocks, resnet18  # noqa: E402

pytestmark = pytest.mark.torch
nn = torch.nn
H, W = sp.symbols("H W", integer=True, positive=True)


def _hooked_macs(model, x) -> int:
    """Conv / Linear MACs from the shapes torch actually produces (one MAC per weight use)."""
    total = []

    def hook(m, inputs, out):
        if isinstance(m, nn.Conv2d):
            total.append(out.numel() * m.in_channels // m.groups * math.prod(m.kernel_size))
        elif isinstance(m, nn.Linear):
            total.append(out.numel() * m.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(total)


@pytest.mark.parametrize("factory", [resnet18, MobileNetBlocks, FPN])
def test_params_and_macs_match_torch(factory) -> None:
    model = factory().eval()
    s = convalg.from_torch(model, (1, 3, H, W)).summary()
    assert s.total_params == sum(p.numel() for p in model.parameters())
    for h, w in [(64, 64), (40, 88), (96, 32)]:
        assert s.total_macs.subs({H: h, W: w}) == _hooked_macs(model, torch.zeros(1, 3, h, w))
    assert "<table>" in s.html() and "total" in str(s)


def test_receptive_field_is_the_hull_over_paths() -> None:
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 5, padding=2)
            self.b = nn.Conv2d(1, 1, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return self.pool(self.a(x) + self.b(x))

    g = convalg.from_torch(Res(), (1, 1, H, W))
    rf = g.summary().rows[-1].receptive_field
    chain = convalg.Sequential(convalg.Conv(5, padding=2), convalg.MaxPool(2)).receptive_field((64, 64))[0]
    assert rf[0] == f"{chain.size} (stride {chain.stride}, padding {chain.padding})" == "6 (stride 2, padding 2)"


class _DataDependent(nn.Module):
    def forward(self, x):
        return torch.nonzero(x) + 0


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return x


class _Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.branchy = _Branchy()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.branchy(x))


def test_data_dependent_shapes_are_reported_not_guessed() -> None:
    g = convalg.from_torch(_DataDependent(), (1, 1, H, W))
    assert [u.op for u in g.unsupported] == ["nonzero"] and "data-dependent" in g.unsupported[0].reason
    assert g.exact_outputs == ()
    with pytest.raises(convalg.SpecError, match="not exact"):
        g.accepts({"H": 4, "W": 4})


def test_untraceable_code_names_the_module_and_the_leaf_option() -> None:
    with pytest.raises(convalg.SpecError, match=r"_Wrapper.*leaf_modules"):
        convalg.from_torch(_Wrapper(), (1, 1, H, W))
    g = convalg.from_torch(_Wrapper(), (1, 1, H, W), leaf_modules=["branchy"])
    assert [u.node for u in g.unsupported] == ["branchy"] and "leaf_rules" in g.unsupported[0].reason
    g = convalg.from_torch(_Wrapper(), (1, 1, H, W), leaf_rules={"branchy": lambda s: (*s[:2], s[2] - 2, s[3] - 2)})
    assert g.output_shape == (1, 1, sp.floor(H / 2) - 1, sp.floor(W / 2) - 1)


def test_unknown_module_names_node_op_and_rule() -> None:
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Unflatten(1, (1, 1)))
    g = convalg.from_torch(net, (1, 1, H, W))
    assert g.unsupported[0].op == "Unflatten" and "no shape rule" in g.unsupported[0].reason
    assert str(g.unsupported[0]).startswith("_1 (Unflatten)") and "leaf_rules={'1'" in str(g.unsupported[0])


def test_cli_shape_of_a_torch_model_and_an_onnx_file(capsys, tmp_path) -> None:
    code = main(["shape", "--torch", "tests.graph.torch_models:UNetSame", "--input", "1,1,H,W", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["accepted_sizes"] == {"H": "H >= 16, H % 16 == 0", "W": "W >= 16, W % 16 == 0"}
    assert list(out["outputs"].values()) == [["1", "1", "H", "W"]]
    onnx = pytest.importorskip("onnx")
    from .test_onnx_models import export

    path = tmp_path / "fpn.onnx"
    onnx.save(export(FPN().eval(), (1, 3, "H", "W"), {"H": 32, "W": 32}), str(path))
    code = main(["shape", str(path), "--input", "N,3,H,64"])
    text = capsys.readouterr().out
    assert code == 0 and "accepted H:" in text and "output" in text and "MACs" in text
    outputs = [line for line in text.splitlines() if line.startswith("output ")]
    assert outputs and not any("Eq(" in line for line in outputs), outputs  # the solver-proved readable form
    assert main(["shape", "--torch", "no_such_module:f", "--input", "1,3,H,W"]) == 2
    assert "cannot import" in capsys.readouterr().err


def test_docstring_example_of_from_torch() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.MaxPool2d(2))
    g = convalg.from_torch(net, (1, 3, H, W))
    assert g.output_shape == (1, 8, sp.floor(H / 4 - sp.Rational(3, 4)) + 1, sp.floor(W / 4 - sp.Rational(3, 4)) + 1)
    assert str(g.accepted_sizes(H)) == "H >= 3"


def test_arguments_a_rule_cannot_read_give_a_spec_error_naming_the_node() -> None:
    class Bad(nn.Module):
        def forward(self, x):
            return x.transpose(1)  # torch itself would reject this call too

    with pytest.raises(convalg.SpecError, match=r"node transpose \(call_method transpose\).*do not fit"):
        convalg.from_torch(Bad(), (1, 1, H, W))
