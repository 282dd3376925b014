"""`tfparity replay`: rerun one case from its id (via the report's cases) or its spec."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from reports import output
from tfparity.backend import current
from tfparity.describe import arguments as replay_arguments
from tfparity.describe import describe
from tfparity.inputs import parse


def replay(case: str, report_dir: Path, candidate: str | None = None) -> str:
    """The case's inputs, both outputs and every verdict, and whether its saved inputs still match.
    The candidate defaults to the one the report's run checked."""
    spec, recorded = (case, None) if case.lstrip().startswith("Case(") else _spec(case, report_dir)
    found = parse(spec)
    module = importlib.import_module(candidate or _run_candidate(report_dir))
    text = f"candidate: {module.__name__}\n" + describe(found, candidate=module)
    here = current().fingerprint
    if recorded and recorded != here:
        text += (f"\nNOTE: the case was recorded on backend {recorded}, this is {here}: kernels, known "
                 f"divergences and so the verdicts may differ (see the report's Backend section)")
    saved = report_dir / output.INPUTS / f"{case}.npz"
    if saved.is_file():
        regenerated = output.portable(replay_arguments(found))
        with np.load(saved) as stored:
            same = set(stored.files) == set(regenerated) and all(
                np.array_equal(stored[k], regenerated[k], equal_nan=True) for k in stored.files)
        text += f"\nsaved inputs {saved}: {'identical to' if same else 'DIFFER FROM'} the spec's"
    return text


def _run_candidate(report_dir: Path) -> str:
    try:
        return output.load(report_dir)[0]["environment"]["candidate"]
    except (ValueError, KeyError):
        return "impl"


def _spec(case_id: str, report_dir: Path) -> tuple[str, str | None]:
    """The case's spec and the backend it was recorded on."""
    try:
        cases = output.load_cases(report_dir)
    except FileNotFoundError as error:
        raise ValueError(f"no {output.CASES} in {report_dir}: pass --report, or a Case(...) spec") from error
    match = cases.loc[cases["case_id"] == case_id]
    if match.empty:
        raise ValueError(f"case {case_id} is not in {report_dir}/{output.CASES}")
    return match["spec"].iloc[0], match["backend"].iloc[0] if "backend" in match else None
