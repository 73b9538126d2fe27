"""Hypothesis profiles: the test command is reproducible, exploration is opt-in.

``make test`` and CI run the ``repro`` profile: every property draws the same
examples on every run (``derandomize``), so a red CI is a real regression that
reproduces anywhere, not a draw of the dice. ``ZENITH_HYPOTHESIS=explore``
draws fresh examples on each run to hunt for new counterexamples; a failure
found that way prints its ``@reproduce_failure`` blob and becomes a fixed test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repro", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("ZENITH_HYPOTHESIS", "repro"))
