"""Testing tools: Hypothesis profiles and strategies, the error model, the conformance harness.

================================  ==========================================================
module                            contents
================================  ==========================================================
:mod:`.profiles`                  Hypothesis settings profiles (dev, CI, thorough)
:mod:`.strategies`, `.op_cases`   jointly valid conv / conv-transpose / pool / adaptive /
                                  unfold problems; :mod:`.arrays`: values and layouts
:mod:`.tolerance`                 the per-element error model (``error_bound``, ``model_bound``)
:mod:`.ops`, `.families`          the harness's ops: calls, references, accumulation lengths
:mod:`.adapters`                  NumPy / torch / CuPy arrays on the CPU or a CUDA device
:mod:`.judge`                     the verdict on one call (``assert_conforms``)
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

__all__ = ["load_profile", "register_profiles", "check", "assert_conforms", "as_target", "load_target", "make_array",
           "with_layout"]

_LAZY = {"check": ".harness", "load_profile": ".profiles", "register_profiles": ".profiles",
         "assert_conforms": ".judge", "as_target": ".adapters", "load_target": ".loading", "make_array": ".arrays",
         "with_layout": ".arrays"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
