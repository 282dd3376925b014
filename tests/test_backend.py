"""The backend axis: kernels told from probed answers, and verdicts conditioned on them.

No machine shows every path (float16 softmax takes oneDNN only on CPUs with AVX512-FP16 or
AMX-FP16), so most of these tests feed the harness the answers such a machine gives and check the
verdicts that follow; the rest check this machine's own probe.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import impl
import oracle
from tfparity.backend import EIGEN, ONEDNN, UNKNOWN, XLA, Backend, current
from tfparity.check import Outcome, judge, meaning, run_case
from tfparity.dtypes import DTYPES
from tfparity.inputs import Case
from tfparity.opdb import SIGMOID, SOFTMAX
from tfparity.sweep import sweep

# What TF 2.21's softmax kernels answer to the probe's questions (measured with oneDNN on and off).
ANSWERS = {
    ONEDNN: {"softmax.rank_6": "AbortedError", "softmax.rank_0": "AbortedError",
             "softmax.nonfinite_row": "partial_nan", "softmax.small_normal": "flushed"},
    EIGEN: {"softmax.rank_6": "ok", "softmax.rank_0": "InvalidArgumentError",
            "softmax.nonfinite_row": "all_nan", "softmax.small_normal": "kept"},
    XLA: {"softmax.rank_6": "ok", "softmax.rank_0": "ValueError",
          "softmax.nonfinite_row": "all_nan", "softmax.small_normal": "kept"},
}
# A graph (and XLA) checks the rank when it is traced, before any kernel runs: ValueError.
TRACED = {"softmax.rank_0": "ValueError"}


def answers(kernel: str, mode: str) -> dict[str, str]:
    """What the probe hears from `kernel` in `mode`."""
    return ANSWERS[XLA if mode == XLA else kernel] | (TRACED if mode != "eager" else {})


def fed(kernels: dict[str, str], flushed: tuple[str, ...] = ("bfloat16", "float32", "float64"),
        mode: str = "eager") -> Backend:
    """A backend as the probe would report it for these softmax kernels per dtype, in `mode`."""
    facts = {"tensorflow": "2.21.0", "device": "cpu", "mode": mode,
             "onednn": "on" if ONEDNN in kernels.values() else "off"}
    for dtype in DTYPES:
        facts |= {f"{q}/{dtype}": a for q, a in answers(kernels.get(dtype, EIGEN), mode).items()}
        facts[f"subnormal_results/{dtype}"] = "flushed" if dtype in flushed else "kept"
    return Backend(facts)


HALF_ON_ONEDNN = fed({"float16": ONEDNN, "bfloat16": ONEDNN, "float32": ONEDNN})  # AVX512-FP16 CPUs
HALF_ON_EIGEN = fed({"bfloat16": ONEDNN, "float32": ONEDNN})                     # AVX512 without FP16
NO_ONEDNN = fed({})                                                                # TF_ENABLE_ONEDNN_OPTS=0
GRAPH = fed({"bfloat16": ONEDNN, "float32": ONEDNN}, mode="graph")                # tf.function
XLA_MODE = fed({"bfloat16": ONEDNN, "float32": ONEDNN}, mode="xla")               # jit_compile=True


def test_kernels_are_told_from_the_answers():
    assert HALF_ON_ONEDNN.kernel("softmax", "float16") == ONEDNN
    assert HALF_ON_EIGEN.kernel("softmax", "float16") == EIGEN
    assert NO_ONEDNN.kernels()["softmax"] == dict.fromkeys(DTYPES, EIGEN)
    assert "onednn for float16/bfloat16/float32" in HALF_ON_ONEDNN.summary()
    odd = Backend(dict(HALF_ON_EIGEN.facts) | {"softmax.rank_6/float16": "InternalError"})
    assert odd.kernel("softmax", "float16") == UNKNOWN


def test_fingerprints_tell_backends_apart_and_say_how():
    prints = {b.fingerprint for b in (HALF_ON_ONEDNN, HALF_ON_EIGEN, NO_ONEDNN)}
    assert len(prints) == 3 and all(p.startswith("cpu-eager-tf2.21.0-") for p in prints)
    assert Backend(dict(HALF_ON_EIGEN.facts)).fingerprint == HALF_ON_EIGEN.fingerprint
    assert HALF_ON_EIGEN.differences(HALF_ON_ONEDNN) == [
        f"{q}/float16: {ANSWERS[EIGEN][q]} -> {ANSWERS[ONEDNN][q]}" for q in sorted(ANSWERS[EIGEN])]


def test_the_mode_is_part_of_the_backend():
    """A graph runs eager's kernels; under XLA no TF kernel runs. Each mode has its own fingerprint."""
    assert GRAPH.kernel("softmax", "float32") == ONEDNN and GRAPH.kernel("softmax", "float64") == EIGEN
    assert XLA_MODE.kernels()["softmax"] == dict.fromkeys(DTYPES, XLA)
    assert GRAPH.fingerprint.startswith("cpu-graph-") and XLA_MODE.fingerprint.startswith("cpu-xla-")
    assert len({b.fingerprint for b in (HALF_ON_EIGEN, GRAPH, XLA_MODE)}) == 3


def _rank_0(backend: Backend, raised: str):
    return _softmax_verdict(backend, np.float32(1.0), Outcome(error=meaning(raised), message="rank 0", raised=raised))


def test_errors_compare_by_meaning_and_divergences_hold_in_their_modes():
    """Rank-0 softmax: eagerly oneDNN aborts (a divergence measured in eager only); a graph or XLA
    raises ValueError at trace, which means what impl's InvalidArgumentError means."""
    eager = _rank_0(HALF_ON_EIGEN, "AbortedError")
    assert eager.passed and eager.known == ("softmax_onednn_rank_0_aborts",)
    for backend in (GRAPH, XLA_MODE):
        traced = _rank_0(backend, "ValueError")
        assert traced.passed and not traced.known, traced.describe()
        aborted = _rank_0(backend, "AbortedError")  # eager's behaviour in a mode it was not measured in
        assert not aborted.passed and "Aborted" in aborted.detail


def test_a_kernel_limit_is_not_excused_where_the_kernel_does_not_run():
    """Under XLA, rank 6 must be computed: TF aborting there is a finding, not the oneDNN limit."""
    logits = np.ones((1, 1, 1, 1, 2, 3), np.float32)
    aborted = Outcome(error="Aborted", message="Input dims must be <= 5 and >=1", raised="AbortedError")
    assert _softmax_verdict(GRAPH, logits, aborted).passed
    verdict = _softmax_verdict(XLA_MODE, logits, aborted)
    assert not verdict.passed and not verdict.known


def test_this_machines_backend_is_recognised():
    backend = current()
    kernels = backend.kernels()["softmax"]
    assert UNKNOWN not in kernels.values(), f"a softmax kernel the records do not know: {backend.facts}"
    if ONEDNN in kernels.values():
        assert backend.facts["onednn"] == "on", "a oneDNN kernel ran, yet TF says oneDNN is off"
    for dtype, kernel in kernels.items():
        for question, answer in answers(kernel, backend.mode).items():
            if question != "softmax.small_normal" or dtype != "float16":  # f16 results: unmeasured on oneDNN
                assert backend.answer(question, dtype) == answer, (question, dtype, backend.summary())


def _softmax_verdict(backend: Backend, logits: np.ndarray, tf: Outcome):
    case = Case("softmax", str(logits.dtype), logits.shape)
    mine = Outcome(impl.softmax(logits)) if logits.ndim else Outcome(error="InvalidArgument")
    return judge(SOFTMAX, case, "value", {"logits": logits}, mine, tf, backend, 0.0)


@pytest.mark.parametrize("backend, explained", [(HALF_ON_ONEDNN, True), (HALF_ON_EIGEN, False), (NO_ONEDNN, False)])
def test_float16_through_onednn_is_explained_only_where_probed(backend, explained):
    """The three behaviours float16 softmax shows where it takes oneDNN, judged on fed backends."""
    rank_6 = _softmax_verdict(backend, np.ones((1, 1, 1, 1, 2, 3), np.float16),
                              Outcome(error="Aborted", message="Input dims must be <= 5 and >=1"))
    rank_0 = _softmax_verdict(backend, np.float16(1.0), Outcome(error="Aborted", message="Input dims"))
    row = np.array([[np.inf, 0.0, 1.0]], np.float16)
    partial = _softmax_verdict(backend, row, Outcome(np.array([[np.nan, 0.0, 0.0]], np.float16)))
    for verdict in (rank_6, rank_0, partial):
        assert verdict.passed == explained, verdict.describe()
        assert bool(verdict.known) == explained
    # where TF gives the IEEE answer, the candidate agrees and no divergence fires, on any backend
    ieee = _softmax_verdict(backend, row, Outcome(np.full((1, 3), np.nan, np.float16)))
    assert ieee.passed and not ieee.known and ieee.comparison.ignored_mismatches == 0


@pytest.mark.parametrize("backend, flushes", [(fed({}), True), (fed({}, flushed=()), False)])
def test_flushed_results_are_accepted_only_where_tf_flushes(backend, flushes):
    """Where TF flushes, a zeroed subnormal is accepted and counted; where it does not, the same
    zero is a parity mismatch, and the exact answer shows it to be TF's error."""
    x = np.array([-88.5], np.float32)  # sigmoid: 3.4e-39, subnormal in float32
    verdict = judge(SIGMOID, Case("sigmoid", "float32", (1,)), "value", {"x": x},
                    Outcome(impl.sigmoid(x)), Outcome(np.zeros(1, np.float32)), backend)
    assert verdict.passed
    assert verdict.comparison.passed == flushes and verdict.comparison.flushed == int(flushes)
    assert verdict.tf_error == (not flushes)
    if not flushes:
        assert verdict.accuracy.closer == "candidate" and verdict.accuracy.candidate_ulp <= 0.5


def _in_float32(fn):
    """A float16 op run as oneDNN runs it: in float32, rounded to float16 once."""
    def widen(v):
        return v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float16 else v

    def narrow(v):
        return v.astype(np.float16) if isinstance(v, np.ndarray) else v

    def run(*args, **kwargs):
        args = [(lambda s, f=a: f(s).astype(np.float32)) if callable(a) else widen(a) for a in args]
        out = fn(*args, **{k: widen(v) for k, v in kwargs.items()})
        if isinstance(out, dict):
            grads = type(out)((k, narrow(v)) for k, v in out.items())
            grads.value = narrow(out.value)
            return grads
        return narrow(out)
    return run


def test_sweep_passes_where_float16_softmax_takes_the_float32_path():
    """The float16 sweep against a TF whose float16 softmax runs on this machine's float32 kernel
    (on a oneDNN machine: float16 through oneDNN, as on AVX512-FP16 CPUs), on a backend fed the
    float32 answers for float16: every case passes, each oneDNN behaviour explained."""
    here = current()
    facts = dict(here.facts) | {f"{q}/float16": here.answer(q, "float32") for q in ANSWERS[EIGEN]}
    simulated = dataclasses.replace(SOFTMAX, tf=_in_float32(oracle.softmax), tf_vjp=_in_float32(oracle.softmax_vjp))
    results = [r for case in sweep(simulated, "float16") for r in run_case(simulated, case, impl, Backend(facts))]
    failing = [r.describe() for r in results if not r.passed]
    assert results and not failing, failing[:3]
    if here.kernel("softmax", "float32") == ONEDNN:
        assert {"softmax_onednn_rank_limit", "softmax_nonfinite_row_partial_nan"} <= {k for r in results for k in r.known}
        unconditioned = [r for case in sweep(simulated, "float16") for r in run_case(simulated, case, impl, here)]
        assert any(not r.passed for r in unconditioned), "on the probed float16 path these must fail"


@pytest.mark.parametrize("backend, explained", [(HALF_ON_EIGEN, True), (NO_ONEDNN, False), (XLA_MODE, False)])
def test_the_softmax_layer_takes_float32s_kernel_whatever_its_inputs_dtype(backend, explained):
    """keras.layers.Softmax computes float16 inputs in float32: where float32's softmax runs on
    oneDNN (float16's on Eigen) its rank limit holds for float16 inputs too, and nowhere else."""
    from tfparity.ops.keras_activations import KERAS_SOFTMAX_LAYER

    x, keep = np.ones((1, 1, 1, 1, 2, 3), np.float16), np.ones((1, 1, 1, 1, 2, 3), bool)
    case = Case(KERAS_SOFTMAX_LAYER.name, "float16", x.shape, -1)
    verdict = judge(KERAS_SOFTMAX_LAYER, case, "value", {"inputs": x, "mask": keep},
                    Outcome(impl.keras_softmax_layer(x, keep)),
                    Outcome(error="Aborted", message="Input dims must be <= 5 and >=1"), backend, 0.0)
    assert verdict.passed == explained and bool(verdict.known) == explained, verdict.describe()


@pytest.mark.parametrize("flushed", [("float32",), ()])
def test_a_class_computing_in_float32_flushes_as_float32_does(flushed):
    """A Keras loss class's float16 loss is computed in float32: TF's flushing there is float32's."""
    from tfparity.opdb import BY_NAME

    backend = fed({}, flushed=flushed)
    assert BY_NAME["reduced_loss:logits_sum"].flushes(backend, "value", "float16") == bool(flushed)
    assert not SIGMOID.flushes(backend, "value", "float16")  # tf.nn's float16 sigmoid: float16's own
