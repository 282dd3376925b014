"""The reports, the recording behind them, the gate and the command line, end to end.

Small real runs (one or two ops, one dtype) go through `python -m reports run`, the same path as
`tfparity run`; the gate's failure modes are then provoked by editing copies of their output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reports import cli, output, progress, recording
from reports.rows import COLUMNS
from tfparity.families import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--ops", "sigmoid", "sigmoid_cross_entropy_with_logits", "--dtypes", "float32"]


def python(*args: str, pythonpath: Path | None = None, cwd: Path = ROOT, timeout: int = 600,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` with the project (and `pythonpath`, first) importable, and `env` set."""
    env = os.environ | (env or {}) | {"PYTHONPATH": os.pathsep.join(filter(None, [str(pythonpath or ""), str(ROOT)]))}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def tfparity(*args: str, pythonpath: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return python("-m", "reports", *args, pythonpath=pythonpath, env=env)


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parallel")
    done = tfparity("run", *SMALL, "-n", "2", "--out", str(out), "--progress", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    (out / "stdout.txt").write_text(done.stdout)
    return out


@pytest.fixture
def baseline(parallel_run, tmp_path) -> Path:
    path = tmp_path / "baseline.csv"
    assert cli.main(["baseline", str(parallel_run), "--out", str(path)]) == 0
    return path


@pytest.fixture
def edited(parallel_run, tmp_path) -> Path:
    """A copy of the run's report folder for a test to damage."""
    copy = tmp_path / "run"
    shutil.copytree(parallel_run, copy)
    return copy


def test_report_files(parallel_run):
    cases = output.load_cases(parallel_run)
    sheet = pd.read_csv(parallel_run / "cases.csv")
    summary = pd.read_csv(parallel_run / "summary.csv")
    assert list(sheet.columns) == [c for c in COLUMNS if c not in output.SHEET_OMITS] and len(sheet) == len(cases)
    assert not (parallel_run / output.ROWS).exists(), "a complete run's per-process rows are removed"
    run = json.loads((parallel_run / "run.json").read_text())
    page = (parallel_run / "report.html").read_text()
    assert set(COLUMNS) <= set(cases.columns) and len(cases) == run["rows"] > 0
    assert set(cases["check"]) == {"value", "vjp_x", "vjp_logits", "vjp_labels", "error"}
    assert not cases.duplicated(["case_id", "check"]).any()
    assert summary["cases"].sum() == len(cases)
    assert run["status"] == "complete" and run["environment"]["tensorflow"].startswith("2.")
    assert page.count("<svg") == 3 and "PASS" in page and run["environment"]["cpu"] in page  # the grid, 2 histograms
    fingerprint = run["backend"]["fingerprint"]
    assert run["environment"]["backend"] == fingerprint and fingerprint in page and run["environment"]["cpu_flags"] in page
    assert set(summary["backend"]) == {fingerprint} == set(cases["backend"])
    assert set(summary["cpu_flags"]) == {run["environment"]["cpu_flags"]}
    assert summary["worst_budget"].max() <= 1.0
    assert run["compile_work"]["compiles"] == 0 and "TF traced and compiled nothing (eager)" in page
    assert not any(tag in page for tag in ("<script", "<link", "src=", "url(")), "the page must be self-contained"


def test_a_run_prints_its_progress_against_the_cases_it_will_check(parallel_run):
    """Under xdist the controller reads the workers' rows: its lines count up to the run's cases,
    which the profile told it in advance."""
    run = json.loads((parallel_run / "run.json").read_text())
    counts = [(int(done.replace(",", "")), int(total.replace(",", ""))) for done, total in re.findall(
        r"tfparity: ([\d,]+) of about ([\d,]+) cases checked \(\d+%\), [\d.,]+/s, ", (parallel_run / "stdout.txt").read_text())]
    assert counts, "no progress line"
    assert {total for _, total in counts} == {run["cases"]}
    assert [done for done, _ in counts] == sorted(done for done, _ in counts) and counts[-1][0] <= run["cases"]


def test_parallel_and_serial_runs_record_the_same_cases(parallel_run, tmp_path):
    done = tfparity("run", *SMALL, "-n", "0", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    serial = output.load_cases(tmp_path)
    parallel = output.load_cases(parallel_run)
    assert len(serial) == len(parallel)
    assert set(zip(serial["case_id"], serial["check"], strict=True)) == set(zip(parallel["case_id"], parallel["check"], strict=True))


def test_gate_passes_against_its_own_baseline(parallel_run, baseline, capsys):
    assert cli.main(["gate", "--baseline", str(baseline), str(parallel_run)]) == 0
    assert "PASS" in capsys.readouterr().out


def _edit_summary(folder: Path, edit) -> None:
    summary = pd.read_csv(folder / "summary.csv", keep_default_na=False, na_values=[""])
    edit(summary).to_csv(folder / "summary.csv", index=False)


def _edit_run(folder: Path, **changes) -> None:
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps(run | changes))


def _worse_ulp(summary):
    summary.loc[summary["op"] == "sigmoid", "worst_ulp"] += 3
    return summary


@pytest.mark.parametrize("damage, reason", [
    (lambda f: _edit_summary(f, _worse_ulp), "worst ULP"),
    (lambda f: _edit_summary(f, lambda s: s.iloc[1:]), "missing from the run"),
    (lambda f: (_edit_summary(f, lambda s: s.iloc[:0]), _edit_run(f, cases=0, rows=0)), "zero cases"),
    (lambda f: _edit_run(f, status="incomplete", problems=["gw1-77.jsonl: the process stopped"]), "incomplete"),
    (lambda f: _edit_summary(f, lambda s: s.assign(cases=s["cases"] // 4)), "too few cases"),
    (lambda f: _edit_summary(f, lambda s: s.assign(failures=1)), "failing checks"),
], ids=["worse_ulp", "deleted_class", "empty_run", "incomplete_run", "too_few_cases", "new_failures"])
def test_gate_fails_on_a_regression(edited, baseline, damage, reason, capsys):
    damage(edited)
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and reason in out


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b.write_bytes(b"\x00\xff garbage,\n\"unterminated"), "corrupt"),
    (lambda b: b.write_text(b.read_text().replace("ulp_budget", "budget")), "no column ulp_budget"),
    (lambda b: b.unlink(), "missing"),
    (lambda b: b.with_name("baseline.env.json").write_text('{"schema": "other/9"}'), "schema"),
    (lambda b: b.with_name("baseline.env.json").write_text("{not json"), "corrupt"),
], ids=["garbage", "renamed_column", "missing", "other_schema", "corrupt_environment"])
def test_gate_refuses_an_unusable_baseline(parallel_run, baseline, damage, reason, capsys):
    damage(baseline)
    assert cli.main(["gate", "--baseline", str(baseline), str(parallel_run)]) == 2
    assert reason in capsys.readouterr().err


def test_gate_refuses_a_report_without_manifest(edited, baseline, capsys):
    (edited / "run.json").unlink()
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 2
    assert "no run.json" in capsys.readouterr().err


def test_gate_reports_improvements_and_environment_changes(parallel_run, baseline, capsys):
    table = pd.read_csv(baseline, keep_default_na=False)
    table.assign(ulp_budget=table["ulp_budget"] + 1).to_csv(baseline, index=False)
    env_file = baseline.with_name("baseline.env.json")
    meta = json.loads(env_file.read_text())
    meta["environment"]["tensorflow"] = "2.20.0"
    env_file.write_text(json.dumps(meta))
    assert cli.main(["gate", "--baseline", str(baseline), str(parallel_run)]) == 0
    out = capsys.readouterr().out
    assert "improved" in out and "ENVIRONMENT DIFFERS: tensorflow" in out


def _other_backend(folder: Path, kernels: dict | None = None, **answers: str) -> None:
    """Make the run's backend another machine's: some probe answers differ, so the fingerprint does."""
    run = json.loads((folder / "run.json").read_text())
    backend = run["backend"] | {"fingerprint": "cpu-eager-tf2.21.0-elsewhere",
                                "facts": run["backend"]["facts"] | answers}
    _edit_run(folder, backend=backend | ({"kernels": kernels} if kernels else {}))


def _raise(column: str, by: float):
    def edit(summary):
        summary.loc[summary["op"] == "sigmoid", column] += by
        return summary
    return edit


def test_gate_on_another_backend_compares_budget_shares_not_raw_ulps(edited, baseline, capsys):
    """A correct run elsewhere has other raw ULPs (TF's kernels differ) but the same classes and
    a similar share of each tolerance: it passes, and the gate says which comparison it made."""
    _other_backend(edited, **{"softmax.rank_6/float16": "AbortedError"})
    _edit_summary(edited, _raise("worst_ulp", 3))
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 0
    out = capsys.readouterr().out
    assert "comparison: portable" in out and "softmax.rank_6/float16" in out and "keep a strict one" in out


@pytest.mark.parametrize("damage, reason", [
    (_raise("worst_budget", 0.5), "of its tolerance"),
    (lambda s: s.iloc[1:], "missing from the run"),
    (lambda s: s.assign(failures=1), "failing checks"),
], ids=["budget_share", "deleted_class", "new_failures"])
def test_gate_on_another_backend_still_catches_regressions(edited, baseline, damage, reason, capsys):
    _other_backend(edited, onednn="off")
    _edit_summary(edited, damage)
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 1
    out = capsys.readouterr().out
    assert "comparison: portable" in out and reason in out


def test_gate_allows_more_spread_where_the_kernel_switched(edited, baseline, capsys):
    """TF's own spread between two kernels of an op is wider than across machines on one kernel."""
    run = json.loads((edited / "run.json").read_text())
    switched = {"sigmoid": dict.fromkeys(["float32"], "other_kernel")}
    _other_backend(edited, kernels=run["backend"]["kernels"] | switched)
    _edit_summary(edited, _raise("worst_budget", 0.3))
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 0, capsys.readouterr().out
    _edit_summary(edited, _raise("worst_budget", 0.4))
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 1
    assert "+0.6 across backends" in capsys.readouterr().out


def test_gate_refuses_a_run_without_a_backend(edited, baseline, capsys):
    _edit_run(edited, backend={})
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 2
    assert "no backend fingerprint" in capsys.readouterr().err


def test_gate_skips_an_unreadable_baseline_in_a_folder_and_says_so(parallel_run, tmp_path, capsys):
    folder = tmp_path / "baselines"
    assert cli.main(["baseline", str(parallel_run), "--out", str(folder)]) == 0
    (folder / "stale.csv").write_text("op,check\nsigmoid,value\n")
    assert cli.main(["gate", "--baseline", str(folder), str(parallel_run)]) == 0
    out = capsys.readouterr().out
    assert "comparison: strict" in out and "skipped stale.csv" in out
    for path in folder.glob("cpu-*"):
        path.unlink()
    assert cli.main(["gate", "--baseline", str(folder), str(parallel_run)]) == 2


def test_gate_picks_the_baseline_of_the_runs_backend_from_a_folder(parallel_run, edited, tmp_path, capsys):
    """Two kinds of machine, one baseline each: every run is held to its own, strictly."""
    folder = tmp_path / "baselines"
    _other_backend(edited, onednn="off")
    for report in (parallel_run, edited):
        assert cli.main(["baseline", str(report), "--out", str(folder)]) == 0
    assert len(list(folder.glob("*.csv"))) == 2
    for report in (parallel_run, edited):
        assert cli.main(["gate", "--baseline", str(folder), str(report)]) == 0
        assert "comparison: strict" in capsys.readouterr().out
    _edit_summary(edited, _raise("worst_ulp", 3))
    assert cli.main(["gate", "--baseline", str(folder), str(edited)]) == 1
    assert "elsewhere.csv" in capsys.readouterr().out


def test_gate_holds_a_candidates_run_to_that_candidates_baseline(parallel_run, edited, tmp_path, capsys):
    """Another candidate's answers are its own: from a folder, a run is never gated against
    another candidate's baseline of the same backend and profile, and each to its own strictly."""
    folder = tmp_path / "baselines"
    assert cli.main(["baseline", str(parallel_run), "--out", str(folder)]) == 0
    run = json.loads((edited / "run.json").read_text())
    _edit_run(edited, environment=run["environment"] | {"candidate": "jax"})
    assert cli.main(["gate", "--baseline", str(folder), str(edited)]) == 2
    assert "no baseline of profile ci and candidate jax" in capsys.readouterr().err
    assert cli.main(["baseline", str(edited), "--out", str(folder)]) == 0
    assert sorted(p.name.removeprefix(run["backend"]["fingerprint"]) for p in folder.glob("*.csv")) == [".csv", ".jax.csv"]
    for report in (parallel_run, edited):
        assert cli.main(["gate", "--baseline", str(folder), str(report)]) == 0
        assert "comparison: strict" in capsys.readouterr().out


def test_gate_flags_a_divergence_that_newly_fires_on_the_same_backend(edited, baseline, capsys):
    _edit_summary(edited, lambda s: s.assign(known_divergences="flush_to_zero"))
    assert cli.main(["gate", "--baseline", str(baseline), str(edited)]) == 1
    assert "known divergence flush_to_zero fired" in capsys.readouterr().out


def test_replay_reproduces_a_failing_case(tmp_path):
    """A candidate off by one part in 10^6 fails; replaying a failing row shows both sides and the failure."""
    (tmp_path / "off_by_a_little.py").write_text(
        "from impl import *\nimport impl\n\ndef sigmoid(x):\n    return impl.sigmoid(x) * x.dtype.type(1 + 1e-6)\n")
    out = tmp_path / "report"
    done = tfparity("run", "--profile", "quick", "--ops", "sigmoid", "--dtypes", "float64", "--candidate",
                    "off_by_a_little", "-n", "0", "--out", str(out), pythonpath=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    cases = output.load_cases(out)
    failing = cases[~cases["passed"] & (cases["check"] == "value")].iloc[0]
    shown = tfparity("replay", failing["case_id"], "--report", str(out), pythonpath=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "off_by_a_little ->" in shown.stdout and "tf ->" in shown.stdout
    assert f"mismatches={failing['mismatches']}" in shown.stdout
    assert "identical to the spec's" in shown.stdout


CRASHING_TESTS = '''
import os
import re
from tfparity.check import run_case
from tfparity.inputs import Case
from tfparity.opdb import BY_NAME

def test_records_then_crashes(recorder):
    recorder.add(run_case(BY_NAME["sigmoid"], Case("sigmoid", "float32", (3,))), source="sweep")
    os._exit(1)

def test_survives(recorder):
    recorder.add(run_case(BY_NAME["sigmoid"], Case("sigmoid", "float32", (4,))), source="sweep")
'''


def test_a_crashed_worker_keeps_its_rows_and_marks_the_run_incomplete(tmp_path):
    (tmp_path / "test_crash.py").write_text(CRASHING_TESTS)
    out = tmp_path / "report"
    python("-m", "pytest", "-c", os.devnull, "--rootdir", str(tmp_path), "-p", "reports.plugin", "-n", "2",
           f"--report-dir={out}", str(tmp_path / "test_crash.py"), cwd=tmp_path, timeout=300)
    run = json.loads((out / "run.json").read_text())
    cases = output.load_cases(out)
    assert run["status"] == "incomplete"
    assert any("crashed" in p for p in run["problems"]), run["problems"]
    assert set(cases["shape"]) == {"3", "4"}, "the crashed worker's rows survive"
    assert list((out / output.ROWS).glob("*.jsonl")), "an incomplete run keeps its per-process rows"
    assert "INCOMPLETE" in (out / "report.html").read_text()


def test_merge_flags_torn_lines_and_unfinished_files(tmp_path):
    (tmp_path / "gw0-1.jsonl").write_text('{"event": "start"}\n{"event": "row", "case_id": "a", "check": "value", "op": "x", "dtype": "float32", "source": "sweep", "passed": true}\n{"event": "ro')
    (tmp_path / "gw1-2.jsonl").write_text('{"event": "start"}\n{"event": "end", "exitstatus": 0}\n')
    merged = recording.merge(tmp_path)
    assert len(merged.rows) == 1 and merged.processes == 2
    assert any("torn line" in p for p in merged.problems)
    assert any("gw0-1.jsonl" in p and "stopped before the end" in p for p in merged.problems)
    assert not any("gw1-2" in p for p in merged.problems)


def test_merge_sums_the_processes_compile_work(tmp_path):
    """TF's counts and the candidate's (where a process gave them) summed over the processes; an
    older process's record without `programs` counts none."""
    for name, work in (("gw0-1", '"traces": 3, "compiles": 40, "releases": 0, "candidate_compiles": 9'),
                       ("gw1-2", '"traces": 2, "compiles": 7, "programs": 6, "releases": 1')):
        (tmp_path / f"{name}.jsonl").write_text(f'{{"event": "start"}}\n{{"event": "work", {work}}}\n{{"event": "end", "exitstatus": 0}}\n')
    assert recording.merge(tmp_path).work == {"traces": 5, "compiles": 47, "programs": 6, "releases": 1,
                                              "candidate_compiles": 9}


@pytest.mark.parametrize("source, expected", [
    (None, "import no_such_candidate failed: ModuleNotFoundError"),
    ("from impl import *\ndel softmax_vjp\n", "no function softmax_vjp(cotangent, logits, axis)"),
    ("from impl import *\n\ndef softmax(x, axis=-1):\n    return x\n", "softmax(x, axis=-1) cannot be called as softmax(logits, axis)"),
])
def test_run_refuses_a_candidate_it_cannot_call_before_any_case(source, expected, tmp_path):
    name = "no_such_candidate" if source is None else "broken_candidate"
    if source is not None:
        (tmp_path / f"{name}.py").write_text(source)
    out = tmp_path / "report"
    done = tfparity("run", "--ops", "softmax", "--candidate", name, "--out", str(out), pythonpath=tmp_path)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "tfparity: -m pytest" not in done.stdout and not out.exists(), "no case ran"


@pytest.mark.parametrize("family", FAMILIES)
def test_families_select_their_ops_and_misuses(family):
    from tfparity.misusedb import MISUSES
    from tfparity.opdb import RECORDS

    done = python("-m", "pytest", *map(str, cli.PARITY_TESTS), "-c", str(cli.SUITE / "pytest.ini"), f"--rootdir={ROOT}",
                  "--collect-only", "-q", "-p", "no:cacheprovider", f"--families={family}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    named = {s.name: s.family for s in (*RECORDS, *MISUSES)}
    # every test collected names a subject of the family (ids hold the record's or misuse's name)
    owners = [{named[n] for n in named if f"[{n}-" in i or f"-{n}-" in i or f"[{n}]" in i} for i in ids]
    assert ids and all(owner == {family} for owner in owners), [i for i, o in zip(ids, owners, strict=True) if o != {family}][:5]
    assert {n for n, f in named.items() if f == family} <= {n for i in ids for n in named if n in i}


def test_expected_cases_split_by_family():
    from tfparity.shards import Shard

    whole = progress.expected_cases("ci", None, None, Shard(1, 1))
    assert sum(progress.expected_cases("ci", None, None, Shard(1, 1), (f,)) for f in FAMILIES) == whole


def test_a_candidate_is_asked_only_for_the_families_selected(tmp_path, monkeypatch):
    """A tf.nn port without Keras's functions (and no FAMILIES) is refused for a whole run, and
    accepted for `--families tf.nn`."""
    (tmp_path / "tfnn_port.py").write_text("from impl import *\ndel categorical_crossentropy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert any("categorical_crossentropy" in p for p in cli._candidate_problems("tfnn_port", None))
    assert cli._candidate_problems("tfnn_port", None, ["tf.nn"]) == []
    assert any("categorical_crossentropy" in p for p in cli._candidate_problems("tfnn_port", None, ["keras"]))


def test_each_op_and_dtype_fuzzes_right_after_its_sweep():
    """A compiling mode's fuzz reuses its sweep's programs: the suite runs them side by side, the
    other tests where they were collected."""
    from types import SimpleNamespace

    from reports.plugin import _paired

    def item(test: str, name: str | None = None, dtype: str = "float32") -> SimpleNamespace:
        params = {"record": SimpleNamespace(name=name), "dtype": dtype} if name else {}
        return SimpleNamespace(originalname=test, callspec=SimpleNamespace(params=params), label=f"{test} {name} {dtype}")

    collected = [item("test_error_input"), item("test_sweep", "a"), item("test_sweep", "a", "float16"),
                 item("test_sweep", "b"), item("test_fuzz", "a"), item("test_fuzz", "a", "float16"),
                 item("test_fuzz", "b"), item("test_misuse")]
    assert [i.label for i in _paired(collected)] == [collected[i].label for i in (0, 1, 4, 2, 5, 3, 6, 7)]
