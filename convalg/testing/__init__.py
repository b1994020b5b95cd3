"""Testing tools: Hypothesis profiles and strategies, the error model, the conformance harness.

================================  ==========================================================
module                            contents
================================  ==========================================================
:mod:`.profiles`                  Hypothesis settings profiles (dev, CI, thorough)
:mod:`.strategies`                jointly valid conv / conv-transpose / pool problems, arrays
:mod:`.tolerance`                 the per-element error model (``error_bound``)
:mod:`.harness`                   ``check(target, op=...)``, the conformance harness
:mod:`.pytest_plugin`             ``pytest --convalg-target module:function``
================================  ==========================================================

``check`` is imported lazily, so ``import convalg.testing`` stays light.

>>> from convalg.testing import check
>>> callable(check)
True
"""

from typing import Any

from .profiles import load_profile, register_profiles

__all__ = ["load_profile", "register_profiles", "check"]


def __getattr__(name: str) -> Any:
    if name == "check":
        from .harness import check

        return check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
