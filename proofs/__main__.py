"""``python -m proofs [name ...] [--bound N] [--markdown]``."""

import sys

from .runner import main

sys.exit(main())
