"""The regression gate: a run's summary against a committed baseline, as a ratchet.

A baseline is made on one backend (its fingerprint is in its `.env.json`). On the same
fingerprint the gate is strict: each class's worst ULP and relative error are budgets. On another
fingerprint raw ULPs do not carry (TF's kernels differ), so it compares what does: classes,
failure rates, the share of the tolerance each class uses, and the known divergences that fired.
A folder of baselines, one per fingerprint, keeps a strict ratchet on each kind of machine.

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
from tfparity.backend import Backend

BASELINE_SCHEMA = "tfparity-baseline/2"
BASELINE_COLUMNS = [*CLASS, "cases", "failures", "ulp_budget", "rel_budget", "budget_used", "divergences"]
MIN_CASE_FRACTION = 0.5
STRICT, PORTABLE = "strict", "portable"
# Across backends a class's share of its tolerance may move by TF's own spread. Measured (ci
# profile, one machine, oneDNN off against on): where an op x dtype switches kernel, up to 0.5
# (softmax bf16 value: 0.5 on oneDNN, 1.0 on Eigen; f32 vjp_logits 0.52 -> 0.87); on the same
# kernel, 0 on the same machine, and about 4% of the error across CPUs (weighted CE f32
# vjp_logits, 6927 against 7183 ULP, Eigen on both).
SLACK_SAME_KERNEL, SLACK_OTHER_KERNEL = 0.1, 0.6


class Unusable(Exception):
    """The gate cannot judge: its inputs are missing, corrupt or of another schema."""


@dataclass
class Verdict:
    comparison: str = ""
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def environment_path(baseline: Path) -> Path:
    """`baseline.csv` keeps its environment beside it in `baseline.env.json`."""
    return baseline.with_name(f"{baseline.stem}.env.json")


def make_baseline(report_dir: Path, baseline: Path) -> tuple[pd.DataFrame, Path]:
    """Budgets from a complete run: each class's worst ULP, relative error and share of its
    tolerance, and the divergences that fired. `baseline` is a .csv file, or a folder that gets
    `<fingerprint>.csv`. Returns the table and the file written."""
    run, summary = output.load(report_dir)
    if run["status"] != "complete":
        raise Unusable(f"{report_dir}: an incomplete run cannot be a baseline ({'; '.join(run['problems'][:3])})")
    if summary.empty:
        raise Unusable(f"{report_dir}: an empty run cannot be a baseline")
    if len(run.get("machines") or {}) > 1:
        raise Unusable(f"{report_dir}: a report of several machines ({', '.join(run['machines'])}); "
                       "make a baseline from each machine's own report")
    if not run.get("backend"):
        raise Unusable(f"{report_dir}: the run recorded no backend fingerprint")
    table = summary[CLASS + ["cases", "failures"]].assign(
        ulp_budget=summary["worst_ulp"].fillna(0.0), rel_budget=summary["worst_rel"].fillna(0.0),
        budget_used=summary["worst_budget"].fillna(0.0), divergences=summary["known_divergences"].fillna(""))
    meta = {"schema": BASELINE_SCHEMA, "environment": run["environment"], "cases": run["cases"],
            "backend": run["backend"]}
    if baseline.suffix != ".csv":
        baseline = baseline / baseline_name(run)
    baseline.parent.mkdir(parents=True, exist_ok=True)
    output.atomic(baseline, lambda path: table.to_csv(path, index=False))
    output.atomic(environment_path(baseline), lambda path: path.write_text(json.dumps(meta, indent=2) + "\n"))
    return table, baseline


def kind(environment: dict) -> tuple[str, str]:
    """What a baseline holds besides its backend: the profile (its cases are its own) and the
    candidate (its answers are its own)."""
    return environment.get("profile", "ci"), environment.get("candidate", "impl")


def baseline_name(run: dict) -> str:
    """`<fingerprint>.csv` for impl's ci profile, `<fingerprint>.<profile>.csv` for another profile,
    `.<candidate>` before `.csv` for another candidate: a folder keeps one baseline per backend,
    profile and candidate."""
    profile, candidate = kind(run["environment"])
    suffix = ("" if profile == "ci" else f".{profile}") + ("" if candidate == "impl" else f".{candidate}")
    return f"{run['backend']['fingerprint']}{suffix}.csv"


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
    if not isinstance(meta.get("backend"), dict) or "fingerprint" not in meta["backend"]:
        raise Unusable(f"{env_file}: no backend fingerprint")
    numeric = table[["cases", "failures", "ulp_budget", "rel_budget", "budget_used"]].apply(
        pd.to_numeric, errors="coerce")
    if numeric.isna().any().any() or table.duplicated(CLASS).any() or table.empty:
        raise Unusable(f"baseline {baseline} is corrupt: empty, non-numeric budgets or repeated classes")
    return table.assign(**numeric, divergences=table["divergences"].fillna("")), meta


def choose(baseline: Path, run: dict) -> tuple[Path, str, str, list[str]]:
    """The baseline to compare with and how: a file as given, or from a folder the one made on the
    run's fingerprint, else the one whose probe answers differ least. Returns the file, the mode,
    why, and the folder's files that could not be read (skipped, and said)."""
    mine = run.get("backend") or {}
    if "fingerprint" not in mine:
        raise Unusable("the run recorded no backend fingerprint (no case ran, or the report predates fingerprints)")
    skipped, metas = [], {}
    for path in sorted(baseline.glob("*.csv")) if baseline.is_dir() else [baseline]:
        try:
            metas[path] = load_baseline(path)[1]
        except Unusable as error:
            if not baseline.is_dir():
                raise
            skipped.append(f"skipped {path.name}: {error}")
    if not metas:
        raise Unusable(f"no usable baseline in {baseline}: {'; '.join(skipped) or 'no *.csv'}")
    profile, candidate = kind(run.get("environment", {}))
    if baseline.is_dir():  # another profile's cases or another candidate's answers: never the comparison
        metas = {path: meta for path, meta in metas.items() if kind(meta["environment"]) == (profile, candidate)}
        if not metas:
            raise Unusable(f"no baseline of profile {profile} and candidate {candidate} in {baseline}: make one "
                           f"with `tfparity baseline <a {profile} run of {candidate}> --out {baseline}`")
    here = Backend(mine.get("facts", {}))
    differing = {path: here.differences(Backend(meta["backend"].get("facts", {}))) for path, meta in metas.items()}
    mode = here.mode  # another mode's divergences are its own: a baseline of the run's mode comes first
    best = min(metas, key=lambda path: (metas[path]["backend"]["fingerprint"] != mine["fingerprint"],
                                        Backend(metas[path]["backend"].get("facts", {})).mode != mode,
                                        len(differing[path])))
    theirs = metas[best]["backend"]["fingerprint"]
    if theirs == mine["fingerprint"]:
        return best, STRICT, f"the run's backend {theirs} is the baseline's: worst ULP and relative error are budgets", skipped
    differ = differing[best]
    return best, PORTABLE, (
        f"the run's backend {mine['fingerprint']} is not the baseline's {theirs} "
        f"({len(differ)} probe answers differ, run -> baseline: {'; '.join(differ[:4])}{'; ...' if len(differ) > 4 else ''}); "
        f"comparing what carries across backends: classes, failure rates, the share of each tolerance "
        f"used (+{SLACK_SAME_KERNEL} allowed, +{SLACK_OTHER_KERNEL} where the op's kernel differs), "
        f"and the known divergences that fired"), skipped


def judge(baseline: pd.DataFrame, meta: dict, run: dict, summary: pd.DataFrame,
          min_fraction: float = MIN_CASE_FRACTION, mode: str = STRICT) -> Verdict:
    """Every reason the run is worse than the baseline, every way it is better, and what differs."""
    verdict = Verdict(comparison=mode)
    kernels = (meta.get("backend", {}).get("kernels", {}), run.get("backend", {}).get("kernels", {}))
    if run.get("status") != "complete":
        verdict.regressions.append(f"the run is incomplete: {'; '.join(run.get('problems', [])[:3])}")
    if summary.empty or not run.get("cases"):
        verdict.regressions.append("the run checked zero cases")
    base_env = meta.get("environment", {})
    for key in COMPARABLE:
        if base_env.get(key) != run.get("environment", {}).get(key):
            verdict.notices.append(f"ENVIRONMENT DIFFERS: {key} is {run.get('environment', {}).get(key)!r}, "
                                   f"the baseline's {base_env.get(key)!r}")
    both = baseline.merge(summary, on=CLASS, how="outer", indicator=True)
    for _, c in both.iterrows():
        name = "/".join(str(c[k]) for k in CLASS)
        if c["_merge"] == "left_only":
            verdict.regressions.append(f"{name}: in the baseline ({c['cases_x']:.0f} cases), missing from the run")
        elif c["_merge"] == "right_only":
            (verdict.regressions if c["failures_y"] else verdict.notices).append(
                f"{name}: not in the baseline, {c['cases_y']:.0f} cases, {c['failures_y']:.0f} failing")
        else:
            switched = kernels[0].get(c["op"], {}).get(c["dtype"]) != kernels[1].get(c["op"], {}).get(c["dtype"])
            _compare_class(name, c, min_fraction, verdict, mode, SLACK_OTHER_KERNEL if switched else SLACK_SAME_KERNEL)
    return verdict


def _compare_class(name: str, c: pd.Series, min_fraction: float, verdict: Verdict, mode: str,
                   slack: float) -> None:
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
    _compare_divergences(name, c, verdict, mode)
    if mode == PORTABLE:
        used = _or_zero(c["worst_budget"])
        if used > c["budget_used"] + slack:
            verdict.regressions.append(f"{name}: uses {used:.3g} of its tolerance, the baseline {c['budget_used']:.3g} "
                                       f"(+{slack} across backends) (case {c['worst_budget_case']})")
        return
    for label, worst, budget in (("ULP", worst_ulp, c["ulp_budget"]), ("relative error", worst_rel, c["rel_budget"])):
        if worst > budget:
            verdict.regressions.append(f"{name}: worst {label} {worst:.6g} above the budget {budget:.6g}{where}")
        elif worst < budget:
            verdict.improvements.append(f"{name}: worst {label} {worst:.6g}, budget {budget:.6g}")


def _compare_divergences(name: str, c: pd.Series, verdict: Verdict, mode: str) -> None:
    """A known divergence newly excusing mismatches is a regression on the same backend (the
    candidate now differs from TF where TF is known wrong: look); on another backend the
    divergences that hold differ by design, so changes are notices."""
    before = {n for n in str(c["divergences"] or "").split(";") if n}
    after = {n for n in str(c["known_divergences"] if pd.notna(c["known_divergences"]) else "").split(";") if n}
    for gone in sorted(before - after):
        verdict.notices.append(f"{name}: known divergence {gone} no longer fired")
    for new in sorted(after - before):
        (verdict.regressions if mode == STRICT else verdict.notices).append(
            f"{name}: known divergence {new} fired, which it did not in the baseline")


def _or_zero(value: object) -> float:
    return 0.0 if pd.isna(value) else float(value)


def gate(baseline: Path, report_dir: Path,
         min_fraction: float = MIN_CASE_FRACTION) -> list[tuple[str, Verdict, dict, Path, str]]:
    """Load both sides (raising Unusable), and per backend fingerprint of the run (a merged report
    may hold several machines) choose the baseline and the comparison, and judge. Returns, per
    fingerprint, the verdict, the baseline's metadata, its file, and why that comparison."""
    try:
        run, summary = output.load(report_dir)
    except ValueError as error:
        raise Unusable(str(error)) from error
    machines = run.get("machines") or {}
    if len(machines) < 2:
        return [(run["environment"].get("backend", ""), *_gate_one(baseline, run, summary, min_fraction))]
    return [(fingerprint, *_gate_one(baseline, run | {"backend": machine["backend"],
                                                      "environment": run["environment"] | {"backend": fingerprint}},
                                     summary[summary["backend"] == fingerprint], min_fraction))
            for fingerprint, machine in machines.items()]


def _gate_one(baseline: Path, run: dict, summary: pd.DataFrame, min_fraction: float) -> tuple[Verdict, dict, Path, str]:
    chosen, mode, why, skipped = choose(baseline, run)
    table, meta = load_baseline(chosen)
    verdict = judge(table, meta, run, summary, min_fraction, mode)
    verdict.notices += skipped
    return verdict, meta, chosen, why
