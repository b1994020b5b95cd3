"""The conformance harness: no false alarms on correct kernels, a shrunk repro for broken ones."""

from __future__ import annotations

import io

import numpy as np
import pytest

import convalg.reference as ref
from convalg.testing import check

from .kernels import make_avg_pool, make_im2col_conv, make_max_pool, make_transpose_conv, scipy_conv, torch_ops

# target, op, support switches, examples (default run); the slow run multiplies the examples by 10.
# Third-party-style kernels take no padding_mode; the pure-Python pooling loops get small problems.
ZEROS = {"padding_modes": ("zeros",)}
SMALL = {"max_side": 8, "max_channels": 3, "max_batch": 2, "max_kernel": 3}
CORRECT = [
    ("direct-reference-conv", ref.direct.conv, "conv2d", {"dtype": "float64", "asymmetric_padding": True}, 20),
    ("fft-reference-conv", ref.conv, "conv3d", {"dtype": "float64", "algorithm": "fft", "asymmetric_padding": True,
                                                "nan": False, "infinity": False}, 10),
    ("fft-reference-conv-transpose", ref.conv_transpose, "conv_transpose1d", {"dtype": "float64", "algorithm": "fft",
                                                                              "nan": False, "infinity": False}, 10),
    ("reference-max-pool", ref.max_pool, "max_pool3d", {"dtype": "float64"}, 10),
    ("reference-avg-pool", ref.avg_pool, "avg_pool1d", {"dtype": "float64", "asymmetric_padding": True}, 10),
    # zero-stuffs dilated kernels: NaN * 0 in the holes gives NaN where PyTorch gives a number
    ("scipy-conv", scipy_conv, "conv1d", {**ZEROS, "nan": False, "infinity": False}, 10),
    ("im2col-float32-conv", make_im2col_conv(), "conv2d", ZEROS, 20),
    ("im2col-float16-conv", make_im2col_conv(), "conv1d", {"dtype": "float16", **ZEROS}, 10),
    ("transpose-via-conv", make_transpose_conv(), "conv_transpose2d", {}, 10),
    ("window-max-pool", make_max_pool(), "max_pool1d", SMALL, 10),
    ("window-avg-pool", make_avg_pool(), "avg_pool2d", SMALL, 10),
]

BROKEN = [
    ("same-padding-extra-at-start", make_im2col_conv("same_extra_at_start"), "conv2d", ZEROS),
    ("ignores-dilation", make_im2col_conv("ignore_dilation"), "conv2d", ZEROS),
    ("wrong-group-channel-offset", make_im2col_conv("group_offset"), "conv1d", ZEROS),
    ("transpose-without-flip", make_transpose_conv("no_flip"), "conv_transpose1d", {}),
    ("max-pool-last-max-wins", make_max_pool("last_max"), "max_pool2d", SMALL),
    ("avg-pool-divisor-counts-overhang", make_avg_pool("overhang_divisor"), "avg_pool2d", SMALL),
]


def _run(target, op, opts, examples):
    opts = dict(opts)
    report = check(target, op=op, max_examples=examples, **opts)
    assert report.passed, report.summary()
    assert report.examples == examples
    return report


@pytest.mark.parametrize("name,target,op,opts,examples", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_kernels_pass(name, target, op, opts, examples):
    _run(target, op, opts, examples)


def test_torch_functional_ops_pass_on_numpy_arrays():
    ops = torch_ops() if _has_torch() else pytest.skip("torch is not installed")
    total = 0
    for op in ops:
        opts = {"input_smaller_than_kernel": False} if op == "avg_pool3d" else {}
        total += _run(ops[op], op, {**opts, **(ZEROS if op.startswith("conv") and "transpose" not in op else {})},
                      3).examples
    assert total == 3 * len(ops)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
def test_no_false_alarms_over_1000_examples():
    """The big run: >= 1,000 examples over correct kernels, zero mismatches."""
    total = 0
    for _, target, op, opts, examples in CORRECT:
        total += _run(target, op, opts, examples * 10).examples
    if _has_torch():
        ops = torch_ops()
        for op in ops:
            opts = {"input_smaller_than_kernel": False} if op == "avg_pool3d" else {}
            opts.update(ZEROS if op.startswith("conv") and "transpose" not in op else {})
            total += _run(ops[op], op, opts, 60).examples
    print(f"\nconformance examples without a false alarm: {total}")
    assert total >= 1000


@pytest.mark.parametrize("name,target,op,opts", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_kernels_fail_with_a_shrunk_copy_paste_repro(name, target, op, opts):
    out = io.StringIO()
    report = check(target, op=op, max_examples=200, out=out, verbose=True, **opts)
    assert not report.passed and report.exit_code == 1
    text = out.getvalue()
    assert "FAILED" in text and "Minimal failing case" in text
    # the case was shrunk: a tiny problem
    assert "'x': (1, " in report.repro or "x (1, " in report.repro
    # the snippet is valid Python that rebuilds the inputs and reproduces the mismatch
    code = "\n".join(line for line in report.repro.splitlines() if not line.startswith("target = "))
    scope = {"target": target}
    with pytest.raises(AssertionError):
        exec(compile(code, f"<repro {name}>", "exec"), scope)
    assert isinstance(scope["x"], np.ndarray)
    assert not any(line.strip() == "" and line for line in report.summary().splitlines())  # no blank-looking lines


def test_unsupported_features_are_not_drawn():
    seen = {}

    def spy(x, weight, bias, stride, padding, dilation, groups):
        seen.setdefault("dilation", set()).add(tuple(dilation))
        seen.setdefault("groups", set()).add(groups)
        seen.setdefault("padding", set()).add(padding if isinstance(padding, str) else "tuple")
        seen.setdefault("dtype", set()).add(x.dtype.name)
        return ref.direct.conv(x, weight, bias, stride, padding, dilation, groups)

    report = check(spy, op="conv2d", max_examples=40, dilation=False, groups=False,
                   same_padding=False, dtype="float64", padding_modes=("zeros",))
    assert report.passed
    assert seen["dilation"] == {(1, 1)} and seen["groups"] == {1} and "same" not in seen["padding"]
    assert seen["dtype"] == {"float64"}


def test_tf32_tolerance_accepts_tf32_rounding_that_float32_rejects():
    def tf32_conv(x, weight, bias, stride, padding, dilation, groups):
        def round_tf32(a):  # keep 10 mantissa bits, like TF32 tensor cores do with their inputs
            bits = a.astype(np.float32).view(np.uint32)
            return ((bits + 0x1000) & 0xFFFFE000).view(np.float32)
        return make_im2col_conv()(round_tf32(x), round_tf32(weight), bias, stride, padding, dilation, groups)

    assert check(tf32_conv, op="conv2d", max_examples=30, accumulate="tf32", **ZEROS).passed
    assert not check(tf32_conv, op="conv2d", max_examples=30, **ZEROS).passed


def test_progress_and_coverage_report_only_when_verbose(capsys):
    out = io.StringIO()
    report = check(ref.direct.conv, op="conv1d", max_examples=20, out=out, dtype="float64", verbose=True)
    text = out.getvalue()
    assert "[convalg check conv1d] 20/20 examples" in text
    assert text.strip().splitlines()[-3].startswith("PASSED conv1d: 20 examples")
    assert report.coverage["ndim=1"] == 20 and "exercised:" in text and "sizes reached: largest N=" in text
    check(ref.direct.conv, op="conv1d", max_examples=5, dtype="float64")  # quiet by default
    assert capsys.readouterr().out == ""


def test_target_exceptions_are_failures_and_bad_ops_are_errors():
    def raises(*args, **kwargs):
        raise NotImplementedError("groups")

    report = check(raises, op="conv1d", max_examples=5)
    assert not report.passed and "NotImplementedError" in report.message
    with pytest.raises(ValueError, match="op="):
        check(raises, op="conv4d")
    assert "the target raised NotImplementedError: groups" in report.message
    with pytest.raises(TypeError, match="support switch"):
        check(raises, op="conv1d", dilations=False)


def test_bfloat16_storage_and_accumulation_are_separate():
    from convalg.testing.arrays import round_bfloat16

    def bf16_conv(x, weight, bias, stride, padding, dilation, groups):
        y = make_im2col_conv()(x, weight, bias, stride, padding, dilation, groups)
        return round_bfloat16(y)  # float32 accumulation, bf16 output

    assert check(bf16_conv, op="conv1d", max_examples=30, dtype="bfloat16", **ZEROS).passed
    assert not check(bf16_conv, op="conv1d", max_examples=30, dtype="float32", **ZEROS).passed


@pytest.mark.parametrize("kwargs, needle", [
    ({"max_examples": 0}, "max_examples=0"),
    ({"c": 0.0}, "safety factor"),
    ({"c": float("inf")}, "safety factor"),
    ({"max_side": 0}, "max_side=0"),
    ({"max_kernel": -1}, "max_kernel=-1"),
    ({"max_padding": -1}, "max_padding=-1"),
    ({"timeout": 0}, "timeout=0"),
    ({"array": "jax"}, "array='jax'"),
    ({"array": "cupy"}, "array='cupy', device='cpu'"),
    ({"padding_modes": ()}, "padding_modes"),
    ({"padding_modes": ("zeros", "wrap")}, "padding_modes"),
    ({"ties": "last"}, "ties='last'"),
])
def test_bad_run_options_raise_spec_error(kwargs, needle) -> None:
    """Audit regression: these crashed inside Hypothesis, were silently ignored, or failed every kernel."""
    from convalg import SpecError

    with pytest.raises(SpecError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        check(ref.direct.conv, op="conv1d", **kwargs)


def _returns_pair(x, weight, bias, stride, padding, dilation, groups):
    return ref.direct.conv(x, weight, bias, stride, padding, dilation, groups), "extra"


def _returns_complex(x, weight, bias, stride, padding, dilation, groups):
    return ref.direct.conv(x, weight, bias, stride, padding, dilation, groups) + 0j


def _float_indices(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    out = ref.max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return (out[0], out[1] + 0.5) if return_indices else out


@pytest.mark.parametrize("target, op, needle", [
    (_returns_pair, "conv1d", "the target returned a tuple of 2 item(s); expected a numpy array"),
    (_returns_complex, "conv1d", "dtype complex128; expected a numpy array of shape"),
    (_float_indices, "max_pool1d", "indices: dtype float64, expected integers"),
])
def test_malformed_results_are_failures_not_crashes(target, op, needle) -> None:
    """Audit regression: a tuple result crashed check() with ValueError, a complex one passed (imaginary part
    dropped), float indices were reported as 'got 0, expected 0'."""
    report = check(target, op=op, max_examples=5, dtype="float64")
    assert not report.passed and needle in report.message, report.message


def test_repro_of_a_local_target_says_to_paste_it():
    """A lambda / local function cannot be loaded by name: the snippet says so instead of naming '<locals>'."""
    report = check(lambda x, weight, bias, stride, padding, dilation, groups: np.zeros(1), op="conv1d",
                   max_examples=5, out=io.StringIO())
    assert not report.passed
    (line,) = [ln for ln in report.repro.splitlines() if ln.startswith("target = ")]
    assert line.startswith("target = ...  # paste your function here") and "load_target" not in line
