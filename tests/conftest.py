"""Hypothesis profiles: `ci` (the default: derandomized, no database) and `thorough`.

Choose with `--hypothesis-profile=thorough` or `TFPARITY_PROFILE=thorough`.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)


def pytest_configure(config):
    settings.load_profile(config.getoption("hypothesis_profile", None)
                          or os.environ.get("TFPARITY_PROFILE", "ci"))


def pytest_report_header(config):
    return f"tfparity hypothesis profile: {settings._current_profile}"
