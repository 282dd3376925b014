"""Sharded runs and merged reports: the partition, the merge's refusals, and end to end (marked
`e2e`, run by CI) the quick profile as three shards against the unsharded run, and two backends of
this machine merged into one report with the table of TF against TF across them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from reports import cli, output
from tests.test_reports import tfparity
from tfparity.inputs import Case, case_id
from tfparity.opdb import RECORDS
from tfparity.shards import Shard
from tfparity.sweep import sweep

SMALL = ["--ops", "softmax", "--dtypes", "float32", "-n", "1"]
OFF = {"TF_ENABLE_ONEDNN_OPTS": "0"}


def test_every_case_is_in_exactly_one_shard():
    cases = [case for record in RECORDS[:2] for case in sweep(record, "float32")]
    owners = [[k for k in (1, 2, 3) if Shard(k, 3).holds(case)] for case in cases]
    assert all(len(owner) == 1 for owner in owners)
    sizes = [sum(owner == [k] for owner in owners) for k in (1, 2, 3)]
    assert min(sizes) > len(cases) / 4, sizes  # by hash: roughly even


def test_a_case_belongs_to_the_shard_its_id_names_on_every_machine():
    case = Case("softmax", "float32", (2, 3), seed=7)
    assert case_id(case) == "229792ad7165"  # a hash of the spec alone: no machine, process or run in it
    assert [Shard(k, 4).holds(case) for k in (1, 2, 3, 4)].count(True) == 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="shard"):
        Shard.parse(text)


def test_run_refuses_a_bad_shard_and_a_thorough_shard_without_seed(capsys):
    assert cli.main(["run", "--shard", "3/2"]) == 2
    assert cli.main(["run", "--profile", "thorough", "--shard", "1/2"]) == 2
    err = capsys.readouterr().err
    assert "1 <= K <= N" in err and "needs --seed" in err


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> dict[str, Path]:
    """Softmax f32 in two shards, and whole, with oneDNN off."""
    out = tmp_path_factory.mktemp("halves")
    for name, shard in (("1", "1/2"), ("2", "2/2"), ("whole", "1/1")):
        done = tfparity("run", *SMALL, "--shard", shard, "--out", str(out / name), env=OFF)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {name: out / name for name in ("1", "2", "whole")}


def _merge(*folders: Path, out: Path) -> tuple[int, str]:
    done = tfparity("merge", *map(str, folders), "--out", str(out))
    return done.returncode, done.stdout + done.stderr


def test_two_shards_merge_into_the_whole_run(halves, tmp_path):
    code, text = _merge(halves["1"], halves["2"], out=tmp_path / "merged")
    assert code == 0, text
    _same_run(halves["whole"], tmp_path / "merged")
    assert json.loads((halves["1"] / "run.json").read_text())["environment"]["shard"] == "1/2"


def _copy(folder: Path, tmp_path: Path, name: str, **environment) -> Path:
    copy = tmp_path / name
    shutil.copytree(folder, copy)
    run = json.loads((copy / "run.json").read_text())
    run["environment"] |= environment
    (copy / "run.json").write_text(json.dumps(run))
    return copy


@pytest.mark.parametrize("problem, change, message", [
    ("a missing shard", None, "missing shards: 2/2"),
    ("a shard twice", "same", "overlapping shards: 1/2"),
    ("another split", {"shard": "2/3"}, "shards of different splits"),
    ("another harness", {"harness": "0.0.0+other"}, "differ in harness"),
    ("another TF", {"tensorflow": "2.20.0"}, "differ in tensorflow"),
    ("another seed", {"seed": "12"}, "differ in seed"),
    ("another profile", {"profile": "thorough"}, "differ in profile"),
    ("another selection", {"selection": {"ops": "sigmoid", "dtypes": "all"}}, "differ in selection"),
])
def test_merge_refuses(halves, tmp_path, problem, change, message):
    second = {None: [], "same": [halves["1"]]}.get(change) if not isinstance(change, dict) else [
        _copy(halves["2"], tmp_path, "changed", **change)]
    code, text = _merge(halves["1"], *second, out=tmp_path / "merged")
    assert code == 2 and message in text, (problem, text)
    assert not (tmp_path / "merged" / "run.json").exists()


def test_merge_refuses_an_incomplete_shard(halves, tmp_path):
    broken = _copy(halves["2"], tmp_path, "broken")
    run = json.loads((broken / "run.json").read_text())
    (broken / "run.json").write_text(json.dumps(run | {"status": "incomplete", "problems": ["worker gw1 crashed"]}))
    code, text = _merge(halves["1"], broken, out=tmp_path / "merged")
    assert code == 2 and "incomplete run (worker gw1 crashed)" in text


def _same_run(whole: Path, merged: Path) -> None:
    """The same cases, verdicts, metrics and summary (the replay commands name their folders)."""
    a, b = (output.load_cases(f).drop(columns=["replay"]) for f in (whole, merged))
    assert len(a) == len(b) and set(a["case_id"]) == set(b["case_id"])
    key = ["case_id", "check"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(*(output.load(f)[1] for f in (whole, merged)))
    runs = [json.loads((f / "run.json").read_text()) for f in (whole, merged)]
    whole_run, merged_run = ((r["status"], r["cases"], r["rows"], r["failures"]) for r in runs)
    assert whole_run == merged_run and whole_run[0] == "complete"


@pytest.mark.e2e
def test_the_quick_profile_in_three_shards_is_the_unsharded_run(tmp_path):
    """Every op of both families, fuzz, sweep, errors and misuses: quick's selection of them in two
    dtypes, a narrow and a wide one (a ci run here takes minutes; sharding is by case id, the same
    for every profile and dtype)."""
    for name, shard in (("1", "1/3"), ("2", "2/3"), ("3", "3/3"), ("whole", "1/1")):
        done = tfparity("run", "--profile", "quick", "--dtypes", "bfloat16", "float32", "--shard", shard,
                        "--out", str(tmp_path / name), env=OFF)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    code, text = _merge(*(tmp_path / k for k in "123"), out=tmp_path / "merged")
    assert code == 0, text
    _same_run(tmp_path / "whole", tmp_path / "merged")


@pytest.mark.e2e
def test_two_backends_merge_with_tf_against_tf(halves, tmp_path):
    for name, shard in (("1", "1/2"), ("2", "2/2")):
        done = tfparity("run", *SMALL, "--shard", shard, "--out", str(tmp_path / name), env={"TF_ENABLE_ONEDNN_OPTS": "1"})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    code, text = _merge(halves["1"], halves["2"], tmp_path / "1", tmp_path / "2", out=tmp_path / "merged")
    assert code == 0, text
    run, summary = output.load(tmp_path / "merged")
    assert len(run["machines"]) == 2 and set(summary["backend"]) == set(run["machines"])
    across = pd.read_csv(tmp_path / "merged" / output.ACROSS)
    # sides a and b are the fingerprints in sorted order (hashes): which is oneDNN's is read from the run
    kernel = {side: run["machines"][m]["backend"]["kernels"]["softmax"]["float32"]
              for side, m in zip("ab", sorted(run["machines"]), strict=True)}
    assert sorted(kernel.values()) == ["eigen", "onednn"], kernel
    onednn, eigen = sorted(kernel, key=lambda side: kernel[side] != "onednn")
    # f32 softmax runs on Eigen with oneDNN off and on oneDNN with it on: TF answers differently
    value = across[(across["kind"] == "values") & (across["check"] == "value")]
    assert len(value) > 100 and (value["named"] == f"softmax float32: {kernel['a']} on a, {kernel['b']} on b").all(), \
        across["named"].unique()
    assert (value["ulp_apart_high"] >= value["ulp_apart_low"]).all() and (value["ulp_apart_low"] > 0).any()
    # rank 6 aborts on oneDNN (known divergence onednn_softmax_rank_limit): named as what TF raised
    said = {eigen: "answered", onednn: "raised Aborted (AbortedError)"}
    assert across["named"].str.contains(f"TF {said['a']} on a, {said['b']} on b", regex=False).any(), across["named"].unique()
    assert "TF against TF across machines" in (tmp_path / "merged" / "report.html").read_text()
    gate = tfparity("gate", "--baseline", str(tmp_path / "none.csv"), str(tmp_path / "merged"))
    assert gate.returncode == 2  # judged per fingerprint: each needs its baseline



def test_the_ci_matrix_template_runs_every_shard_on_two_runners_then_merges_and_gates():
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((Path(__file__).resolve().parents[1] / "templates" / "github-actions.yml").read_text())
    shards = int(flow["env"]["SHARDS"])
    matrix = flow["jobs"]["shard"]["strategy"]["matrix"]
    assert matrix["shard"] == list(range(1, shards + 1)) and len(set(matrix["runner"])) == 2
    runs = [step.get("run", "") for step in flow["jobs"]["shard"]["steps"]]
    assert any("tfparity run" in r and '--shard "${{ matrix.shard }}/$SHARDS"' in r and '--seed "$SEED"' in r for r in runs)
    merge = flow["jobs"]["merge"]
    assert merge["needs"] == "shard"
    merged = " ".join(step.get("run", "") for step in merge["steps"])
    assert "tfparity merge" in merged and "tfparity gate --baseline" in merged
