"""Array adapters: torch tensors (and autograd) as targets; clear errors for a missing library or device."""

from __future__ import annotations

import numpy as np
import pytest

from convalg import SpecError
from convalg.cli import main
from convalg.testing import check
from convalg.testing.ops import OPS

from .test_planted import run_repro

torch = pytest.importorskip("torch")

from .torch_targets import TORCH_OPTIONS, torch_targets  # noqa: E402


@pytest.mark.parametrize("op", list(OPS))
def test_torch_own_ops_pass_as_torch_targets(op):
    report = check(torch_targets()[op], op=op, max_examples=3, array="torch", **TORCH_OPTIONS.get(op, {}))
    assert report.passed, report.summary()


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose1d", "max_pool2d", "avg_pool3d", "adaptive_avg_pool2d",
                                "adaptive_max_pool1d", "unfold", "fold"])
def test_torch_autograd_backward_passes(op):
    report = check(torch_targets()[op], op=op, max_examples=6, array="torch", autograd=True,
                   **TORCH_OPTIONS.get(op, {}))
    assert report.passed, report.summary()


class _ConvForgetsFlip(torch.autograd.Function):
    """A custom conv1d whose hand-written input gradient flips the kernel twice (i.e. not at all)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation, groups, bias is not None)
        return torch.nn.functional.conv1d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias = ctx.conf
        padding = 0 if padding == "valid" else padding
        gx = torch.nn.grad.conv1d_input(x.shape, weight.flip(-1), g, stride, padding, dilation, groups)
        gw = torch.nn.grad.conv1d_weight(x, weight.shape, g, stride, padding, dilation, groups)
        return gx, gw, (g.sum((0, 2)) if has_bias else None), None, None, None, None


def custom_conv1d(x, weight, bias, stride, padding, dilation, groups):
    return _ConvForgetsFlip.apply(x, weight, bias, stride, padding, dilation, groups)


def test_autograd_catches_a_wrong_hand_written_backward_and_the_repro_fails_again():
    opts = dict(op="conv1d", array="torch", max_examples=50, padding_modes=("zeros",), same_padding=False)
    report = check(custom_conv1d, autograd=False, **opts)
    assert report.passed, report.summary()  # the forward is right
    report = check(custom_conv1d, autograd=True, **opts)
    assert not report.passed and "gradient w.r.t. 'x'" in report.message, report.summary()
    assert "got.backward(" in report.repro
    run_repro(report, custom_conv1d)


def test_torch_targets_must_return_tensors_of_the_input_dtype():
    def to_numpy(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        return torch_targets()["conv2d"](x, weight, bias, stride, padding, dilation, groups, padding_mode).numpy()

    report = check(to_numpy, op="conv2d", array="torch", max_examples=5)
    assert report.kind == "contract" and "numpy.ndarray" in report.message and "expected a torch array" \
        in report.message

    def half_out(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        return torch_targets()["conv2d"](x, weight, bias, stride, padding, dilation, groups, padding_mode).half()

    report = check(half_out, op="conv2d", array="torch", max_examples=5)
    assert report.kind == "contract" and "dtype float16" in report.message


def test_in_place_edits_of_torch_inputs_are_caught():
    def relu_in_place(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        return torch.nn.functional.max_pool2d(x.clamp_(min=0), kernel_size, stride, padding, dilation, ceil_mode,
                                              return_indices)

    report = check(relu_in_place, op="max_pool2d", array="torch", max_examples=30)
    assert report.kind == "in_place" and "'x'" in report.message
    run_repro(report, relu_in_place)


def test_bfloat16_torch_tensors():
    report = check(torch_targets()["conv1d"], op="conv1d", array="torch", dtype="bfloat16", max_examples=20)
    assert report.passed, report.summary()


def test_missing_library_or_device_is_a_usage_error(capsys):
    with pytest.raises(SpecError, match="device='cuda'"):
        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device")
        check(torch_targets()["conv1d"], op="conv1d", array="torch", device="cuda")
    with pytest.raises(SpecError, match="autograd=True: needs array='torch'"):
        check(torch_targets()["conv1d"], op="conv1d", autograd=True)
    with pytest.raises(SpecError, match="autograd=True"):
        check(torch_targets()["conv1d_input"], op="conv1d_input", array="torch", autograd=True)
    code = main(["check", "--op", "conv1d", "torch.nn.functional:conv1d", "--array", "torch", "--device", "cuda"])
    if not torch.cuda.is_available():
        assert code == 2 and "sees no CUDA device" in capsys.readouterr().err
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert main(["check", "--op", "conv1d", "torch.nn.functional:conv1d", "--array", "cupy", "--device",
                     "cuda"]) == 2
        assert "cupy is not installed" in capsys.readouterr().err


def test_negative_strides_are_not_drawn_for_torch():
    seen = set()

    def spy(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        seen.add((x.is_contiguous(), x.is_contiguous(memory_format=torch.channels_last) if x.ndim == 4 else None))
        return torch.nn.functional.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    assert check(spy, op="max_pool2d", array="torch", max_examples=60).passed
    assert (False, True) in seen or (False, False) in seen  # non-contiguous inputs were drawn
    assert np.True_
