"""``convalg check``: run the conformance harness on your kernel.

Example::

    convalg check --op conv2d mypackage.kernels:conv2d --max-examples 500 --no-groups --tolerance tf32

Exit status 0 when every example is within the error bound, 1 on a mismatch
(a minimal failing case is printed as a Python snippet), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]

_SWITCHES = (("stride", "strides > 1"), ("dilation", "dilation > 1"), ("groups", "groups > 1"), ("bias", "a bias"),
             ("same_padding", "padding='same'"), ("output_padding", "output_padding > 0"),
             ("ceil_mode", "ceil_mode=True"), ("count_include_pad", "count_include_pad=False"),
             ("divisor_override", "divisor_override"), ("return_indices", "return_indices=True"))


#: The harness ops (kept here so that the CLI starts without importing Hypothesis).
OPS = tuple(f"{base}{n}d" for base in ("conv", "conv_transpose", "max_pool", "avg_pool") for n in (1, 2, 3))


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="conformance-test a convolution / pooling kernel against the references",
                       description="Draw jointly valid problems with Hypothesis, call TARGET "
                                   "(torch.nn.functional signature, NumPy arrays) and compare with the float64 "
                                   "reference under convalg's error model.")
    p.add_argument("target", help="package.module:function or path/to/file.py:function")
    p.add_argument("--op", required=True, choices=sorted(OPS), help="which operator the target implements")
    p.add_argument("--max-examples", type=int, default=200, help="number of examples (default 200)")
    p.add_argument("--dtype", default="float32", choices=("float16", "bfloat16", "float32", "float64"),
                   help="dtype of the generated arrays (bfloat16 = float32 storage of bf16 values)")
    p.add_argument("--tolerance", default=None, choices=("float16", "bfloat16", "tf32", "float32", "float64"),
                   help="arithmetic of the error model (default: --dtype)")
    p.add_argument("--growth", default="strict", choices=("strict", "sqrt"), help="g(K) = K or sqrt(K)")
    p.add_argument("--c", type=float, default=None, help="safety factor of the error model (default 2)")
    p.add_argument("--algorithm", default="direct", choices=("direct", "fft"),
                   help="'fft' adds the norm-wise FFT error term")
    p.add_argument("--ties", default="first", choices=("first", "any"), help="max-pool index rule")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0: reproducible)")
    p.add_argument("--asymmetric-padding", action="store_true", help="the target accepts ((lo, hi), ...) padding")
    p.add_argument("--padding-modes", default="zeros", help="comma list of padding_mode values the target accepts")
    p.add_argument("--nan", action="store_true", help="also draw NaN inputs")
    p.add_argument("--inf", action="store_true", help="also draw infinite inputs")
    p.add_argument("--max-side", type=int, default=None, help="largest spatial size")
    for name, what in _SWITCHES:
        p.add_argument(f"--no-{name.replace('_', '-')}", dest=name, action="store_false",
                       help=f"the target does not support {what}")
    p.add_argument("--quiet", action="store_true", help="no progress output (stderr); report failures only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..testing.harness import check, load_target
        from ..testing.tolerance import DEFAULT_C
    except ModuleNotFoundError as e:
        print(f"convalg check: error: needs {e.name} (pip install 'convalg[test]')", file=sys.stderr)
        return 2

    support = {name: getattr(args, name) for name, _ in _SWITCHES}
    support.update(asymmetric_padding=args.asymmetric_padding, nan=args.nan, infinity=args.inf,
                   padding_modes=tuple(m.strip() for m in args.padding_modes.split(",") if m.strip()),
                   max_side=args.max_side)
    try:
        target = load_target(args.target)
    except Exception as e:  # noqa: BLE001 - importing the user's module may raise anything (OSError, SyntaxError, ...)
        print(f"convalg check: error: cannot load target {args.target!r}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    report = check(target, op=args.op, max_examples=args.max_examples, dtype=args.dtype, tolerance=args.tolerance,
                   growth=args.growth, c=DEFAULT_C if args.c is None else args.c, ties=args.ties,
                   algorithm=args.algorithm, seed=args.seed, progress=not args.quiet, out=sys.stderr,
                   print_summary=False, target_name=args.target, **support)
    if not args.quiet:
        print(report.summary())
    elif not report.passed:
        print(report.summary(), file=sys.stderr)
    return report.exit_code
