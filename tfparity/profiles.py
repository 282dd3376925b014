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


def fuzz_examples() -> int:
    """The batched fuzz's examples under the loaded profile: each carries `stacking.SIZE` cases,
    so half the profile's examples give sixteen times its cases."""
    return max(1, settings.default.max_examples // 2)


def selected(config: pytest.Config) -> str:
    """The profile this run uses."""
    return config.getoption("hypothesis_profile", None) or os.environ.get("TFPARITY_PROFILE", "ci")
