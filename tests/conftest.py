"""Load the chosen hypothesis profile (see tests/profiles.py)."""

from tfparity import profiles

# Recording and reports (`--report-dir`), op and dtype selection (`--ops`, `--dtypes`).
pytest_plugins = ["reports.plugin"]


def pytest_configure(config):
    profiles.load(profiles.selected(config))


def pytest_report_header(config):
    return f"tfparity hypothesis profile: {profiles.selected(config)}"
