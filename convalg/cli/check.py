"""``convalg check``: run the conformance harness on your kernel.

Example::

    convalg check --op conv2d mypackage.kernels:conv2d --max-examples 500 --no-groups --accumulate tf32
    convalg check --op conv2d_input mykernels.py:grad_input --array torch --device cuda
    convalg check --op conv2d mykernels.py:MyConv.apply --array torch --autograd

Exit status 0 when every example conforms, 1 on a failure (a minimal failing
case is printed as a Python snippet), 2 on usage errors (also: an unknown
target, a missing array library or device, a flag that does not apply to the op).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import SpecError
from ..testing.loading import load_target, target_label
from ..testing.op_names import OP_TABLE, SIZE_BOUNDS, applicable

__all__ = ["register", "run"]

#: support switch -> (flag, what the target then does not get).
_OFF = {"stride": ("--no-stride", "strides > 1"), "dilation": ("--no-dilation", "dilation > 1"),
        "groups": ("--no-groups", "groups > 1"), "bias": ("--no-bias", "a bias"),
        "same_padding": ("--no-same-padding", "padding='same'"),
        "output_padding": ("--no-output-padding", "output_padding > 0"),
        "ceil_mode": ("--no-ceil-mode", "ceil_mode=True"),
        "count_include_pad": ("--no-count-include-pad", "count_include_pad=False"),
        "divisor_override": ("--no-divisor-override", "divisor_override"),
        "return_indices": ("--no-return-indices", "return_indices=True"),
        "input_smaller_than_kernel": ("--no-input-smaller-than-kernel", "inputs smaller than the pooling window"),
        "nan": ("--no-nan", "NaN values"), "infinity": ("--no-inf", "infinite values"),
        "nonfinite_weights": ("--finite-weights", "NaN / inf in weights and bias (inputs still get them)"),
        "layouts": ("--contiguous-only", "non-contiguous, negative-stride or channels-last arrays")}
_SIZES = {"max_batch": "batch N", "max_channels": "channels C (in and out)", "max_kernel": "kernel side K",
          "max_side": "spatial side of the input",
          "max_stride": "stride", "max_dilation": "dilation", "max_padding": "explicit padding"}
_ON = {"asymmetric_padding": "--asymmetric-padding", "padding_modes": "--padding-modes"}


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="conformance-test a convolution / pooling kernel (forward or backward)",
                       description="Draw jointly valid problems with Hypothesis, call TARGET (arrays positionally, "
                                   "the rest by keyword, as torch.nn.functional / torch.nn.grad / aten) and judge it "
                                   "against the float64 references: inputs unchanged, output type / shape / dtype, "
                                   "values within convalg's error model. Every bound and feature below is on by "
                                   "default where the op supports it; a flag that does not apply to --op is an "
                                   "error.")
    p.add_argument("target", help="package.module:function or path/to/file.py:function")
    p.add_argument("--op", required=True, choices=sorted(OP_TABLE), metavar="OP",
                   help=f"which operator the target implements: {', '.join(OP_TABLE)}")
    p.add_argument("--max-examples", type=int, default=200, help="number of examples (default 200)")
    p.add_argument("--dtype", default="float32", choices=("float16", "bfloat16", "float32", "float64"),
                   help="storage dtype of the arrays (default float32; bfloat16: torch.bfloat16, or float32 storage of bf16 values)")
    p.add_argument("--accumulate", default=None, choices=("float16", "bfloat16", "tf32", "float32", "float64"),
                   help="precision the target sums in (default: float32 for float16 / bfloat16, else --dtype)")
    p.add_argument("--tolerance", default=None, choices=("float16", "bfloat16", "tf32", "float32", "float64"),
                   help="older name for --accumulate")
    p.add_argument("--growth", default="strict", choices=("strict", "sqrt"), help="error growth g(K) = K (strict, default) or sqrt(K)")
    p.add_argument("--c", type=float, default=2.0, help="safety factor of the error model (default 2)")
    p.add_argument("--algorithm", default="direct", choices=("direct", "fft"),
                   help="'fft' adds the norm-wise FFT error term (default direct)")
    p.add_argument("--ties", default="first", choices=("first", "any"), help="max-pool index rule: first maximum wins (default, PyTorch) or any")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0: reproducible)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one call may take before the run stops and names the problem (default 10; 0: no limit)")
    p.add_argument("--shrink-seconds", type=float, default=60.0,
                   help="seconds spent shrinking a failure before the smallest case so far is printed (default 60)")
    p.add_argument("--array", default="numpy", choices=("numpy", "torch", "cupy"), help="arrays the target gets (default numpy)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where those arrays live (default cpu)")
    p.add_argument("--autograd", action="store_true",
                   help="torch only: also check the target's backward through torch.autograd with a drawn "
                        "grad_output (forward ops)")
    p.add_argument("--asymmetric-padding", dest="asymmetric_padding", action="store_true", default=None,
                   help="the target accepts ((lo, hi), ...) padding")
    p.add_argument("--padding-modes", default=None,
                   help="comma list of padding_mode values the target accepts (conv; default: all four)")
    for name, what in _SIZES.items():
        default = SIZE_BOUNDS[name]
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=None,
                       help=f"largest {what} (default {default if name != 'max_side' else '40/32/24'})")
    for name, (flag, what) in _OFF.items():
        p.add_argument(flag, dest=name, action="store_false", default=None, help=f"do not draw {what}")
    p.add_argument("--quiet", action="store_true", help="no progress output (stderr); report failures only")
    p.set_defaults(func=run)


def _support(args: argparse.Namespace) -> dict[str, Any]:
    """The switches given on the command line; SpecError for one that does not apply to ``--op``."""
    given = {name: getattr(args, name) for name in (*_OFF, *_SIZES, *_ON) if getattr(args, name) is not None}
    if "padding_modes" in given:
        given["padding_modes"] = tuple(m.strip() for m in given["padding_modes"].split(",") if m.strip())
    wrong = [n for n in given if n not in applicable(args.op)]
    if wrong:
        flags = ", ".join(_OFF.get(n, (_ON.get(n, f"--{n.replace('_', '-')}"),))[0] for n in wrong)
        raise SpecError(f"{flags}: does not apply to --op {args.op}")
    return given


def run(args: argparse.Namespace) -> int:
    support = _support(args)
    try:
        from ..testing.harness import check  # Hypothesis is optional: imported when a check runs
    except ModuleNotFoundError as e:
        print(f"convalg check: error: needs {e.name} (pip install 'convalg[test]')", file=sys.stderr)
        return 2
    try:
        target = load_target(args.target)
    except Exception as e:  # noqa: BLE001 - importing the user's module may raise anything (OSError, SyntaxError, ...)
        print(f"convalg check: error: cannot load target {args.target!r}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    report = check(target, op=args.op, max_examples=args.max_examples, dtype=args.dtype,
                   accumulate=args.accumulate or args.tolerance, growth=args.growth, c=args.c, ties=args.ties,
                   algorithm=args.algorithm, seed=args.seed, timeout=args.timeout or None,
                   shrink_seconds=args.shrink_seconds, array=args.array,
                   device=args.device, autograd=args.autograd, verbose=not args.quiet, out=sys.stderr,
                   summary=False, target_name=target_label(args.target), **support)
    if not args.quiet:
        print(report.summary())
    elif not report.passed:
        print(report.summary(), file=sys.stderr)
    return report.exit_code
