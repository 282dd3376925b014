"""The suite's pytest wiring lives in one plugin: profiles, recording, selection, candidate."""

pytest_plugins = ["reports.plugin"]
