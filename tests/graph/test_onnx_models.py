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
    _same_accepted_sizes(via_onnx, via_torch, fixed)


def _same_accepted_sizes(via_onnx, via_torch, fixed) -> None:
    for sym in via_torch.symbols:
        others = {k: v for k, v in fixed.items() if k != sym.name}
        assert str(via_onnx.accepted_sizes(sym, others)) == str(via_torch.accepted_sizes(sym, others))


def test_onnx_dim_params_and_overrides() -> None:
    factory, shape, fixed = MODELS["mobilenet"]
    proto = export(factory().eval(), shape, fixed)
    g = convalg.from_onnx(proto, (1, 3, "A", 64))
    assert [s.name for s in g.symbols] == ["A"] and g.output_shape[-1] == 16
    with pytest.raises(convalg.SpecError, match="rank"):
        convalg.from_onnx(proto, (1, 3, 64))


def test_onnx_window_attributes() -> None:
    """auto_pad, pads, ceil_mode and ConvTranspose's output_shape, on a hand-built graph."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((2, 1, 3, 3), np.float32), "w")
    wt = numpy_helper.from_array(np.zeros((2, 1, 2, 2), np.float32), "wt")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("MaxPool", ["a"], ["b"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=1),
        helper.make_node("ConvTranspose", ["b", "wt"], ["c"], kernel_shape=[2, 2], strides=[2, 2],
                         output_shape=[7, 9]),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "H", "W"])],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)], initializer=[w, wt])
    g = convalg.from_onnx(helper.make_model(graph))
    H = g.symbols[0]
    a_shape = g.shape_of("a")
    assert [a_shape[2].subs(H, n) for n in (7, 8, 9)] == [4, 4, 5]  # ceil(n / 2), as ONNX SAME_UPPER
    assert g.output_shape[2:] == (7, 9)
    for n in range(1, 40):  # the pool in ceil mode, straight from the layer spec
        want = convalg.MaxPool(3, stride=2, padding=1, ceil_mode=True).output_shape((-(-n // 2),))[0]
        assert g.shapes_at({"H": n, "W": 5}, ["b"])["b"][2] == want


def test_unreadable_onnx_file_is_a_spec_error(tmp_path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(convalg.SpecError, match="cannot be read as an ONNX model"):
        convalg.from_onnx(str(bad))
    with pytest.raises(convalg.SpecError, match="cannot be read"):
        convalg.from_onnx(str(tmp_path / "missing.onnx"))
