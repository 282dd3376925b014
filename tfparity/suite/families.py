"""The suite's rule for op families: a candidate is checked on the families it provides."""

from __future__ import annotations

import pytest

from tfparity.records import OpRecord


def skip_unless_provided(record: OpRecord, candidate: object) -> None:
    """Skip a record whose family the candidate does not claim (its FAMILIES)."""
    if not record.provided_by(candidate):
        pytest.skip(f"{candidate.__name__} provides {', '.join(candidate.FAMILIES)}, not {record.family}")
