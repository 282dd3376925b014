"""One whole `tfparity run` (pytest, xdist, recording and reports), timed end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_run(out: Path, *options: str) -> tuple[dict, float]:
    """(run.json, wall seconds) of `tfparity run OPTIONS --out OUT`; a run that wrote no run.json of
    its own (none, or an earlier run's) stops the benchmark: its time would mean nothing."""
    written = out / "run.json"
    written.unlink(missing_ok=True)  # an earlier run's: a run failing before it clears the folder leaves it
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reports", "run", *options, "--out", str(out)], cwd=ROOT, check=False,
                   capture_output=True)
    seconds = time.perf_counter() - start
    if not written.exists():
        raise SystemExit(f"tfparity run {' '.join(options)} wrote no {written}")
    return json.loads(written.read_text()), seconds
