"""report.html: one self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from html import escape

import pandas as pd

from reports import across, heatmap, histogram
from reports.rows import MISUSE
from reports.summary import judges_candidate, set_apart

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#eee}
.banner{padding:.6em 1em;font-size:1.2em;font-weight:bold;border-radius:4px}
.headline{font-size:1.05em}
.pass{background:#d4edda}.fail{background:#f8d7da}.incomplete{background:#fde2b8}
.plots{display:flex;flex-wrap:wrap;gap:8px}
.grid{margin:.5em 0 1em}
code{font-size:11px}
"""
FAILING_SHOWN = 50
# A case's raw errors stand beside the budget that judged them: its share, the ULP and absolute budgets.
_CASE_COLUMNS = ["case_id", "op", "check", "dtype", "shape", "axis", "label_kind", "regime", "verdict",
                 "budget_used", "max_ulp", "rtol", "max_rel_err", "max_abs_err", "atol", "mismatches",
                 "special_mismatch", "known_divergence", "detail", "replay"]
# The summary's columns on the page; every column is in summary.csv.
_SUMMARY_SHOWN = ["op", "check", "dtype", "label_kind", "backend", "cases", "failures", "candidate_budget",
                  "worst_bound", "candidate_closer", "tf_closer", "inaccurate", "set_apart", "tf_errors", "known",
                  "known_divergences", "worst_budget_case"]


def render(rows: pd.DataFrame, summary: pd.DataFrame, run: dict) -> str:
    failing = rows[~rows["passed"].astype(bool)]
    sections = [
        _banner(run, failing),
        _answers_from(run["environment"]),
        _headline(rows, summary),
        _grid(summary),
        "<h2>Environment</h2>" + _pairs(run["environment"] | _work(run)),
        *_machines(run, rows),
        _across(run, rows),
        "<h2>Summary</h2><p>One row per op, check, dtype and label kind. Red: failures not "
        "explained by a known divergence. Amber: a known divergence explained some elements. "
        "<code>candidate_budget</code>: the candidate's worst share of its tolerance (checks set apart left "
        "out); <code>worst_bound</code>: where the candidate's own bounded divergences excused it, its worst "
        "share of their bounds; <code>set_apart</code>: checks that pass on TF's account (<code>tf_errors</code>: TF is the "
        "side in error; the rest: a known divergence). Raw worst ULP, relative and absolute errors, "
        "<code>abs_eps_needed</code> and the tolerances are in <code>summary.csv</code>; beside a case's "
        "budget they are in the tables below.</p>" + _styled_summary(summary),
        f"<h2>Failing cases ({len(failing)})</h2>" + (
            _cases(failing.sort_values("budget_used", ascending=False).head(FAILING_SHOWN)) if len(failing)
            else "<p>None.</p>"),
        "<h2>Worst case per op, check and dtype</h2><p>The check that used the largest share of its "
        "tolerance (checks set apart on TF's account left out), with its raw errors beside its budgets: "
        "<code>rtol</code> is the ULP budget as a relative error, <code>atol</code> the absolute budget per "
        "unit of the check's scale. An element within the absolute budget (a tiny value next to large "
        "terms) can be far in ULP and still pass.</p>" + _cases(_worst(rows)),
        _misuses(rows[rows["check"] == MISUSE]),
        "<h2>Budget used per op and dtype</h2><p>Each check's worst element as a share of its "
        "tolerance (1 is the limit), log-scaled counts; red: failing checks.</p>" + _plots(rows),
    ]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>tfparity report</title>"
            f"<style>{CSS}</style></head><body><h1>tfparity report</h1>{''.join(sections)}</body></html>")


def _banner(run: dict, failing: pd.DataFrame) -> str:
    if run["status"] != "complete":
        problems = "".join(f"<li>{escape(p)}</li>" for p in run["problems"])
        return f"<div class='banner incomplete'>INCOMPLETE RUN: do not trust these numbers</div><ul>{problems}</ul>"
    if len(failing):
        return (f"<div class='banner fail'>FAIL: {len(failing):,} failing checks in "
                f"{failing['case_id'].nunique():,} of {run['cases']:,} cases</div>")
    return f"<div class='banner pass'>PASS: {run['cases']:,} cases, {run['rows']:,} checks, no unexplained mismatch</div>"


def _answers_from(environment: dict) -> str:
    """Whose answers the candidate was held to: TF run here, or a corpus captured elsewhere."""
    if not environment.get("corpus"):
        return ""
    return (f"<p>TF's answers come from the corpus <code>{escape(environment['corpus'])}</code> (version "
            f"{escape(environment.get('corpus_version', '?'))}): backend <code>"
            f"{escape(environment.get('corpus_fingerprint', '?'))}</code>, captured with TF "
            f"{escape(environment.get('corpus_tensorflow', '?'))} on {escape(environment.get('corpus_cpu', '?'))}. "
            f"TensorFlow did not run here; the candidate ran on {escape(environment.get('candidate_device', '?'))}.</p>")


def _headline(rows: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Does the candidate match TF, and where it does not, who is right: a paragraph judging the
    candidate, the checks set apart on TF's account counted beside it, and a cell per op and dtype."""
    parity = rows[~rows["check"].isin([MISUSE, "error"]) & rows["budget_used"].notna()
                  & (rows["verdict"] != "not_provided")]
    if parity.empty:
        return ""
    own, apart = parity[judges_candidate(parity)], parity[set_apart(parity)]
    tf_errors = int((apart["verdict"] == "tf_error").sum())
    closer = parity["closer"].value_counts()
    text = (f"<p class='headline'>{len(parity):,} value and gradient checks; the candidate's worst uses "
            f"{_share(own['budget_used'].max())} of its tolerance (1 is the limit). Where the candidate and TF "
            f"differ, the exact answer says the candidate is closer in {closer.get('candidate', 0):,} checks and TF "
            f"in {closer.get('tf', 0):,}; the candidate is less accurate than TF (beyond the floor) in "
            f"{int((parity['verdict'] == 'inaccurate').sum()):,}. Set apart on TF's account, and left out of the "
            f"candidate's share: {tf_errors:,} checks where TF is the side in error, {len(apart) - tf_errors:,} where "
            "a known divergence (TF's, or the candidate's own) explained the difference."
            + (f" {absent:,} VJP checks were not provided (the candidate has no gradients)."
               if (absent := int((rows["verdict"] == "not_provided").sum())) else "")
            + (f" Where its own bounded divergences excused it ({len(bounded):,} checks), it spent at most "
               f"{_share(bounded.max())} of their bounds." if len(bounded := _bounded(parity)) else "")
            + "</p>")
    grid = heatmap.cells(summary)
    cells = grid.apply(lambda g: (f"{'FAIL ' + str(int(g.failures)) + ' · ' if g.failures else ''}"
                                  f"share {_share(g.share)} · closer: cand {int(g.candidate)} / TF {int(g.tf)}"
                                  + (f" · set apart {int(g.apart)} (TF errors {int(g.tf_errors)})" if g.apart else "")),
                       axis=1)
    table = cells.unstack("dtype").fillna("-")
    return (text + "<details><summary>The same per op and dtype, as a table</summary><p>Failing checks, the "
            "candidate's worst share of the tolerance, at the elements where the two differ how often each side "
            "is nearer the exact answer, and the checks set apart on TF's account.</p>"
            + table.to_html(escape=True) + "</details>")


def _bounded(rows: pd.DataFrame) -> pd.Series:
    """The share of the candidate's own bounds spent, at the passing checks where a bounded one
    excused it (a failing one is beyond them: it is in the failing cases)."""
    return pd.to_numeric(rows["bound_used"], errors="coerce")[rows["passed"].astype(bool)].dropna()


def _grid(summary: pd.DataFrame) -> str:
    """The picture of where each op and dtype stands, with what its marks mean."""
    picture = heatmap.svg(summary)
    if not picture:
        return ""
    return (f"<div class='grid'>{picture}<p><small>Each cell: the candidate's worst share of its tolerance over "
            "the op and dtype's value and gradient checks (FAIL and red: failing checks); <i>nearer</i>: at the "
            "elements where the two differ, who the exact answer sides with more often (\u25b2 the candidate, "
            "\u25bc TF) and in how many checks, candidate:TF; <i>set apart</i>: checks that pass on TF's account "
            "(TF is the side in error, or a known divergence explains TF's answer), left out of the share. "
            "Hover a cell for its counts.</small></p></div>")


def _work(run: dict) -> dict[str, str]:
    """The run's compile work, as a line of the environment (graph and XLA trace and compile; eager neither)."""
    work = run.get("compile_work")
    if not work:
        return {}
    line = (f"{work['traces']:,} TF functions traced, {work['compiles']:,} XLA compiles of "
            f"{work.get('programs', 0):,} distinct programs ({work['releases']:,} releases of every executable)"
            if work["traces"] or work["compiles"] else "TF traced and compiled nothing (eager)")
    if "candidate_compiles" in work:
        line += (f"; the candidate: {work['candidate_compiles']:,} compiles of "
                 f"{work.get('candidate_programs', 0):,} distinct programs")
    return {"compile_work": f"{line}, over {run['processes']} processes"}


def _share(value: float) -> str:
    """A share of the tolerance as a person reads it: unbounded (TF or the candidate gave nan or inf
    where the other did not) only where a check failed."""
    if pd.isna(value):
        return "none (no check measured)"
    return f"{value:.2f}" if value != float("inf") else "unbounded (a failing check)"


def _machines(run: dict, rows: pd.DataFrame) -> list[str]:
    """Per backend fingerprint (a merged report may hold several): the probe, the known
    divergences there, TF's batch spread there."""
    machines = run.get("machines") or {}
    if not machines:
        return [_backend({})]
    parts = []
    for fingerprint, machine in machines.items():
        own = rows[rows["backend"] == fingerprint]
        parts += [_backend(machine["backend"]),
                  _divergences(machine["backend"], own, run["environment"].get("candidate", "impl")),
                  _batch_spread(own)]
    return parts


def _across(run: dict, rows: pd.DataFrame) -> str:
    """TF against TF across the report's machines or modes (merged reports of several backends)."""
    machines = run.get("machines") or {}
    if len(machines) < 2:
        return ""
    table = across.compared(rows, machines)
    alike = table[(table["tf_differs"] == 0) & (table["error_class_differs"] == 0)]
    table = table.drop(alike.index)
    outcomes = across.outcomes(across.table(rows, machines))
    return ("<h2>TF against TF across machines and modes</h2><p>The same cases, answered by TF on each backend "
            "(a machine's kernels, or TF's mode: eager, graph, XLA). "
            "<code>tf_differs</code>: cases whose TF answer differs (by digest; an error by its meaning); "
            "<code>error_class_differs</code>: both raised with one meaning but another class (a graph's "
            "trace-time ValueError for a kernel's InvalidArgumentError); <code>ulp_apart_high</code>: "
            "the widest apart (bounded through the candidate's answer, exact where TF equals it on one side; "
            "see <code>tf_across_machines.csv</code> for every case with its replay); <code>a_nearer</code> / "
            "<code>b_nearer</code>: whose TF was nearer the exact answer; <code>named</code>: the mode and "
            f"kernel TF ran on each. {len(alike)} classes (pair, op, dtype, check) where TF answered every case "
            "alike are left out.</p>" + table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="")
            + ("<h3>Where one side raised, or raised another class</h3><p>Each difference once, with the known "
               "divergences that explain it on each side and one case to replay.</p>"
               + outcomes.to_html(index=False, na_rep="") if len(outcomes) else ""))


def _backend(backend: dict) -> str:
    """The probed backend: its fingerprint, the kernel per op and dtype, and every probe answer."""
    if not backend:
        return "<h2>Backend</h2><p>No case ran, so TF was not probed.</p>"
    kernels = pd.DataFrame(backend["kernels"]).T.rename_axis("op").reset_index()
    return (f"<h2>Backend {escape(backend['fingerprint'])}</h2><p>{escape(backend['summary'])}. "
            "Known divergences and tolerances apply where their conditions hold on this backend; "
            "the fingerprint names every probe answer below.</p>" + kernels.to_html(index=False)
            + "<details><summary>probe answers</summary>" + _pairs(backend["facts"]) + "</details>")


def _divergences(backend: dict, rows: pd.DataFrame, candidate: str) -> str:
    """Each known divergence, TF's and the candidate's own: where it holds, the dtypes it applies
    to here, the checks it explained."""
    if not backend:
        return ""
    # the records import TF: only a run's writer needs them
    from tfparity.backend import Backend
    from tfparity.dtypes import DTYPES
    from tfparity.opdb import RECORDS
    from tfparity.records import CandidateDivergence

    here = Backend(backend["facts"])
    fired = rows["known_divergence"].fillna("").str.split(";").explode().value_counts()
    unique = {d.name: ("TF", d) for r in RECORDS for d in r.divergences} | {
        d.name: (candidate, d) for d in _candidate_divergences(candidate)}
    table = pd.DataFrame([{
        "divergence": name, "whose": whose, "holds where": d.conditions(),
        "applies here to": "/".join(t for t in DTYPES if d.applies(here, t)) or "none",
        "bound": d.describe_bound() if isinstance(d, CandidateDivergence) else "",
        "checks explained": int(fired.get(name, 0)), "what it does": d.what} for name, (whose, d) in unique.items()])
    flushed = int((rows["flushed"].fillna(0) > 0).sum())
    return ("<h2>Known divergences on this backend</h2><p>Where TF is known to differ from the exact "
            "answer (whose: TF), or the candidate from TF on purpose (whose: the candidate, declared beside it, "
            "within its bound), and where each holds. Where none applies, TF must agree with the candidate. "
            f"Besides these, {flushed} checks had elements accepted because TF flushes subnormals "
            "here (column <code>flushed</code>).</p>" + table.to_html(index=False))


def _candidate_divergences(candidate: str) -> list:
    """The candidate's declared divergences (none if it cannot be imported where the report is written)."""
    import importlib

    from candidates import module_name

    try:
        declared = getattr(importlib.import_module(module_name(candidate)), "DIVERGENCES", {})
    except Exception:  # noqa: BLE001  (the report is written whatever the candidate's import does)
        return []
    return [d for divergences in declared.values() for d in divergences]


def _batch_spread(rows: pd.DataFrame) -> str:
    """TF's own batched-against-single spread per op, dtype and check, and how each fuzz verdict
    was reached."""
    fuzz = rows[rows["source"] == "fuzz"] if "path" in rows else rows.iloc[:0]
    if fuzz.empty:
        return ""
    table = fuzz.groupby(["op", "dtype", "check"]).agg(
        spread_budget=("batch_spread", "max"), spread_ulp=("batch_spread_ulp", "max"),
        decided_in_batch=("path", lambda p: int((p == "batch").sum())),
        run_singly=("path", lambda p: int((p != "batch").sum()))).reset_index()
    return ("<h2>TF's batch spread on this backend</h2><p>The fuzz runs many cases per TF call. TF's answer "
            "for a case moves with what it is batched with; measured here per op, dtype and check (share of "
            "the check's tolerance, and ULPs), it is also the floor under any parity tolerance: TF does not "
            "agree with itself more closely. A batched verdict stands only as a pass with headroom for this "
            "spread; every other case is run singly (blank spread: no case of that kind stood in a batch).</p>"
            + table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep=""))


def _pairs(mapping: dict) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
                               for k, v in mapping.items()) + "</table>"


def _styled_summary(summary: pd.DataFrame) -> str:
    def colour(row: pd.Series) -> list[str]:
        shade = "background:#f8d7da" if row["failures"] else "background:#fff3cd" if row["known"] else ""
        return [shade] * len(row)

    # in the Backend section; a report of several machines keeps the fingerprint to tell its rows apart
    shown = [c for c in _SUMMARY_SHOWN if c != "backend" or summary["backend"].nunique() > 1]
    return (summary[shown].style.apply(colour, axis=1).hide(axis="index")
            .format({"candidate_budget": "{:.3g}", "worst_bound": "{:.3g}"}, na_rep="-")
            .to_html())


def _cases(frame: pd.DataFrame) -> str:
    shown = frame[_CASE_COLUMNS].copy()
    shown["replay"] = shown["replay"].map(lambda command: f"<code>{escape(command)}</code>")
    for column in ("detail", "known_divergence"):
        shown[column] = shown[column].fillna("").map(escape)
    return shown.to_html(index=False, escape=False, na_rep="-", float_format="{:.4g}".format)


def _worst(rows: pd.DataFrame) -> pd.DataFrame:
    """Per op, check and dtype, the check of the candidate's that used most of its tolerance."""
    measured = rows[judges_candidate(rows) & rows["max_ulp"].notna()]
    return (measured.sort_values("budget_used", ascending=False, kind="stable")
            .drop_duplicates(["op", "check", "dtype"]).sort_values(["op", "check", "dtype"]))


def _misuses(rows: pd.DataFrame) -> str:
    """Per misuse: what it is, the correct call, and the largest divergence found with its input."""
    if rows.empty:
        return ""
    from tfparity.misusedb import BY_NAME, DIVERGING  # the catalogue's texts

    parts = [("<h2>Misuses</h2><p>Formulas written instead of the TF op. Each must diverge on its "
              "diverging inputs and coincide under its stated condition; red: it did not.</p><table>"
              "<tr><th>misuse</th><th>what it computes instead</th><th>correct call</th><th>cases</th>"
              "<th>largest divergence (abs / rel, non-finite)</th><th>the input that shows it</th></tr>")]
    for name, group in rows.groupby("op"):
        misuse = BY_NAME[name]
        diverging = group[group["regime"] == DIVERGING]
        worst = diverging.sort_values(["special_mismatch", "max_abs_err"], ascending=False).head(1)
        shade = " style='background:#f8d7da'" if not group["passed"].astype(bool).all() else ""
        largest = (f"{worst['max_abs_err'].iloc[0]:.4g} / {worst['max_rel_err'].iloc[0]:.4g}, "
                   f"{int(worst['special_mismatch'].iloc[0])} nan/inf" if len(worst) else "-")
        shown = f"<code>{escape(worst['replay'].iloc[0])}</code>" if len(worst) else "-"
        parts.append(f"<tr{shade}><td>{escape(name)}<br><small>{escape(misuse.source)}</small></td>"
                     f"<td>{escape(misuse.what)}</td><td><code>{escape(misuse.correct)}</code></td>"
                     f"<td>{len(diverging)} diverging, {len(group) - len(diverging)} coinciding, "
                     f"{int((~group['passed'].astype(bool)).sum())} wrong</td><td>{largest}</td><td>{shown}</td></tr>")
    return "".join(parts) + "</table>"


def _plots(rows: pd.DataFrame) -> str:
    rows = rows[rows["check"] != MISUSE]
    plots = [histogram.svg(f"{op} {dtype}", group) for (op, dtype), group in rows.groupby(["op", "dtype"])]
    return f"<div class='plots'>{''.join(plots)}</div>"
