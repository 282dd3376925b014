"""The corpus (tfparity.corpus): TF's answers captured as files judge a candidate exactly as TF
live does, with TensorFlow never imported; a corpus that was changed, or that holds other cases
or backends than asked for, is refused; the shipped smoke corpus is whole and impl passes it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import impl
from tfparity import backend as backends
from tfparity.accuracy import exact_of, spacing_of
from tfparity.batch import run_batch
from tfparity.check import run_case
from tfparity.corpus.capture import capture
from tfparity.corpus.files import (
    MANIFEST,
    SMOKE,
    Refused,
    manifest,
    packed,
    read_packed,
    seal,
    stem,
)
from tfparity.corpus.merge import merge
from tfparity.corpus.stored import open_corpus
from tfparity.dtypes import DTYPES
from tfparity.inputs import Case, case_id, cotangent
from tfparity.opdb import BY_NAME, RECORDS
from tfparity.stacking import members, signatures
from tfparity.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
THIS = backends.current()
# op, dtype: plain and Keras ops, bfloat16 (stored as bits), int labels (no gradient), float16 into float32
CAPTURED = [("softmax", "float32"), ("softmax", "bfloat16"), ("sparse_softmax_cross_entropy_with_logits", "float64"),
            ("binary_crossentropy:probabilities", "float16")]
PER_OP = 24


def _cases(op: str, dtype: str) -> list[tuple]:
    """Every k-th sweep case (ranks, axes, regimes in turn), a fuzz batch's seeds (one signature),
    and the op's error inputs in the dtype."""
    record = BY_NAME[op]
    swept = list(sweep(record, dtype))
    chosen = [(case, "sweep") for case in swept[::max(1, len(swept) // PER_OP)][:PER_OP]]
    chosen += [(case, "fuzz") for case in members(swept[len(swept) // 2], 6)]
    return chosen + [(case, "error") for _, case in record.error_cases() if case.dtype == dtype]


def _fed(onednn: str) -> backends.Backend:
    """This machine's backend with another oneDNN answer: a second fingerprint, fed."""
    return backends.Backend(dict(THIS.facts) | {"onednn": onednn})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "c"
    capture([c for op, dtype in CAPTURED for c in _cases(op, dtype)], out, {"harness": "test"})
    return out


def _copy(corpus: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    return copy


def _rewrite(folder: Path, name: str, ids_key: str, change) -> str:
    """Change a packed pair's arrays (`change(name, array)`) and seal the corpus again, as a
    corpus edited by hand would be; the name of the first array changed."""
    meta, arrays = read_packed(folder, name, ids_key)
    ids = [c["case_id"] if isinstance(c, dict) else c for c in meta[ids_key]]
    changed = {k: change(k, v) for k, v in arrays.items()}
    for suffix, content in packed(meta, ids, changed).items():
        (folder / f"{name}.{suffix}").write_bytes(content)
    root = next(p for p in folder.parents if (p / MANIFEST).exists())
    seal(root, {k: v for k, v in manifest(root, verify=False).items() if k != "files"})
    return next(k for k in arrays if not np.array_equal(arrays[k], changed[k], equal_nan=True))


def test_the_stored_answers_judge_as_tf_does_live(built):
    corpus = open_corpus(built)
    assert corpus.fingerprint == backends.current().fingerprint
    for op, dtype in CAPTURED:
        answers = corpus.answers(BY_NAME[op], dtype)
        assert len(answers.cases) == len({case_id(case) for case, _ in _cases(op, dtype)})
        for case, _, cid in answers.cases:
            live = run_case(BY_NAME[op], case)
            stored = run_case(answers.answering(cid), case, impl, corpus.backend)
            seen = [[(r.check, r.verdict, r.tf_answer, r.known, r.detail) for r in results] for results in (live, stored)]
            assert seen[0] == seen[1], case


def test_a_signature_stacked_is_judged_as_its_cases_alone(built, monkeypatch):
    """A batchable candidate takes a signature's cases in one call, against TF's single answers
    stacked: the same verdicts as case by case, with no batch spread (as `--corpus` runs it)."""
    corpus = open_corpus(built)
    monkeypatch.setattr(backends, "_captured", [corpus.backend])
    for op, dtype in CAPTURED:
        answers = corpus.answers(BY_NAME[op], dtype)
        stacked_any = False
        for batch in signatures([case for case, _, _ in answers.cases]):
            record = answers.stacking(batch) if len(batch) > 1 else None
            if record is None:
                continue
            stacked_any = True
            together = run_batch(record, batch, impl, corpus.backend)
            alone = [run_case(answers.answering(case_id(case)), case, impl, corpus.backend) for case in batch]
            assert [[(r.check, r.verdict, r.known) for r in checks] for checks in together] == (
                [[(r.check, r.verdict, r.known) for r in checks] for checks in alone])
            assert {r.path for checks in together for r in checks} == {"batch"}
        assert stacked_any, (op, dtype)


def test_cases_sharing_their_inputs_are_told_apart_by_their_cotangents(tmp_path):
    """Probabilities below epsilon against one-hot labels, shape (1, 2): seeds of one fuzz batch
    give the same inputs and other cotangents. A case answered alone after its batch (a
    confirmation) gets its own gradients, not those of the first case with its inputs."""
    base = Case("categorical_crossentropy:probabilities", "float16", (1, 2), -1, "one_hot", "below_epsilon", 7563)
    batch = members(base, 24)
    capture([(case, "fuzz") for case in batch], tmp_path / "same", {"harness": "test"})
    answers = open_corpus(tmp_path / "same").answers(BY_NAME[base.op], "float16")
    record = answers.stacking(batch)
    inputs = [BY_NAME[base.op].arguments(case) for case in batch]
    shared = [i for i in range(1, len(batch)) if all(np.array_equal(inputs[0][k], inputs[i][k]) for k in ("y_pred", "y_true"))]
    assert shared, "no two cases of the batch share their inputs: the test shows nothing"
    for case, kwargs in zip(batch, inputs, strict=True):
        draw = functools.partial(cotangent, case)
        alone, own = record.tf_vjp(draw, **kwargs), answers.answering(case_id(case)).tf_vjp(draw, **kwargs)
        for name in own:
            np.testing.assert_array_equal(alone[name], own[name])


def test_a_wrong_candidate_fails_against_the_corpus(built):
    """impl's softmax off by a relative 2^-12 (under float32's ordinary tolerance it would pass)."""
    wrong = types.ModuleType("wrong")
    wrong.__dict__.update({name: getattr(impl, name) for name in dir(impl) if not name.startswith("__")})
    wrong.softmax = lambda logits, axis=None: (impl.softmax(logits, axis) * (1 + 2.0**-12)).astype(logits.dtype)
    corpus = open_corpus(built)
    answers = corpus.answers(BY_NAME["softmax"], "float32")
    verdicts = {r.verdict for case, _, cid in answers.cases
                for r in run_case(answers.answering(cid), case, wrong, corpus.backend) if r.check == "value"}
    assert "mismatch" in verdicts or "inaccurate" in verdicts, verdicts


def test_layer_1_holds_the_exact_answer_rounded_with_its_residual(built):
    """The stored exact value is mpmath's rounded to the case's dtype, and its residual is within
    half an ULP: together they give the exact answer past the dtype's precision."""
    record = BY_NAME["softmax"]
    _, layer1 = read_packed(built / "cases", stem("softmax", "float32"), "cases")
    checked = 0
    for case, _ in _cases("softmax", "float32"):
        cid = case_id(case)
        if f"{cid}/exact/value" not in layer1:
            continue
        inputs = {"logits": layer1[f"{cid}/in/logits"]}
        rounded, residual = layer1[f"{cid}/exact/value"], layer1[f"{cid}/exact/value/residual_ulp"]
        finite = np.isfinite(residual)
        assert np.all(np.abs(residual[finite]) <= 0.5 + 1e-6)
        ex = exact_of(record.exact, record.wide, "value", inputs, record.class_axis(case),
                      layer1[f"{cid}/cotangent"], np.dtype(np.float32), np.zeros(rounded.shape))
        index = np.unravel_index(int(np.argmax(finite)), rounded.shape)
        precise = ex.precise((0, *index))
        if finite[index] and precise is not None:
            spacing = float(spacing_of(np.asarray(float(precise)), np.float32))
            assert abs(float(rounded[index]) + float(residual[index]) * spacing - float(precise)) <= 1e-6 * spacing
            checked += 1
    assert checked >= 5


def _run_without_tf(tmp_path: Path, *args: str) -> dict:
    """`tfparity run --corpus ...` with TensorFlow and Keras made unimportable: the run's environment."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules.update(tensorflow=None, keras=None)\n")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    blocked = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, check=False)
    assert blocked.returncode != 0
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "reports", "run", *args, "--out", str(out), "-n", "0"],
                         env=env, capture_output=True, text=True, cwd=tmp_path, check=False, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads((out / "run.json").read_text())["environment"]


def test_a_run_against_the_corpus_never_imports_tensorflow(built, tmp_path):
    """It passes impl, and says which corpus and backend it compared against, and where impl ran."""
    environment = _run_without_tf(tmp_path, "--corpus", str(built))
    assert environment["corpus_fingerprint"] == environment["backend"] == THIS.fingerprint
    assert environment["corpus"] == str(built) and environment["candidate_device"].startswith("host")
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"TF's answers come from the corpus <code>{built}</code>" in page and THIS.fingerprint in page


def test_a_device_candidate_is_checked_on_the_host_and_its_device_recorded(built, tmp_path):
    """The JAX adapter (a jitted candidate, here on the CPU device) against the corpus, without TF;
    the run counts what JAX compiled, and nothing of TF's."""
    pytest.importorskip("jax")
    environment = _run_without_tf(tmp_path, "--corpus", str(built), "--candidate", "jax", "--ops", "softmax",
                                  "sparse_softmax_cross_entropy_with_logits")
    assert environment["candidate"] == "jax" and environment["candidate_device"].startswith("cpu:")
    work = json.loads((tmp_path / "out" / "run.json").read_text())["compile_work"]
    assert work["traces"] == work["compiles"] == 0 and work["candidate_compiles"] >= work["candidate_programs"] > 0


@pytest.mark.parametrize("damage", ["checksum", "missing", "extra", "schema"])
def test_a_changed_corpus_is_refused(built, tmp_path, damage):
    corpus = _copy(built, tmp_path)
    npz = next((corpus / "answers").rglob("*.npz"))
    if damage == "checksum":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 1
        npz.write_bytes(bytes(data))
    elif damage == "missing":
        npz.unlink()
    elif damage == "extra":
        (corpus / "cases" / "more.json").write_text("{}")
    else:
        content = json.loads((corpus / MANIFEST).read_text())
        (corpus / MANIFEST).write_text(json.dumps(content | {"schema": content["schema"] + 1}))
    with pytest.raises(Refused):
        open_corpus(corpus)


def test_inputs_the_harness_no_longer_makes_fail_the_case(built, tmp_path):
    corpus = _copy(built, tmp_path)
    key = _rewrite(corpus / "cases", stem("softmax", "float32"), "cases", lambda k, v: v + v.dtype.type(k.endswith("/in/logits")))
    opened = open_corpus(corpus)
    answers = opened.answers(BY_NAME["softmax"], "float32")
    cid = key.split("/")[0]
    case = next(case for case, _, c in answers.cases if c == cid)
    [value, *_] = run_case(answers.answering(cid), case, impl, opened.backend)
    assert not value.passed and value.verdict == "error" and "makes other logits than the corpus holds" in value.detail


def test_two_backends_in_one_corpus_are_chosen_by_fingerprint(tmp_path, monkeypatch):
    cases = _cases("softmax", "float32")
    out = tmp_path / "two"
    for onednn in ("on", "off"):
        monkeypatch.setattr(backends, "current", lambda onednn=onednn: _fed(onednn))
        capture(cases, out, {"harness": "test"})
    on, off = _fed("on").fingerprint, _fed("off").fingerprint
    assert set(manifest(out)["fingerprints"]) == {on, off}
    assert open_corpus(out).fingerprint == on  # the first captured, with none asked for
    assert open_corpus(out, off).backend.facts["onednn"] == "off"
    with pytest.raises(Refused, match="names 2"):
        open_corpus(out, "cpu-")
    monkeypatch.setattr(backends, "current", lambda: _fed("third"))
    with pytest.raises(Refused, match="other cases"):
        capture(_cases("softmax", "bfloat16"), out, {"harness": "test"})
    assert set(manifest(out)["fingerprints"]) == {on, off}  # refused before writing


def test_corpora_of_other_machines_merge(built, tmp_path, monkeypatch):
    cases = [c for op, dtype in CAPTURED for c in _cases(op, dtype)]
    monkeypatch.setattr(backends, "current", lambda: _fed("elsewhere"))
    other = tmp_path / "other"
    capture(cases, other, {"harness": "test"})
    merged = merge([built, other], tmp_path / "merged")
    assert set(merged["fingerprints"]) == {THIS.fingerprint, _fed("elsewhere").fingerprint}
    assert open_corpus(tmp_path / "merged", _fed("elsewhere").fingerprint).backend.facts["onednn"] == "elsewhere"
    fewer = tmp_path / "fewer"
    capture(cases[:3], fewer, {"harness": "test"})
    with pytest.raises(Refused, match="other cases"):
        merge([built, fewer], tmp_path / "refused")
    changed = _copy(other, tmp_path)
    _rewrite(changed / "answers" / _fed("elsewhere").fingerprint, stem("softmax", "float32"), "case_ids",
             lambda k, v: v + v.dtype.type(1))
    with pytest.raises(Refused, match="differ"):
        merge([tmp_path / "merged", changed], tmp_path / "refused2")


def test_the_smoke_corpus_ships_whole_and_impl_passes_it():
    """Under 5 MB, both oneDNN settings, every error input of every op and dtype; impl passes
    every case against each backend."""
    content = manifest(SMOKE)
    assert sum(p.stat().st_size for p in SMOKE.rglob("*") if p.is_file()) < 5 * 2**20
    assert {c["facts"]["onednn"] for c in content["fingerprints"].values()} == {"on", "off"}
    for fingerprint in content["fingerprints"]:
        corpus = open_corpus("smoke", fingerprint)
        held = set()
        for record in RECORDS:
            for dtype in DTYPES:
                if corpus.holds(record.name, dtype):
                    answers = corpus.answers(record, dtype)
                    for case, _, cid in answers.cases:
                        held.add(cid)
                        failed = [r.describe() for r in run_case(answers.answering(cid), case, impl, corpus.backend)
                                  if not r.passed]
                        assert not failed, (case, failed)
        errors = {case_id(case) for record in RECORDS for _, case in record.error_cases()}
        assert errors <= held


def test_a_capture_answers_what_the_engine_asks(built):
    """The answers file says what TF did for each case: its tape, or the forward call where the
    tape raised or the case is an error input."""
    corpus = open_corpus(built)
    answers = corpus.answers(BY_NAME["sparse_softmax_cross_entropy_with_logits"], "float64")
    kinds = {tuple(sorted(answer)) for answer in answers.outcomes.values()}
    assert ("grads", "tape") in kinds and ("forward",) in kinds
    assert all(answer["grads"] == {"logits": True} for answer in answers.outcomes.values() if "grads" in answer)
