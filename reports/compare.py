"""`tfparity compare`: one page across candidates (compare.csv, compare.html).

Each run folder is one candidate's complete run; the table has a row per candidate, op and dtype:
cases and checks, failures, checks explained by TF's known divergences and by the candidate's
own, VJP checks not provided, the budget used, and whose answer the exact one sided with where
they differed.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from reports import output
from reports.html import CSS

COLUMNS = ["candidate", "op", "dtype", "cases", "checks", "failures", "tf_divergence", "candidate_divergence",
           "not_provided", "worst_budget", "candidate_closer", "tf_closer", "tf_errors", "report"]


class Refused(ValueError):
    """A run folder that cannot be compared: unreadable, or incomplete."""


def table(folders: list[Path]) -> pd.DataFrame:
    """The comparison over complete runs, one row per candidate x op x dtype (misuses aside:
    they check TF against itself, whatever the candidate)."""
    from tfparity.opdb import RECORDS

    tf_names = {d.name for record in RECORDS for d in record.divergences}
    parts, labels, profiles = [], set(), set()
    for folder in folders:
        try:
            run, _ = output.load(folder)
            rows = output.load_cases(folder)
        except (OSError, ValueError) as error:
            raise Refused(str(error)) from error
        if run["status"] != "complete":
            raise Refused(f"{folder}: an incomplete run ({'; '.join(run['problems'][:2])})")
        profiles.add(run["environment"].get("profile"))
        label = _label(run)
        label = label if label not in labels else f"{label} [{folder}]"
        labels.add(label)
        parts.append(_per_op(rows[rows["check"] != "misuse"], label, tf_names, folder))
    if len(profiles) > 1:
        raise Refused(f"runs of different profiles ({', '.join(sorted(map(str, profiles)))}) check other cases")
    return pd.concat(parts, ignore_index=True)[COLUMNS] if parts else pd.DataFrame(columns=COLUMNS)


def _label(run: dict) -> str:
    """The candidate, and TF's mode where it is not eager."""
    env = run["environment"]
    mode = env.get("mode", "eager")
    return env.get("candidate", "impl") + ("" if mode == "eager" else f" (TF {mode})")


def _per_op(rows: pd.DataFrame, label: str, tf_names: set[str], folder: Path) -> pd.DataFrame:
    names = rows["known_divergence"].fillna("").str.split(";")
    rows = rows.assign(
        failed=~rows["passed"].astype(bool),
        tf_known=names.map(lambda n: any(x in tf_names for x in n)),
        own_known=names.map(lambda n: any(x and x not in tf_names for x in n)),
        absent=rows["verdict"] == "not_provided",
        candidate_nearer=rows["closer"] == "candidate", tf_nearer=rows["closer"] == "tf",
        tf_error=rows["verdict"] == "tf_error")
    grouped = rows.groupby(["op", "dtype"], sort=True)
    return pd.DataFrame({
        "cases": grouped["case_id"].nunique(), "checks": grouped.size(), "failures": grouped["failed"].sum(),
        "tf_divergence": grouped["tf_known"].sum(), "candidate_divergence": grouped["own_known"].sum(),
        "not_provided": grouped["absent"].sum(), "worst_budget": grouped["budget_used"].max(),
        "candidate_closer": grouped["candidate_nearer"].sum(), "tf_closer": grouped["tf_nearer"].sum(),
        "tf_errors": grouped["tf_error"].sum(),
    }).reset_index().assign(candidate=label, report=str(folder / "report.html"))


def write(folders: list[Path], out: Path) -> pd.DataFrame:
    """compare.csv and compare.html in `out`; nothing is written if a run is refused."""
    compared = table(folders)
    out.mkdir(parents=True, exist_ok=True)
    output.atomic(out / "compare.csv", lambda path: compared.to_csv(path, index=False))
    output.atomic(out / "compare.html", lambda path: path.write_text(render(compared), encoding="utf-8"))
    return compared


def render(compared: pd.DataFrame) -> str:
    """The page: a grid of failing / checks per op and dtype for each candidate, then every row."""
    cells = compared.assign(cell=compared["failures"].astype(str) + " / " + compared["checks"].astype(str)
                            + " (" + compared["candidate_divergence"].astype(str) + " own div.)")
    grid = cells.pivot_table(index=["op", "dtype"], columns="candidate", values="cell", aggfunc="first")
    styled = compared.style.hide(axis="index").format(precision=3, na_rep="").apply(
        lambda row: ["background:#f8d7da" if row["failures"] else
                     "background:#fff3cd" if row["candidate_divergence"] else ""] * len(row), axis=1)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>tfparity: candidates compared</title>"
            f"<style>{CSS}</style></head><body><h1>Candidates compared against TF</h1>"
            "<p>Each candidate's run against TF, per op and dtype. <code>failures</code>: checks no known "
            "divergence explains; <code>tf_divergence</code>: checks where TF's own known divergence from the "
            "exact answer explained the difference; <code>candidate_divergence</code>: checks explained by "
            "the candidate's declared divergence from TF; <code>not_provided</code>: VJP checks of a "
            "candidate without gradients; <code>worst_budget</code>: the largest share of the tolerance "
            "used (1 is the limit); <code>candidate_closer</code> / <code>tf_closer</code>: checks where "
            "the sides differed and the exact answer was nearer that side.</p>"
            "<h2>Failing / checks per op and dtype</h2>" + grid.to_html(na_rep="-")
            + "<h2>Every candidate, op and dtype</h2>" + styled.to_html()
            + f"<p>Runs: {escape(', '.join(dict.fromkeys(compared['report'])))}</p></body></html>")

