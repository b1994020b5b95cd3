"""Pictures of the lecture, drawn from the library (matplotlib, the optional ``plot`` extra).

=================================  ==========================================================
function                           picture
=================================  ==========================================================
:func:`sparsity`                   an operator matrix: a colour and a number per distinct
                                   entry, a legend, block lines per level
:func:`conv_arithmetic`            a Dumoulin & Visin diagram of one window position (PNG)
:func:`conv_arithmetic_gif`        the same, animated over every window position (GIF)
:func:`receptive_field_map`        the input region one output of a stack sees, the effective
                                   weights of the composed operator as a heat map
:func:`max_pool_routing`           where each output's gradient goes, ties marked
=================================  ==========================================================

Each returns its matplotlib figure (the GIF: its frame count) and writes it when given a path;
``convalg draw`` is the command line for all of them.
"""

from .arithmetic import arithmetic_geometry, conv_arithmetic, conv_arithmetic_gif, direct_equivalent
from .sparsity import sparsity

__all__ = ["sparsity", "conv_arithmetic", "conv_arithmetic_gif", "arithmetic_geometry", "direct_equivalent",
           "receptive_field_map", "max_pool_routing"]


def __getattr__(name: str):  # the later pictures load on first use
    if name == "receptive_field_map":
        from .receptive import receptive_field_map

        return receptive_field_map
    if name == "max_pool_routing":
        from .routing import max_pool_routing

        return max_pool_routing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
