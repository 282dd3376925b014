"""TF's execution modes: the oracle in eager, graph and XLA, errors compared by meaning, and
(marked `e2e`) the three modes run and merged into one table of TF against TF."""

from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oracle
from oracle import modes
from reports import across, cli, output
from tests.test_reports import tfparity
from tfparity.backend import current
from tfparity.check import Outcome, judge, meaning
from tfparity.inputs import Case
from tfparity.opdb import SOFTMAX_CE


@pytest.fixture(params=["graph", "xla"])
def traced(request, monkeypatch) -> str:
    """The oracle in a mode that traces a graph (restored afterwards)."""
    monkeypatch.setenv(modes.ENV, request.param)
    return request.param


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv(modes.ENV, "jit")
    with pytest.raises(ValueError, match="modes are eager, graph, xla"):
        modes.current()


def test_one_trace_per_signature_not_per_case(traced):
    """Shapes of one rank share a trace; another rank, dtype or axis is another signature. The
    compile work the report shows counts them: XLA compiles once per shape, a graph never."""
    before, work = len(modes._FUNCTIONS), modes.work()
    for n in range(2, 7):  # shapes no other test compiles: a process's compiles outlive its tests
        oracle.softmax(np.ones((n, n + 17), np.float32))
    assert len(modes._FUNCTIONS) - before <= 1
    oracle.softmax(np.ones((5, 19), np.float32), axis=0)
    oracle.softmax(np.ones(23, np.float64))
    assert len(modes._FUNCTIONS) - before <= 3
    traces = [f.experimental_get_tracing_count() for f in modes._FUNCTIONS.values() if not isinstance(f, Exception)]
    assert max(traces) == 1, traces
    done = {k: modes.work()[k] - work[k] for k in work}
    assert done["traces"] == len(modes._FUNCTIONS) - before
    assert done["compiles"] == (7 if traced == "xla" else 0), done  # 5 shapes, then 2 signatures of one shape each
    assert done["programs"] == done["compiles"], done  # each a program this process had not compiled


def test_a_signature_whose_trace_fails_is_traced_once(traced):
    """TF caches no failed trace: the signature's error is kept and raised again, never traced
    again, nor counted as a compile."""
    bodies = []

    def refuses(logits, axis):
        bodies.append(axis)
        raise ValueError(f"axis {axis} refused")

    work, frames = modes.work(), []
    for n in (3, 4, 5):
        with pytest.raises(ValueError, match="axis -2 refused") as raised:
            modes.call(refuses, logits=np.ones((2, n, 29), np.float32), axis=-2)
        frames.append(len(traceback.extract_tb(raised.value.__traceback__)))
    done = {k: modes.work()[k] - work[k] for k in work}
    assert len(bodies) == 1, bodies
    assert frames[1] == frames[2], frames  # the kept error's traceback does not grow with each raise
    assert (done["traces"], done["compiles"]) == (1, 0), done


def test_a_case_gets_the_same_graph_whatever_ran_before(traced):
    """A trace is keyed by dtype and rank alone, so a case's answer does not depend on history
    (tf.function's reduce_retracing would generalize to unknown rank after a few shapes)."""
    x = np.array([[-65.5, 30.9, 64.7, 70.1, -16.8]], np.float32)
    first = oracle.softmax_vjp(np.ones_like(x), logits=x)
    for shape in ((3,), (2, 2, 2), (4, 1)):
        oracle.softmax_vjp(np.ones(shape, np.float32), logits=np.ones(shape, np.float32))
    again = oracle.softmax_vjp(np.ones_like(x), logits=x)
    np.testing.assert_array_equal(first.value, again.value)
    np.testing.assert_array_equal(first["logits"], again["logits"])


def test_inputs_are_taken_as_tf_function_takes_them(traced):
    """NumPy values in a list are tensors (a float64 list stays float64, as eagerly); a Python
    int list is an int32 constant, refused as eagerly."""
    assert oracle.softmax([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    with pytest.raises(oracle.OracleError) as raised:
        oracle.softmax([1, 2])
    assert meaning(raised.value.tf_class) == "InvalidArgument"


def test_errors_raised_at_trace_mean_what_kernels_raise(traced):
    """Rank-0 softmax: a graph's shape check raises ValueError at trace, eager's Eigen kernel
    InvalidArgumentError: the same meaning."""
    with pytest.raises(oracle.OracleError) as raised:
        oracle.softmax(np.float64(1.0))
    assert raised.value.tf_class == "ValueError" and meaning("ValueError") == meaning("InvalidArgumentError")


def test_the_cotangent_is_drawn_for_the_shape_the_mode_gives(traced):
    """A VJP whose cotangent is a function of the output's shape, in a graph: drawn for TF's shape."""
    shapes = []
    grads = oracle.softmax_cross_entropy_with_logits_vjp(
        lambda shape: shapes.append(shape) or np.ones(shape, np.float32),
        labels=np.full((2, 3), 1 / 3, np.float32), logits=np.zeros((2, 3), np.float32))
    assert shapes == [(2,)] and grads["logits"].shape == (2, 3)


@pytest.mark.parametrize("kind, sides, named", [
    (across.OUTCOME, ("eager", "xla", "onednn", "xla", "raised Aborted", "0f3a", "AbortedError", ""),
     "softmax float32: eager onednn on a, xla on b; TF raised Aborted (AbortedError) on a, answered on b"),
    (across.ERROR_CLASS, ("eager", "graph", "eigen", "eigen", "raised InvalidArgument", "raised InvalidArgument",
                          "InvalidArgumentError", "ValueError"),
     ("softmax float32: eager eigen on a, graph eigen on b; both InvalidArgument by meaning: "
      "InvalidArgumentError on a, ValueError on b")),
    (across.VALUES, ("eager", "eager", "eigen", "onednn", "1a", "2b", "", ""), "softmax float32: eigen on a, onednn on b"),
])
def test_differences_are_named_by_mode_kernel_and_what_was_raised(kind, sides, named):
    mode_a, mode_b, kernel_a, kernel_b, answer_a, answer_b, raised_a, raised_b = sides
    assert across._named("softmax", "float32", kind, mode_a, mode_b, kernel_a, kernel_b, answer_a, answer_b,
                         raised_a, raised_b) == named


@pytest.mark.e2e
def test_three_modes_run_and_merge_into_tf_against_tf(tmp_path):
    """Softmax f32 in eager, graph and XLA: each run passes (the divergences of each mode hold
    where measured), and the merged table names the modes' disagreements of the issue's table."""
    done = tfparity("run", "--ops", "softmax", "--dtypes", "float32", "--mode", "eager", "graph", "xla",
                    "--out", str(tmp_path), env={"TF_ENABLE_ONEDNN_OPTS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = pd.read_csv(tmp_path / output.ACROSS, keep_default_na=False)
    assert set(zip(table["mode_a"], table["mode_b"], strict=True)) >= {("eager", "xla"), ("graph", "xla")}
    eager_xla = table[(table["mode_a"] == "eager") & (table["mode_b"] == "xla")]
    rank_6 = eager_xla[eager_xla["named"].str.contains("raised Aborted \\(AbortedError\\) on a, answered on b")]
    assert len(rank_6) and rank_6["spec"].str.contains(r"shape=\(\d+, \d+, \d+, \d+, \d+, \d+\)").all()
    assert eager_xla["known_divergence_a"].str.contains("softmax_nonfinite_row_partial_nan").any()
    rank_0 = table[table["kind"] == across.OUTCOME]["named"].str.contains("raised Aborted \\(AbortedError\\) on a, raised "
                                                                           "InvalidArgument \\(ValueError\\) on b")
    assert rank_0.any(), table["named"].unique()
    assert table["replay_b"].str.startswith("tfparity replay ").all()
    replayed = tfparity(*table["replay_b"].iloc[0].split()[1:])
    assert replayed.returncode == 0 and "TF mode: " in replayed.stdout


def _maps() -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for _ in maps)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="counts Linux memory maps")
def test_xla_releases_its_executables_before_the_process_runs_out_of_maps(monkeypatch):
    """XLA maps memory for every compiled shape: past COMPILES_KEPT compiles the oracle resets TF's
    context, so a long run's memory maps stay bounded, and the answers do not change."""
    monkeypatch.setenv(modes.ENV, "xla")
    monkeypatch.setattr(modes, "COMPILES_KEPT", 20)
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    first = oracle.softmax(x)
    start, work = _maps(), modes.work()
    counts = []
    for n in range(2, 202):  # kept, ~13 maps each: ~2,600 more maps
        oracle.softmax(np.ones((n, 11), np.float32))  # shapes no other test compiles
        counts.append(_maps())
    assert max(counts) - start < 40 * modes.COMPILES_KEPT, (start, max(counts))
    assert modes.work()["compiles"] - work["compiles"] == 200
    assert modes.work()["releases"] - work["releases"] >= 200 // modes.COMPILES_KEPT - 1
    np.testing.assert_array_equal(oracle.softmax(x), first)
    assert modes.work()["programs"] - work["programs"] == 200  # x's program compiled again: no new one


def test_several_modes_with_a_shard_are_refused(capsys):
    assert cli.main(["run", "--mode", "eager", "graph", "--shard", "1/2"]) == 2
    assert "several --mode with --shard" in capsys.readouterr().err


@pytest.mark.parametrize("off, passes", [(0.0, True), (1.0, False)])
def test_a_misshapen_tf_answer_excused_still_needs_the_exact_candidate(off, passes):
    """Where a divergence excuses TF's whole answer and that answer has another shape (a graph's
    misshapen gradient), the candidate must still meet the exact answer. Fed: softmax CE along
    axis -2, which the divergence softmax_ce_negative_axis_raises covers outright."""
    labels, logits = np.full((2, 3), 0.5, np.float32), np.zeros((2, 3), np.float32)
    case = Case("softmax_cross_entropy_with_logits", "float32", (2, 3), -2, "soft")
    mine = Outcome(np.full(3, np.log(2.0) + off, np.float32))  # exact: log 2 per column
    tf = Outcome(np.zeros(6, np.float32))
    verdict = judge(SOFTMAX_CE, case, "value", {"labels": labels, "logits": logits}, mine, tf, current())
    assert verdict.known == ("softmax_ce_negative_axis_raises",)
    assert verdict.passed == passes, verdict.describe()
