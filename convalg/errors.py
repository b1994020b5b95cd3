"""The one exception type for invalid specifications."""

from __future__ import annotations

__all__ = ["SpecError"]


class SpecError(ValueError):
    """An invalid layer specification, shape or argument.

    Raised at the boundary (construction or first use).  The message names the
    parameter, the offending value and the rule it breaks, e.g.::

        stride=0: must be a positive integer (>= 1)

    >>> import convalg
    >>> try:
    ...     convalg.Conv(3, stride=0, ndim=2)
    ... except convalg.SpecError as e:
    ...     print(e)
    stride=0: must be a positive integer (>= 1)
    """
