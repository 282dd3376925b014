"""`tfparity replay`: rerun one case from its id (via the report's cases) or its spec."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np

from candidates import module_name
from oracle.modes import ENV as MODE_ENV
from reports import output
from tfparity.backend import answer_from as answers_from
from tfparity.backend import current
from tfparity.corpus.files import Refused
from tfparity.corpus.stored import open_corpus
from tfparity.describe import arguments as replay_arguments
from tfparity.describe import describe
from tfparity.inputs import Case, case_id, parse
from tfparity.opdb import BY_NAME
from tfparity.records import OpRecord


def replay(case: str, report_dir: Path, candidate: str | None = None, mode: str | None = None) -> str:
    """The case's inputs, both outputs and every verdict, and whether its saved inputs still match.
    The candidate and TF's mode default to the ones the report's run used."""
    spec, recorded = (case, None) if case.lstrip().startswith("Case(") else _spec(case, report_dir)
    found = parse(spec)
    ran = recorded.split("-")[1] if recorded else _ran(report_dir, "mode", os.environ.get(MODE_ENV, "eager"))
    os.environ[MODE_ENV] = mode or ran  # a fingerprint is <device>-<mode>-tf<version>-<hash>
    module = importlib.import_module(module_name(candidate or _ran(report_dir, "candidate", "impl")))
    record, source = _from_corpus(found, report_dir) if _ran(report_dir, "corpus", "") else (None, "")
    text = (f"candidate: {module.__name__}; TF mode: {os.environ[MODE_ENV]}{source}\n"
            + describe(found, candidate=module, record=record))
    here = current().fingerprint
    if recorded and recorded != here:
        text += (f"\nNOTE: the case was recorded on backend {recorded}, this is {here}: kernels, known "
                 f"divergences and so the verdicts may differ (see the report's Backend section)")
    saved = report_dir / output.INPUTS / f"{case}.npz"
    if saved.is_file():
        regenerated = output.portable(replay_arguments(found))
        with np.load(saved) as stored:
            same = set(stored.files) == set(regenerated) and all(
                np.array_equal(stored[k], regenerated[k], equal_nan=stored[k].dtype.kind in "fc") for k in stored.files)
        text += f"\nsaved inputs {saved}: {'identical to' if same else 'DIFFER FROM'} the spec's"
    return text


def _from_corpus(case: Case, report_dir: Path) -> tuple[OpRecord, str]:
    """A run against a corpus is replayed against it: TF's answer for the case, from the same
    corpus and fingerprint, on that backend (TensorFlow not imported)."""
    try:
        corpus = open_corpus(_ran(report_dir, "corpus", ""), _ran(report_dir, "corpus_fingerprint", ""))
    except Refused as error:
        raise ValueError(f"the run's corpus: {error}") from None
    if not corpus.holds(case.op, case.dtype):
        raise ValueError(f"the run's corpus {corpus.root} holds no {case.op} {case.dtype} cases")
    answers_from(corpus.backend)
    cid = case_id(case)
    answers = corpus.answers(BY_NAME[case.op], case.dtype)
    if cid not in answers.outcomes:
        raise ValueError(f"case {cid} is not in the run's corpus {corpus.root}")
    return answers.answering(cid), f"; TF's answers from corpus {corpus.root} ({corpus.fingerprint})"


def _ran(report_dir: Path, key: str, default: str) -> str:
    """What the report's run used for `key` (its environment's entry), else `default`."""
    try:
        return output.load(report_dir)[0]["environment"][key]
    except (ValueError, KeyError):
        return default


def _spec(case_id: str, report_dir: Path) -> tuple[str, str | None]:
    """The case's spec and the backend it was recorded on."""
    try:
        cases = output.load_cases(report_dir)
    except FileNotFoundError as error:
        raise ValueError(f"no {output.CASES} in {report_dir}: pass --report, or a Case(...) spec") from error
    match = cases.loc[cases["case_id"] == case_id]
    if match.empty:
        raise ValueError(f"case {case_id} is not in {report_dir}/{output.CASES}")
    return match["spec"].iloc[0], match["backend"].iloc[0] if "backend" in match else None
