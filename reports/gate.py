"""The regression gate: a run's summary against a committed baseline, as a ratchet.

Exit codes: 0 pass, 1 regression, 2 unusable input (a baseline or report that cannot be read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import output
from reports.environment import COMPARABLE
from reports.rows import CLASS, MISUSE

BASELINE_SCHEMA = "tfparity-baseline/1"
BASELINE_COLUMNS = [*CLASS, "cases", "failures", "ulp_budget", "rel_budget"]
MIN_CASE_FRACTION = 0.5


class Unusable(Exception):
    """The gate cannot judge: its inputs are missing, corrupt or of another schema."""


@dataclass
class Verdict:
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def environment_path(baseline: Path) -> Path:
    """`baseline.csv` keeps its environment beside it in `baseline.env.json`."""
    return baseline.with_name(f"{baseline.stem}.env.json")


def make_baseline(report_dir: Path, baseline: Path) -> pd.DataFrame:
    """Budgets from a complete run: each class's worst ULP and relative error as measured."""
    run, summary = output.load(report_dir)
    if run["status"] != "complete":
        raise Unusable(f"{report_dir}: an incomplete run cannot be a baseline ({'; '.join(run['problems'][:3])})")
    if summary.empty:
        raise Unusable(f"{report_dir}: an empty run cannot be a baseline")
    table = summary[CLASS + ["cases", "failures"]].assign(
        ulp_budget=summary["worst_ulp"].fillna(0.0), rel_budget=summary["worst_rel"].fillna(0.0))
    meta = {"schema": BASELINE_SCHEMA, "environment": run["environment"], "cases": run["cases"]}
    baseline.parent.mkdir(parents=True, exist_ok=True)
    output.atomic(baseline, lambda path: table.to_csv(path, index=False))
    output.atomic(environment_path(baseline), lambda path: path.write_text(json.dumps(meta, indent=2) + "\n"))
    return table


def load_baseline(baseline: Path) -> tuple[pd.DataFrame, dict]:
    env_file = environment_path(baseline)
    for path in (baseline, env_file):
        if not path.is_file():
            raise Unusable(f"baseline file {path} is missing")
    try:
        table = pd.read_csv(baseline, keep_default_na=False, na_values=[""])
        meta = json.loads(env_file.read_text())
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise Unusable(f"baseline {baseline} is corrupt: {str(error).splitlines()[0]}") from error
    if not isinstance(meta, dict) or meta.get("schema") != BASELINE_SCHEMA:
        raise Unusable(f"{env_file}: schema {meta.get('schema') if isinstance(meta, dict) else None!r}, expected {BASELINE_SCHEMA!r}")
    missing = [c for c in BASELINE_COLUMNS if c not in table.columns]
    if missing:
        raise Unusable(f"baseline {baseline} is corrupt or of another schema: no column {', '.join(missing)}")
    numeric = table[["cases", "failures", "ulp_budget", "rel_budget"]].apply(pd.to_numeric, errors="coerce")
    if numeric.isna().any().any() or table.duplicated(CLASS).any() or table.empty:
        raise Unusable(f"baseline {baseline} is corrupt: empty, non-numeric budgets or repeated classes")
    return table.assign(**numeric), meta


def judge(baseline: pd.DataFrame, meta: dict, run: dict, summary: pd.DataFrame,
          min_fraction: float = MIN_CASE_FRACTION) -> Verdict:
    """Every reason the run is worse than the baseline, every way it is better, and what differs."""
    verdict = Verdict()
    if run.get("status") != "complete":
        verdict.regressions.append(f"the run is incomplete: {'; '.join(run.get('problems', [])[:3])}")
    if summary.empty or not run.get("cases"):
        verdict.regressions.append("the run checked zero cases")
    base_env = meta.get("environment", {})
    for key in COMPARABLE:
        if base_env.get(key) != run.get("environment", {}).get(key):
            verdict.notices.append(f"ENVIRONMENT DIFFERS: {key} is {run.get('environment', {}).get(key)!r}, "
                                   f"the baseline's {base_env.get(key)!r}: budgets may not transfer")
    both = baseline.merge(summary, on=CLASS, how="outer", indicator=True)
    for _, c in both.iterrows():
        name = "/".join(str(c[k]) for k in CLASS)
        if c["_merge"] == "left_only":
            verdict.regressions.append(f"{name}: in the baseline ({c['cases_x']:.0f} cases), missing from the run")
        elif c["_merge"] == "right_only":
            (verdict.regressions if c["failures_y"] else verdict.notices).append(
                f"{name}: not in the baseline, {c['cases_y']:.0f} cases, {c['failures_y']:.0f} failing")
        else:
            _compare_class(name, c, min_fraction, verdict)
    return verdict


def _compare_class(name: str, c: pd.Series, min_fraction: float, verdict: Verdict) -> None:
    worst_ulp, worst_rel = _or_zero(c["worst_ulp"]), _or_zero(c["worst_rel"])
    where = f" (worst case {c['worst_case']})"
    if c["cases_y"] < min_fraction * c["cases_x"]:
        verdict.regressions.append(f"{name}: too few cases, {c['cases_y']:.0f} against the baseline's {c['cases_x']:.0f}")
    if c["failures_y"] * c["cases_x"] > c["failures_x"] * c["cases_y"]:  # a higher failure rate
        verdict.regressions.append(f"{name}: {c['failures_y']:.0f} failing checks in {c['cases_y']:.0f} cases, "
                                   f"the baseline {c['failures_x']:.0f} in {c['cases_x']:.0f}")
    elif c["failures_y"] < c["failures_x"]:
        verdict.improvements.append(f"{name}: {c['failures_y']:.0f} failing checks, the baseline {c['failures_x']:.0f}")
    if c["check"] == MISUSE:
        return  # a misuse's errors are the divergence it must show, not a budget to stay under
    for label, worst, budget in (("ULP", worst_ulp, c["ulp_budget"]), ("relative error", worst_rel, c["rel_budget"])):
        if worst > budget:
            verdict.regressions.append(f"{name}: worst {label} {worst:.6g} above the budget {budget:.6g}{where}")
        elif worst < budget:
            verdict.improvements.append(f"{name}: worst {label} {worst:.6g}, budget {budget:.6g}")


def _or_zero(value: object) -> float:
    return 0.0 if pd.isna(value) else float(value)


def gate(baseline: Path, report_dir: Path, min_fraction: float = MIN_CASE_FRACTION) -> tuple[Verdict, dict]:
    """Load both sides (raising Unusable) and judge; also returns the baseline's metadata."""
    table, meta = load_baseline(baseline)
    try:
        run, summary = output.load(report_dir)
    except ValueError as error:
        raise Unusable(str(error)) from error
    return judge(table, meta, run, summary, min_fraction), meta
