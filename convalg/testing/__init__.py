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

Everything is imported lazily: ``import convalg.testing`` (and the pytest
plugin) needs neither Hypothesis nor the references until used.

>>> from convalg.testing import check
>>> callable(check)
True
"""

import importlib
from typing import Any

__all__ = ["load_profile", "register_profiles", "check"]

_LAZY = {"check": ".harness", "load_profile": ".profiles", "register_profiles": ".profiles"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
