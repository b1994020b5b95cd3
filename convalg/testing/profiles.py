"""Hypothesis settings profiles for convalg's property suites (and yours).

=================  ===================================================================
profile            settings
=================  ===================================================================
``convalg-dev``    50 examples, randomised, no deadline (local development)
``convalg-ci``     derandomized, 50 examples, no deadline, no database, ``print_blob``
                   (selected automatically when the ``CI`` environment variable is set)
``convalg-thorough`` 2,000 examples, no deadline (opt-in: ``CONVALG_HYPOTHESIS_PROFILE``)
=================  ===================================================================

>>> register_profiles()
>>> from hypothesis import settings
>>> settings.get_profile("convalg-ci").derandomize
True
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["register_profiles", "load_profile", "PROFILES"]

PROFILES = ("convalg-dev", "convalg-ci", "convalg-thorough")
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def register_profiles() -> None:
    """Register the three convalg profiles with Hypothesis (idempotent)."""
    settings.register_profile("convalg-dev", max_examples=50, deadline=None, suppress_health_check=_SUPPRESS)
    settings.register_profile("convalg-ci", max_examples=50, deadline=None, derandomize=True, database=None,
                              print_blob=True, suppress_health_check=_SUPPRESS)
    settings.register_profile("convalg-thorough", max_examples=2000, deadline=None,
                              suppress_health_check=_SUPPRESS)


def load_profile(name: str | None = None) -> str:
    """Load ``name``, else ``$CONVALG_HYPOTHESIS_PROFILE``, else ``convalg-ci`` under CI, else ``convalg-dev``."""
    register_profiles()
    name = name or os.environ.get("CONVALG_HYPOTHESIS_PROFILE") or (
        "convalg-ci" if os.environ.get("CI") else "convalg-dev")
    settings.load_profile(name)
    return name
