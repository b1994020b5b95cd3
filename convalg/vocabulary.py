"""The names every stage dispatches on: layer kinds and padding modes.

Each layer class states its ``kind`` (a class attribute); the stages below the
layer specifications (shapes, index maps, operators, display) read ``layer.kind``
and look it up in a table with one entry per kind, so they never import the
layer classes, and a new kind is one entry in each stage's table.

>>> LAYER_KINDS[:2], PADDING_MODES[0]
(('conv', 'conv_transpose'), 'zeros')
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["LAYER_KINDS", "CONV_KINDS", "PADDING_MODES", "Kinded", "kind_of"]

#: The ``kind`` of every layer class (global pools are adaptive pools and share their kind).
LAYER_KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
               "sequential")

#: The kinds with weights, a bias and channel groups.
CONV_KINDS = frozenset({"conv", "conv_transpose"})

#: ``Conv(padding_mode=...)`` values (PyTorch's).
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Kinded:
    """Base of :class:`convalg.spec.Layer`: lets the stages below the specifications tell a layer from
    anything else (:func:`kind_of`) without importing them."""

    kind: ClassVar[str]


def kind_of(obj: object) -> str | None:
    """The ``kind`` of a layer specification, ``None`` for anything else.

    >>> from convalg import GlobalAvgPool
    >>> kind_of(GlobalAvgPool()), kind_of("conv")
    ('adaptive_avg_pool', None)
    """
    return obj.kind if isinstance(obj, Kinded) else None
