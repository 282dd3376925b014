"""Hypothesis profiles: `ci` (the default: derandomized, no database) and `thorough`.

Choose with `--hypothesis-profile=thorough` or `TFPARITY_PROFILE=thorough`.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)


def selected(config: pytest.Config) -> str:
    """The profile this run uses."""
    return config.getoption("hypothesis_profile", None) or os.environ.get("TFPARITY_PROFILE", "ci")
