"""A long run's progress for a person: cases checked, the rate, the time left.

The session's controller reads what every pytest process has appended to its rows file
(`reports.recording`: one line-buffered JSONL file per process, so xdist's workers need not
report anything), from where it last stopped, and counts distinct cases. The total is known in
advance from the profile (`expected_cases`): the sweep exactly, the fuzz, error inputs and misuses
by their example counts (hypothesis may stop a misuse test early, so it is an estimate).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tfparity.shards import Shard


class Progress:
    """Reads the rows folder incrementally; `line()` says how far the run is, at most every `every` s."""

    def __init__(self, rows_dir: Path, expected: int | None, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rows_dir, self.expected, self.every, self.clock = rows_dir, expected, every, clock
        self.started = self.last = clock()
        self._first: tuple[float, int] | None = None  # when cases were first seen, and how many
        self._offsets: dict[Path, int] = {}
        self._cases: set[str] = set()

    @property
    def done(self) -> int:
        return len(self._cases)

    def line(self) -> str | None:
        """The progress line when `every` seconds have passed since the last one, else None."""
        now = self.clock()
        if now - self.last < self.every:
            return None
        self.last = now
        self.read()
        if self._first is None and self.done:
            self._first = (now, self.done)
            return describe(self.done, now - self.started, self.expected, None)
        rate = (self.done - self._first[1]) / (now - self._first[0]) if self._first else None
        return describe(self.done, now - self.started, self.expected, rate)

    def read(self) -> None:
        """Count the cases in the complete lines appended since the last read."""
        for path in sorted(self.rows_dir.glob("*.jsonl")):
            with path.open("rb") as file:
                file.seek(self._offsets.get(path, 0))
                chunk = file.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for the next read
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            for raw in complete.splitlines():
                try:
                    event = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # a torn line: the merge reports it
                if event.get("event") == "row":
                    self._cases.add(event["case_id"])


def describe(done: int, elapsed: float, expected: int | None, rate: float | None) -> str:
    """E.g. `12,345 of about 48,600 cases checked (25%), 1,850/s, about 2 min left`. `rate` is
    measured from the first cases seen (TF's start and the probe are not checking); None until
    there are two readings."""
    if not done:
        return f"tfparity: no case checked yet after {_duration(elapsed)} (TF starting, probing its backend)"
    of = f" of about {expected:,}" if expected else ""
    share = f" ({min(done / expected, 1):.0%})" if expected else ""
    if rate is None:
        return f"tfparity: {done:,}{of} cases checked{share}, rate not known yet"
    speed = f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s"
    if not expected:
        return f"tfparity: {done:,} cases checked, {speed} (the total is not known in advance)"
    left = max(expected - done, 0)
    when = f"about {_duration(left / rate)} left" if left and rate > 0 else "finishing" if not left else "stalled"
    return f"tfparity: {done:,}{of} cases checked{share}, {speed}, {when}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def expected_cases(profile: str, ops: list[str] | None, dtypes: list[str] | None, shard: Shard,
                   families: tuple[str, ...] | None = None) -> int:
    """About how many cases a `tfparity run` with these arguments checks (imports the records, and
    so TensorFlow): the sweep exactly, the fuzz (`FUZZ_EXAMPLES` batches of `stacking.SIZE` cases
    per op and dtype), the error inputs, and the misuses at the profile's examples per test; a
    shard holds its share of the drawn ones. Only the records of the candidate's `families`
    (None: every one)."""
    from hypothesis import settings

    from tfparity import profiles
    from tfparity.dtypes import DTYPES
    from tfparity.misusedb import MISUSES
    from tfparity.opdb import RECORDS
    from tfparity.sweep import sweep

    def wanted(name: str, dtype: str) -> bool:
        return (not ops or name in ops) and (not dtypes or dtype in dtypes)

    records = [record for record in RECORDS if families is None or record.family in families]
    drawn_share = 1 / shard.count
    swept = sum(shard.holds(case) and profiles.sweeps(record, case, profile)
                for record in records for dtype in DTYPES if wanted(record.name, dtype)
                for case in sweep(record, dtype))
    fuzzed = sum(profiles.FUZZ_EXAMPLES[profile] * profiles.batch_size(record.share, profile) * drawn_share
                 for record in records for dtype in DTYPES if wanted(record.name, dtype))
    errors = sum(shard.holds(case) for record in records for _, case in record.error_cases()
                 if wanted(record.name, case.dtype))
    examples = settings.get_profile(profile).max_examples
    misused = sum(2 * examples * drawn_share for misuse in MISUSES for dtype in misuse.dtypes
                  if wanted(misuse.name, dtype) and (families is None or misuse.family in families))
    return round(swept + fuzzed + errors + misused)
