"""Testing tools: Hypothesis profiles and strategies, the conformance harness (see submodules)."""

from .profiles import load_profile, register_profiles

__all__ = ["load_profile", "register_profiles"]
