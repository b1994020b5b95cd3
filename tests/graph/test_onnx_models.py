"""from_onnx on the same architectures exported with dynamic axes: the same formulas as from_torch."""

from __future__ import annotations

import io
import warnings

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import convalg  # noqa: E402

from .torch_models import MODELS  # noqa: E402

pytestmark = pytest.mark.torch


def export(model, shape, fixed):
    x = torch.zeros(tuple(fixed.get(d, d) if isinstance(d, str) else d for d in shape))
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), f, dynamo=False, input_names=["x"], opset_version=17,
                          dynamic_axes={"x": {i: d for i, d in enumerate(shape) if isinstance(d, str)}})
    return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_and_torch_give_the_same_formulas(name) -> None:
    factory, shape, fixed = MODELS[name]
    torch.manual_seed(0)
    model = factory().eval()
    via_onnx = convalg.from_onnx(export(model, shape, fixed))  # dim_param names become the symbols
    via_torch = convalg.from_torch(model, shape)
    assert not via_onnx.unsupported
    assert via_onnx.output_shapes == via_torch.output_shapes
    assert via_onnx.symbols == via_torch.symbols
    if name != "unet_valid":  # its four nested crops take the solver long: compared in the slow test below
        _same_accepted_sizes(via_onnx, via_torch, fixed)


def _same_accepted_sizes(via_onnx, via_torch, fixed) -> None:
    for sym in via_torch.symbols:
        others = {k: v for k, v in fixed.items() if k != sym.name}
        assert str(via_onnx.accepted_sizes(sym, others)) == str(via_torch.accepted_sizes(sym, others))


@pytest.mark.slow
def test_onnx_and_torch_give_the_same_accepted_sizes_unet_valid() -> None:
    factory, shape, fixed = MODELS["unet_valid"]
    model = factory().eval()
    _same_accepted_sizes(convalg.from_onnx(export(model, shape, fixed)), convalg.from_torch(model, shape), fixed)


def test_onnx_dim_params_and_overrides() -> None:
    factory, shape, fixed = MODELS["mobilenet"]
    proto = export(factory().eval(), shape, fixed)
    g = convalg.from_onnx(proto, (1, 3, "A", 64))
    assert [s.name for s in g.symbols] == ["A"] and g.output_shape[-1] == 16
    with pytest.raises(convalg.SpecError, match="rank"):
        convalg.from_onnx(proto, (1, 3, 64))
