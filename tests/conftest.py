"""Hypothesis profiles: `ci` (default, derandomized) and `thorough` (for fuzzing harder).

Choose with TFPARITY_PROFILE=thorough or pytest's --hypothesis-profile=thorough.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("TFPARITY_PROFILE", "ci"))
