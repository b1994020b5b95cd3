"""Planted bugs, one per class: each is caught at 50 examples, and its printed repro fails again when run."""

from __future__ import annotations

import time

import numpy as np
import pytest

from convalg import SpecError
from convalg.testing import check

from . import planted as P

# name, target, op, check options, expected verdict kind, a drawn feature that must be named (or None)
PLANTED = [
    ("batch>2", P.batch_in_pairs, "conv2d", {}, "mismatch", "N>=3"),
    ("channels>4", P.channel_tiles_of_four, "conv1d", {}, "mismatch", "C>=5"),
    ("kernel>3", P.large_kernel_path, "conv2d", {}, "mismatch", None),
    ("side>20", P.tail_tile_shift, "conv1d", {}, "mismatch", None),
    ("in-place-shrink", P.shrinks_input, "conv2d", {}, "in_place", None),
    ("in-place-scale-up", P.scales_input_up, "conv2d", {}, "in_place", None),
    ("returns-list", P.returns_list, "conv1d", {}, "contract", None),
    ("returns-float64", P.returns_float64, "conv2d", {}, "contract", None),
    ("ignores-padding-mode", P.ignores_padding_mode, "conv2d", {}, "mismatch", "padding_mode="),
    ("nan-skipping-max-pool", P.nan_skipping_max_pool, "max_pool2d", {}, "mismatch", "NaN in x"),
    ("clamps-inf", P.clamps_infinity, "conv1d", {}, "mismatch", "inf in x"),
    ("sanitizes-weights", P.sanitizes_weights, "conv2d", {"nan": False}, "mismatch", " in "),
    ("assumes-contiguous", P.assumes_contiguous, "conv2d", {}, "mismatch", "layout="),
    ("conv-input-groups", P.conv_input_ignores_groups, "conv2d_input", {}, "mismatch", "groups>1"),
    ("conv-weight-batch", P.conv_weight_first_sample, "conv1d_weight", {}, "mismatch", None),
    ("conv-transpose-input-flip", P.conv_transpose_input_no_flip, "conv_transpose2d_input", {}, "mismatch", None),
    ("conv-transpose-weight-channels", P.conv_transpose_weight_transposed_channels, "conv_transpose1d_weight", {},
     "mismatch", None),
    ("max-pool-backward-assigns", P.max_pool_backward_assigns, "max_pool2d_backward", {}, "mismatch", None),
    ("avg-pool-backward-divisor", P.avg_pool_backward_counts_padding, "avg_pool2d_backward", {}, "mismatch",
     "count_include_pad=False"),
    ("adaptive-avg-window", P.adaptive_avg_floor_end, "adaptive_avg_pool2d", {}, "mismatch", None),
    ("adaptive-max-indices", P.adaptive_max_first_window_only, "adaptive_max_pool1d", {}, "mismatch",
     "return_indices"),
    ("fold-assigns", P.fold_assigns, "fold", {}, "mismatch", None),
    ("unfold-tap-order", P.unfold_transposed_taps, "unfold", {}, "mismatch", None),
]


def run_repro(report, target, raises=AssertionError):
    """Execute the printed snippet (the target injected, not imported) and expect it to fail again."""
    code = "\n".join(line for line in report.repro.splitlines() if not line.startswith("target = "))
    scope = {"target": target}
    with pytest.raises(raises):
        exec(compile(code, "<repro>", "exec"), scope)
    return scope


@pytest.mark.parametrize("name,target,op,opts,kind,feature", PLANTED, ids=[p[0] for p in PLANTED])
def test_planted_bug_is_caught_and_its_repro_fails_again(name, target, op, opts, kind, feature):
    report = check(target, op=op, max_examples=50, **opts)
    assert not report.passed and report.kind == kind, report.summary()
    if feature:
        assert any(feature in f for f in report.drawn), report.drawn
    assert "input shape" not in report.repro and "# problem: " + op in report.repro
    run_repro(report, target)


def test_in_place_edit_is_named_and_the_bound_comes_from_the_original_input():
    report = check(P.shrinks_input, op="conv2d", max_examples=20)
    assert report.message.startswith("the target modified its input 'x' in place")


def test_float16_accumulation_fails_and_float32_accumulation_passes():
    """Default settings with dtype float16: the sums are assumed float32 (as cuDNN and torch do)."""
    opts = dict(op="conv1d", dtype="float16", max_examples=100, padding_modes=("zeros",))
    fp32 = check(P.accumulate_in(np.float32), **opts)
    assert fp32.passed, fp32.summary()
    fp16 = check(P.accumulate_in(np.float16), **opts)
    assert not fp16.passed and fp16.kind == "mismatch", fp16.summary()
    assert check(P.accumulate_in(np.float16), accumulate="float16", **opts).passed  # its own model accepts it
    run_repro(fp16, P.accumulate_in(np.float16))


def test_a_hanging_call_is_reported_with_its_problem_and_the_run_stops():
    start = time.monotonic()
    report = check(P.hangs_on_groups, op="conv2d", max_examples=50, timeout=0.5)
    assert time.monotonic() - start < 30
    assert report.kind == "timeout" and "did not return within 0.5 s" in report.message
    assert "groups=" in report.repro and "groups>1" in report.drawn


def test_a_raising_target_shows_the_users_line():
    def broken(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        return weight[99]  # the line to point at

    report = check(broken, op="conv1d", max_examples=5)
    assert report.kind == "raised" and "weight[99]  # the line to point at" in report.message
    assert "test_planted.py" in report.message


def test_switches_that_do_not_apply_are_errors():
    with pytest.raises(SpecError, match="padding_modes: does not apply to max_pool2d"):
        check(P.nan_skipping_max_pool, op="max_pool2d", padding_modes=("zeros",))
    with pytest.raises(SpecError, match="nan: does not apply to conv2d_input"):
        check(P.conv_input_ignores_groups, op="conv2d_input", nan=False)


def test_ctrl_c_reports_the_problem_that_was_running():
    def interrupted(x, weight, bias, stride, padding, dilation, groups, padding_mode="zeros"):
        if x.shape[0] > 2:
            raise KeyboardInterrupt  # what Ctrl-C raises while the target runs
        return P._conv(x, weight, bias, stride, padding, dilation, groups, padding_mode)

    report = check(interrupted, op="conv1d", max_examples=50)
    assert report.kind == "interrupted" and "interrupted (Ctrl-C)" in report.message
    assert "N>=3" in report.drawn and "got = target(x, weight, bias, stride=" in report.repro


def test_coverage_counts_output_sides_of_transposed_convolutions():
    report = check(P._conv_transpose, op="conv_transpose1d", max_examples=60)
    assert report.passed and report.coverage["side>=24"] > 0, report.sizes_line()


def test_shrinking_stops_at_the_time_budget_with_a_failing_case():
    report = check(P.batch_in_pairs, op="conv2d", max_examples=50, shrink_seconds=0)
    assert report.kind == "mismatch" and report.shrink_stopped and "N>=3" in report.drawn
    assert "Smallest failing case found before the shrink time ran out" in report.summary()
    run_repro(report, P.batch_in_pairs)
