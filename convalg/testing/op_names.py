"""The harness's op names, their families, and the support switches each accepts (plain data: no imports,
so the command line can validate its flags without loading Hypothesis).

>>> OP_TABLE["conv_transpose3d_weight"], len(OP_TABLE)
(('conv_transpose_weight', 3), 38)
>>> "padding_modes" in applicable("conv2d"), "padding_modes" in applicable("max_pool2d")
(True, False)
"""

from __future__ import annotations

__all__ = ["OP_TABLE", "FORWARD", "SWITCHES", "SIZE_BOUNDS", "applicable"]


def _table() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for n in (1, 2, 3):
        for fam in ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool"):
            table[f"{fam}{n}d"] = (fam, n)
        for fam in ("conv", "conv_transpose"):
            for role in ("input", "weight"):
                table[f"{fam}{n}d_{role}"] = (f"{fam}_{role}", n)
        for fam in ("max_pool", "avg_pool"):
            table[f"{fam}{n}d_backward"] = (f"{fam}_backward", n)
    table["unfold"], table["fold"] = ("unfold", 2), ("fold", 2)
    return table


#: op name -> (family, number of spatial dims).
OP_TABLE: dict[str, tuple[str, int]] = _table()
#: Families whose ops are forward ops (they take NaN / inf and can be checked through autograd).
FORWARD = {"conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "unfold",
           "fold"}

#: Size bounds and their defaults; ``max_side`` is per number of spatial dims.
SIZE_BOUNDS: dict[str, object] = {"max_batch": 4, "max_channels": 8, "max_kernel": 6, "max_stride": 3,
                                  "max_dilation": 2, "max_padding": 2, "max_side": {1: 40, 2: 32, 3: 24}}

_CONVS = {"conv", "conv_transpose", "conv_input", "conv_weight", "conv_transpose_input", "conv_transpose_weight"}
_POOLS = {"max_pool", "avg_pool", "max_pool_backward", "avg_pool_backward"}
_ALL = {fam for fam, _ in OP_TABLE.values()}
_WINDOWED = _CONVS | _POOLS | {"unfold", "fold"}
_DILATED = _CONVS | {"max_pool", "max_pool_backward", "unfold", "fold"}

#: switch -> families it applies to (a switch given for any other op is an error).
SWITCHES: dict[str, set[str]] = {
    "stride": _WINDOWED, "dilation": _DILATED, "groups": _CONVS, "bias": {"conv", "conv_transpose"},
    "asymmetric_padding": {"conv", "conv_transpose", "max_pool", "avg_pool"}, "same_padding": {"conv"},
    "padding_modes": {"conv"}, "output_padding": {"conv_transpose", "conv_transpose_input", "conv_transpose_weight"},
    "ceil_mode": _POOLS, "count_include_pad": {"avg_pool", "avg_pool_backward"},
    "divisor_override": {"avg_pool", "avg_pool_backward"}, "return_indices": {"max_pool", "adaptive_max_pool"},
    "input_smaller_than_kernel": _POOLS, "nan": FORWARD, "infinity": FORWARD,
    "nonfinite_weights": {"conv", "conv_transpose"}, "layouts": _ALL,
    "max_batch": _ALL, "max_channels": _ALL, "max_side": _ALL, "max_kernel": _WINDOWED, "max_stride": _WINDOWED,
    "max_dilation": _DILATED, "max_padding": _CONVS | {"unfold", "fold"},
}


def applicable(op: str) -> tuple[str, ...]:
    """The support switches that mean something for ``op``."""
    fam = OP_TABLE[op][0]
    return tuple(name for name, fams in SWITCHES.items() if fam in fams)
