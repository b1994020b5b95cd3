"""Params and MACs at concrete sizes against torchinfo and fvcore, with each convention difference stated exactly.

convalg counts one MAC per weight use in conv, transposed conv, Linear and matmul (biases, norms,
pools, resizes: 0).  fvcore counts the same "one flop per multiply-add" for those ops, and adds
batch norm, upsampling and adaptive pooling; torchinfo multiplies each layer's parameter count by
its output positions (so biases and BatchNorm count, and a transposed conv counts at its output
size).  The tests below check those statements, model by model, at two sizes.
"""

from __future__ import annotations

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
torchinfo = pytest.importorskip("torchinfo")
fvcore_nn = pytest.importorskip("fvcore.nn")

import convalg  # noqa: E402

from .torch_models import MODELS  # noqa: E402

pytestmark = pytest.mark.torch
nn = torch.nn

#: model -> two concrete input shapes (VGG's Linear head fixes W = 224 and H in 224..255)
SIZES = {
    "resnet18": [(1, 3, 64, 64), (2, 3, 96, 80)],
    "resnet50": [(1, 3, 64, 64), (1, 3, 96, 80)],
    "vgg16": [(1, 3, 224, 224), (2, 3, 240, 224)],
    "unet_valid": [(1, 1, 188, 188), (1, 1, 204, 220)],
    "unet_same": [(1, 1, 64, 64), (2, 1, 96, 48)],
    "fpn": [(1, 3, 64, 64), (1, 3, 96, 40)],
    "mobilenet": [(1, 3, 64, 64), (2, 3, 96, 40)],
    "aspp": [(1, 3, 64, 64), (1, 3, 96, 40)],
    "tcn": [(1, 1, 32), (3, 1, 48)],
    "net3d": [(1, 1, 16, 16, 16), (2, 1, 20, 24, 18)],
}
#: fvcore operators that are multiply-accumulates in convalg's sense; the others are extra counts
_FVCORE_MAC_OPS = {"conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"}
_FVCORE_EXTRA_OPS = {"batch_norm", "upsample_nearest2d", "upsample_bilinear2d", "adaptive_avg_pool2d"}


def _torchinfo_extras(model, x) -> int:
    """What torchinfo's mult-adds count beyond convalg's MACs, from the shapes torch produces.

    - a conv's bias: one per output element;
    - a transposed conv's weights: counted at the output positions, not the input positions;
    - BatchNorm: weight + bias, once per batch item (2*C*N);
    - a Linear's bias: once per batch item (N*out_features).
    """
    extra = []

    def hook(m, inputs, out):
        if not isinstance(out, torch.Tensor):
            return
        n, spatial_in, spatial_out = out.shape[0], math.prod(inputs[0].shape[2:]), math.prod(out.shape[2:])
        if isinstance(m, nn.modules.conv._ConvNd):
            if m.bias is not None:
                extra.append(out.numel())
            if m.transposed:
                extra.append(m.weight.numel() * n * (spatial_out - spatial_in))
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            extra.append(n * sum(p.numel() for p in m.parameters()))
        elif isinstance(m, nn.Linear) and m.bias is not None:
            extra.append(n * m.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(extra)


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_and_summary(request):
    factory, shape, _ = MODELS[request.param]
    torch.manual_seed(0)
    model = factory().eval()
    g = convalg.from_torch(model, shape)
    return request.param, model, shape, {sym.name: sym for sym in g.symbols}, g.summary()


def test_params_and_macs_against_torchinfo_and_fvcore(model_and_summary) -> None:
    name, model, shape, symbols, s = model_and_summary
    for size in SIZES[name]:
        values = {symbols[d]: v for d, v in zip(shape, size) if isinstance(d, str)}
        macs = int(s.total_macs.subs(values)) * (size[0] // shape[0])  # the graph has batch 1: MACs scale with it
        x = torch.zeros(size)

        info = torchinfo.summary(model, input_data=x, verbose=0)
        assert s.total_params == info.total_params == sum(p.numel() for p in model.parameters())
        assert info.total_mult_adds == macs + _torchinfo_extras(model, x), (name, size)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flops = fvcore_nn.FlopCountAnalysis(model, x)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            by_op = flops.by_operator()
        assert set(by_op) <= _FVCORE_MAC_OPS | _FVCORE_EXTRA_OPS, (name, set(by_op))
        assert sum(v for k, v in by_op.items() if k in _FVCORE_MAC_OPS) == macs, (name, size, dict(by_op))
