"""Packages for setuptools (everything else is in pyproject.toml).

The theorems are the repository's top-level ``proofs/`` folder (``python -m proofs`` in a checkout); the
distribution installs that folder as ``convalg._proofs``, so ``convalg prove`` works from any install.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["convalg", "convalg.*"]), "convalg._proofs"],
      package_dir={"convalg._proofs": "proofs"})
