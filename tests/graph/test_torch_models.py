"""from_torch on real architectures: symbolic shapes and accepted sizes against running the torch model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import convalg  # noqa: E402

from .torch_models import MODELS  # noqa: E402

pytestmark = pytest.mark.torch


def _run(model, shape):
    """The output shapes of a real forward pass, or None when torch raises."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(shape))
    except (RuntimeError, ValueError, IndexError):
        return None
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [tuple(o.shape) for o in outs]


@pytest.fixture(scope="module", params=sorted(MODELS))
def imported(request):
    factory, shape, fixed = MODELS[request.param]
    torch.manual_seed(0)
    model = factory().eval()
    return request.param, model, convalg.from_torch(model, shape), shape, fixed


def test_accepts_and_output_shapes_agree_with_torch(imported) -> None:
    name, model, g, shape, fixed = imported
    sweep = range(1, 261) if name == "vgg16" else range(1, 201)
    compared = 0
    for sym in g.symbols:
        others = {k: v for k, v in fixed.items() if k != sym.name}
        accepted = g.accepted_sizes(sym, others)
        assert accepted.undecided is None, accepted.undecided
        for n in sweep:
            values = {**others, sym.name: n}
            concrete = tuple(values.get(d, d) if isinstance(d, str) else d for d in shape)
            ran = _run(model, concrete)
            assert (n in accepted) == (ran is not None), (name, sym, n, str(accepted))
            if n % 17 == 0:
                assert g.accepts(values) == (ran is not None)
            if ran is not None and (compared < 60 or n % 5 == 0):
                at = g.shapes_at(values, g._outputs())
                assert [at[o] for o in g._outputs()] == ran, (name, values)
                compared += 1
        n = sweep[-1]
        while compared < 50 * (1 + list(g.symbols).index(sym)) // len(g.symbols) + 1:
            n = accepted.smallest(n + 1)
            if n is None:
                break
            values = {**others, sym.name: n}
            ran = _run(model, tuple(values.get(d, d) if isinstance(d, str) else d for d in shape))
            at = g.shapes_at(values, g._outputs())
            assert [at[o] for o in g._outputs()] == ran, (name, values)
            compared += 1
    assert compared >= 50


def test_the_papers_numbers() -> None:
    from .torch_models import VGG16, UNetSame, UNetValid

    unet = convalg.from_torch(UNetValid().eval(), (1, 1, "H", "W"))
    assert unet.shapes_at({"H": 572, "W": 572}, ["head"])["head"] == (1, 2, 388, 388)
    vgg = convalg.from_torch(VGG16().eval(), (1, 3, "H", "W"))
    assert str(vgg.accepted_sizes("H", {"W": 224})) == "H in {224..255}"
    assert vgg.accepted_sizes("H", {"W": 256}).empty
    same = convalg.from_torch(UNetSame().eval(), (1, 1, "H", "W"))
    accepted = same.accepted_sizes("H")
    assert str(accepted) == "H >= 16, H % 16 == 0" and accepted.smallest(500) == 512
