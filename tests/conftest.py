"""Load the chosen hypothesis profile (see tests/profiles.py)."""

import pytest

from tfparity import profiles

# Recording and reports (`--report-dir`), op and dtype selection (`--ops`, `--dtypes`).
pytest_plugins = ["reports.plugin"]


def pytest_configure(config):
    profiles.load(profiles.selected(config))


def pytest_report_header(config):
    return f"tfparity hypothesis profile: {profiles.selected(config)}"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """Under xdist without an explicit --dist, idle workers steal queued tests: the tests are uneven
    (softmax CE's sweep takes ~15 s, most tests well under 1 s), and xdist's default hands each
    worker a contiguous block up front, which put every sweep on one worker."""
    if getattr(config.option, "numprocesses", None) and config.option.dist == "no":
        config.option.dist = "worksteal"
