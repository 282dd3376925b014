"""Each pytest process appends its rows to its own line-buffered JSONL file; the session merges them.

A file is a sequence of events: `start`, then `row`s and `abort`s (a test stopped by something
other than a failed assertion), then `end`. A process that crashes keeps every line it wrote;
its file just lacks the `end`, and the merge says the run is incomplete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from reports.rows import COLUMNS, row

if TYPE_CHECKING:
    from tfparity.check import CheckResult


class Recorder:
    """Appends rows for one process. Without a path it records nothing (a plain test run)."""

    def __init__(self, path: Path | None, report_dir: str = "", worker: str = "main") -> None:
        self.report_dir = report_dir
        self._seen: set[tuple[str, str]] = set()
        self._backend: str | None = None
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115  (open for the session)
            self._event("start", worker=worker, pid=os.getpid())

    @property
    def active(self) -> bool:
        return self._file is not None

    def add(self, results: Iterable[CheckResult], source: str) -> None:
        """Record checks once each: a case hypothesis replays while shrinking is not a new row.
        The first call records the backend this process probed."""
        if not self.active:
            return
        if self._backend is None:
            # probes TF: only processes that run cases need it
            from tfparity.backend import current

            self._backend = current().fingerprint
            self._event("backend", **current().record())
        for result in results:
            fields = row(result, source, self.report_dir, self._backend)
            key = (fields["case_id"], fields["check"])
            if key not in self._seen:
                self._seen.add(key)
                self._event("row", **fields)

    def abort(self, test: str, error: str) -> None:
        if self.active:
            self._event("abort", test=test, error=error)

    def close(self, exitstatus: int, candidate_work: dict[str, int] | None = None) -> None:
        """End the session's events; a process that ran cases records what TF traced and compiled,
        and what the candidate compiled where it counts that (`candidate_<count>`)."""
        if self.active:
            if self._backend is not None:
                from oracle.modes import work

                self._event("work", **work(), **{f"candidate_{k}": v for k, v in (candidate_work or {}).items()})
            self._event("end", exitstatus=int(exitstatus))
            self._file.close()
            self._file = None

    def _event(self, event: str, **fields: object) -> None:
        self._file.write(json.dumps({"event": event, **fields}) + "\n")


@dataclass
class Merged:
    """Every process's rows, and every reason to distrust them."""

    rows: pd.DataFrame
    processes: int = 0
    problems: list[str] = field(default_factory=list)
    backend: dict = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)  # compile work, summed over the processes


def merge(rows_dir: Path) -> Merged:
    rows: list[dict] = []
    backends: dict[str, dict] = {}
    files = sorted(rows_dir.glob("*.jsonl")) if rows_dir.is_dir() else []
    merged = Merged(pd.DataFrame(columns=list(COLUMNS)), len(files))
    if not files:
        merged.problems.append("no process recorded anything")
    for path in files:
        events = _read(path, merged.problems)
        kinds = [e.get("event") for e in events]
        if not kinds or kinds[0] != "start":
            merged.problems.append(f"{path.name}: does not begin with a start event")
        if "end" not in kinds:
            merged.problems.append(f"{path.name}: the process stopped before the end of the session (crashed?)")
        for e in events:
            if e.get("event") == "backend":
                backends[e["fingerprint"]] = {k: v for k, v in e.items() if k != "event"}
            if e.get("event") == "abort":
                merged.problems.append(f"{e['test']} stopped early: {e['error']}")
            elif e.get("event") == "row":
                rows.append({c: e.get(c) for c in COLUMNS})
            elif e.get("event") == "work":
                merged.work = add_work(merged.work, e)
    if len(backends) > 1:
        merged.problems.append(f"processes probed different backends: {', '.join(sorted(backends))}")
    merged.backend = next(iter(backends.values()), {})
    if rows:
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        merged.rows = (frame.sort_values(["op", "dtype", "check", "case_id", "source"], kind="stable")
                       .drop_duplicates(["case_id", "check"]).reset_index(drop=True))
    return merged


WORK = ("traces", "compiles", "programs", "releases")  # TF's (oracle.modes.work), always reported


def add_work(total: dict[str, int], more: dict) -> dict[str, int]:
    """Compile work summed: TF's (see oracle.modes.work) and the candidate's counts where given."""
    keys = [*WORK, *sorted(k for k in {*total, *more} if k.startswith("candidate_"))]
    return {k: total.get(k, 0) + int(more.get(k, 0)) for k in keys}


def _read(path: Path, problems: list[str]) -> list[dict]:
    events = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            problems.append(f"{path.name}:{number}: a torn line (the process died while writing)")
    return events
