"""What a reader sees first: the environment's oneDNN entry (from the probe, on any CPU), the
headline and picture that judge the candidate (checks on TF's account set apart), the summary
page's columns, and the progress lines of a long run. Built from fed probe answers and synthetic
rows, so paths this machine cannot show are checked too."""

from __future__ import annotations

import json
import re
from html import escape

import numpy as np
import pandas as pd
import pytest

from reports import environment, heatmap, html, output, progress
from reports.recording import Merged
from reports.rows import COLUMNS
from reports.summary import summarize
from tests.test_backend import fed
from tfparity.backend import ONEDNN

ON = fed({"bfloat16": ONEDNN, "float32": ONEDNN})  # a CPU where TF turns oneDNN on
OFF = fed({})                                      # a CPU where it stays off (AVX2 only), or =0


def machines(*backends) -> dict[str, dict]:
    return {b.fingerprint: output.machine(b.record(), {"cpu": "a CPU", "cpu_flags": "avx2"}) for b in backends}


@pytest.mark.parametrize("backend, state", [(ON, "on"), (OFF, "off")])
def test_an_unset_onednn_variable_is_described_by_the_probe(backend, state, tmp_path):
    """The page and run.json say what the probe found, never a default assumed on."""
    env = {"tensorflow": "2.21.0", environment.ONEDNN_VARIABLE: environment.UNSET, "cpu": "a CPU"}
    merged = Merged(pd.DataFrame(columns=list(COLUMNS)), 1, [], backend.record())
    run = output.write(tmp_path, merged, env, 0, False)
    written = json.loads((tmp_path / "run.json").read_text())["environment"]
    assert written == run["environment"]
    assert written[environment.ONEDNN_VARIABLE] == f"unset (TF's default on this CPU: {state}, per the probe)"
    assert written["oneDNN"].split()[0] == state
    page = (tmp_path / "report.html").read_text()
    assert escape(f"TF's default on this CPU: {state}") in page and "unset: on" not in page


@pytest.mark.parametrize("value", ["0", "1"])
def test_a_set_onednn_variable_is_kept_as_set_beside_the_probes_answer(value):
    """The gate compares the variable with committed baselines ("0", "1"): a set value stays as it is."""
    described = environment.with_onednn({environment.ONEDNN_VARIABLE: value}, machines(OFF))
    assert described[environment.ONEDNN_VARIABLE] == value and described["oneDNN"].startswith("off")


def test_the_onednn_entry_of_several_machines_names_each_and_of_none_says_so():
    both = environment.with_onednn({environment.ONEDNN_VARIABLE: environment.UNSET}, machines(ON, OFF))
    assert f"{ON.fingerprint}: on" in both["oneDNN"] and f"{OFF.fingerprint}: off" in both["oneDNN"]
    none = environment.with_onednn({environment.ONEDNN_VARIABLE: environment.UNSET}, {})
    assert "not probed" in none["oneDNN"] and "on," not in none[environment.ONEDNN_VARIABLE]


def test_collect_records_an_unset_variable_as_unset(monkeypatch):
    monkeypatch.delenv(environment.ONEDNN_VARIABLE, raising=False)
    assert environment.collect("ci", "derandomized", "impl")[environment.ONEDNN_VARIABLE] == environment.UNSET


def rows(*specs: dict) -> pd.DataFrame:
    """Rows with every column; each spec overrides a passing float32 softmax value check."""
    base = {c: None for c in COLUMNS} | {
        "op": "softmax", "check": "value", "dtype": "float32", "label_kind": "none", "shape": "3", "axis": "default",
        "regime": "ordinary", "source": "sweep", "verdict": "pass", "passed": True, "known_divergence": "",
        "closer": "", "backend": "cpu-eager-x", "detail": "", "spec": "Case(...)", "max_ulp": 1.0, "max_rel_err": 1e-7,
        "max_abs_err": 1e-7, "rtol": 2.4e-7, "atol": 1.2e-7, "mismatches": 0, "special_mismatch": 0, "flushed": 0,
        "abs_eps_needed": 0.0, "tf_abs_eps_needed": 0.0}
    frame = pd.DataFrame([base | {"case_id": f"c{i}", "replay": f"tfparity replay c{i}"} | s
                          for i, s in enumerate(specs)])
    return frame.astype({"budget_used": float, "max_ulp": float, "passed": bool})


# A passing run where TF is in error at three checks (nan where the exact answer is finite: an
# unbounded share), a known divergence explains one, and the candidate's own worst is 0.4.
TF_WRONG = rows(
    {"budget_used": 0.25, "closer": "candidate"},
    {"budget_used": 0.4, "dtype": "bfloat16", "op": "weighted_cross_entropy_with_logits", "check": "vjp_labels"},
    *[{"budget_used": np.inf, "verdict": "tf_error", "closer": "candidate", "dtype": "bfloat16",
       "op": "weighted_cross_entropy_with_logits", "check": "vjp_labels", "max_ulp": 4.4e18}] * 3,
    {"budget_used": 3.0, "known_divergence": "flush_to_zero", "closer": "tf"},
)


def run_of(frame: pd.DataFrame) -> dict:
    return {"status": "complete", "problems": [], "cases": frame["case_id"].nunique(), "rows": len(frame),
            "environment": {"cpu": "a CPU"}, "machines": {}}


def first_screen(page: str) -> str:
    return page.split("<h2>Environment</h2>")[0]


def test_a_passing_runs_first_screen_shows_no_unbounded_figure_and_counts_tf_apart():
    summary = summarize(TF_WRONG)
    top = first_screen(html.render(TF_WRONG, summary, run_of(TF_WRONG)))
    assert "PASS" in top
    assert not re.search(r"\binf\b|\bnan\b|unbounded", top, re.IGNORECASE)
    assert "worst uses 0.40 of its tolerance" in top
    assert "3 checks where TF is the side in error, 1 where a known divergence" in top
    assert "<svg" in top


def test_the_first_screen_says_how_much_of_its_own_bounds_a_candidate_spent():
    """Where a candidate's bounded divergences excused it, its share of the op's tolerance says
    nothing (those elements are set apart): the headline gives the share of their bounds."""
    excused = rows({"budget_used": 0.0, "known_divergence": "cand_rounding", "bound_used": 0.3},
                   {"budget_used": 0.0, "known_divergence": "cand_rounding", "bound_used": 0.12}, {"budget_used": 0.2})
    top = first_screen(html.render(excused, summarize(excused), run_of(excused)))
    assert "excused it (2 checks), it spent at most 0.30 of their bounds" in top
    assert "of their bounds" not in first_screen(html.render(TF_WRONG, summarize(TF_WRONG), run_of(TF_WRONG)))


def test_the_summary_keeps_the_gates_columns_and_adds_the_candidates_share():
    """`worst_budget` (the gate's input) still covers every check; `candidate_budget` leaves out the
    checks set apart; the raw columns stay in the CSV and leave the page."""
    summary = summarize(TF_WRONG).set_index(["op", "dtype"])
    weighted = summary.loc[("weighted_cross_entropy_with_logits", "bfloat16")]
    assert weighted["worst_budget"] == np.inf and weighted["candidate_budget"] == 0.4
    assert weighted["set_apart"] == 3 and weighted["tf_errors"] == 3 and weighted["worst_ulp"] == 4.4e18
    softmax = summary.loc[("softmax", "float32")]
    assert softmax["worst_budget"] == 3.0 and softmax["candidate_budget"] == 0.25 and softmax["set_apart"] == 1
    page = html.render(TF_WRONG, summary.reset_index(), run_of(TF_WRONG))
    summary_section = page.split("<h2>Summary</h2>")[1].split("<h2>")[0]
    assert "worst_ulp" not in summary_section and "4.4e+18" not in summary_section


def test_a_failing_check_shows_red_and_says_fail():
    failing = rows({"budget_used": 0.3}, {"budget_used": np.inf, "verdict": "mismatch", "passed": False,
                                          "dtype": "float64", "special_mismatch": 1})
    summary = summarize(failing)
    top = first_screen(html.render(failing, summary, run_of(failing)))
    assert "FAIL" in top and "unbounded (a failing check)" in top
    picture = heatmap.svg(summary)
    fills = dict(re.findall(r'<g><title>softmax (\w+):.*?fill="(#[0-9a-f]{6})"', picture))
    red, green, blue = (int(fills["float64"][k:k + 2], 16) for k in (1, 3, 5))
    assert red > 150 and green < 100 and blue < 100, fills
    assert fills["float32"] != fills["float64"]


def test_the_picture_has_a_cell_per_op_and_dtype_deeper_with_the_share_and_marks_who_is_nearer():
    frame = rows({"budget_used": 0.1, "closer": "candidate"}, {"budget_used": 0.9, "dtype": "float64", "closer": "tf"},
                 {"budget_used": 0.9, "dtype": "float64", "closer": "tf"}, {"budget_used": 0.5, "op": "sigmoid"})
    picture = heatmap.svg(summarize(frame))
    cells = re.findall(r'<g><title>(\w+) (\w+):.*?fill="#([0-9a-f]{6})"', picture)
    assert {(op, dtype) for op, dtype, _ in cells} == {("softmax", "float32"), ("softmax", "float64"),
                                                        ("sigmoid", "float32")}
    lightness = {(op, dtype): sum(int(c[k:k + 2], 16) for k in (0, 2, 4)) for op, dtype, c in cells}
    assert lightness[("softmax", "float32")] > lightness[("sigmoid", "float32")] > lightness[("softmax", "float64")]
    assert picture.count("not run") == 1  # sigmoid float64
    assert "cand \u25b2 1:0" in picture and "TF \u25bc 0:2" in picture and "even = 0:0" in picture
    assert "<script" not in picture


def test_progress_counts_cases_across_workers_files_as_they_grow(tmp_path):
    now = [0.0]
    meter = progress.Progress(tmp_path, expected=10, every=10, clock=lambda: now[0])
    a, b = tmp_path / "gw0-1.jsonl", tmp_path / "gw1-2.jsonl"

    def append(path, *events):
        with path.open("a") as f:
            f.write("".join(json.dumps(e) + "\n" for e in events))

    append(a, {"event": "start"}, {"event": "row", "case_id": "x", "check": "value"},
           {"event": "row", "case_id": "x", "check": "vjp_x"})
    append(b, {"event": "row", "case_id": "y", "check": "value"})
    with b.open("a") as f:
        f.write('{"event": "row", "case_id": "z"')  # a line still being written
    now[0] = 5.0
    assert meter.line() is None  # not due yet
    now[0] = 10.0
    assert meter.line() == "tfparity: 2 of about 10 cases checked (20%), rate not known yet"  # TF was starting
    with b.open("a") as f:
        f.write(', "check": "value"}\n')
    append(a, *[{"event": "row", "case_id": f"n{i}", "check": "value"} for i in range(5)])
    now[0] = 20.0
    assert meter.line() == "tfparity: 8 of about 10 cases checked (80%), 0.6/s, about 3 s left"
    assert meter.done == 8


def test_progress_without_a_total_says_so():
    assert (progress.describe(12345, 10.0, None, 1234.0)
            == "tfparity: 12,345 cases checked, 1,234/s (the total is not known in advance)")
    assert "no case checked yet" in progress.describe(0, 12.0, 100, None)
    assert progress.describe(90_000, 60.0, 360_000, 1500.0).endswith("(25%), 1,500/s, about 3 min left")


def test_a_keras_records_label_is_its_loss_then_its_variant_within_the_label_column():
    op = "binary_focal_crossentropy:probabilities_balanced"
    picture = heatmap.svg(summarize(rows({"budget_used": 0.2, "op": op})))
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" font-size="12" text-anchor="end">([^<]*)</text>', picture)
    assert labels == ["binary_focal_crossentropy", ":probabilities_balanced"]
    assert max(map(len, labels)) * 12 * 0.6 < heatmap._LABEL_W - 8  # about 0.6 em a character
