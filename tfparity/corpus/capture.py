"""Write TF's answers for a run's cases into a corpus (this process's TF, on its backend).

Each case is answered as `tfparity.check.single` asks TF: one tape for the value and every VJP,
the forward call alone where the tape raised, the forward call for an error input. Layer 1 (the
cases, their inputs and exact answers) is written once; a second capture into the same folder
(another backend: oneDNN off, another mode) must find the same cases and adds its answers."""

from __future__ import annotations

import datetime
import functools
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tfparity import backend as backends
from tfparity.accuracy import spacing_of
from tfparity.corpus.files import (
    MANIFEST,
    Refused,
    manifest,
    packed,
    seal,
    stem,
    write_bytes,
)
from tfparity.dtypes import np_dtype
from tfparity.inputs import Case, case_id, cotangent
from tfparity.opdb import BY_NAME
from tfparity.records import ERROR_PREFIX, OpRecord

CAPTURED_SOURCES = ("sweep", "fuzz", "error")  # a misuse is a call pattern, not an op's case
MESSAGE = 400  # characters of TF's error message kept (verdicts compare the class; the message is for people)


def capture(cases: Iterable[tuple[Case, str]], out: Path, provenance: dict[str, str], workers: int = 1) -> dict:
    """Answer `cases` ((case, source) pairs; misuses and unknown ops left out) on this backend
    into the corpus `out`, and seal it; `workers` processes answer an op and dtype each at a time
    (each imports TF; all must probe this backend). Returns the manifest. Nothing is written
    unless every file of layer 1 is the corpus's already (a second backend's capture), and a
    capture that stops early leaves files its manifest does not list: a corpus that refuses to load."""
    backend = backends.current()
    fingerprint = backend.fingerprint
    existing = manifest(out) if (out / MANIFEST).exists() else None
    if existing and fingerprint in existing["fingerprints"]:
        raise Refused(f"{out} already holds the answers of {fingerprint}")
    groups: dict[tuple[str, str], dict[str, tuple[Case, str]]] = {}
    for case, source in cases:
        if case.op in BY_NAME and source in CAPTURED_SOURCES:
            groups.setdefault((case.op, case.dtype), {})[case_id(case)] = (case, source)
    files: dict[Path, bytes] = {}
    largest_first = sorted(groups.items(), key=lambda group: -len(group[1]))
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            answered = list(pool.map(_group, [dict(sorted(held.items())) for _, held in largest_first]))
    else:
        answered = [_group(dict(sorted(held.items()))) for _, held in largest_first]
    for ((op, dtype), _), (probed, group) in zip(largest_first, answered, strict=True):
        if probed != fingerprint:
            raise Refused(f"a worker probed backend {probed}, this process {fingerprint}")
        files |= {Path(folder.replace("<fingerprint>", fingerprint), f"{stem(op, dtype)}.{suffix}"): content
                  for (folder, suffix), content in group.items()}
    if existing:
        layer1 = {Path(name) for name in existing["files"] if name.startswith("cases/")}
        if layer1 != {path for path in files if path.parts[0] == "cases"} or any(
                (out / path).read_bytes() != content for path, content in files.items() if path.parts[0] == "cases"):
            raise Refused(f"{out} holds other cases than these (another run's, or another harness's inputs): "
                          "capture into a new folder")
    for path, content in files.items():
        write_bytes(out / path, content)
    content = existing or {"corpus_version": datetime.datetime.now(datetime.UTC).strftime("%Y.%m.%d.%H%M%S"),
                           "default_fingerprint": fingerprint, "fingerprints": {},
                           "cases": {stem(*key): len(held) for key, held in sorted(groups.items())}}
    content["fingerprints"][fingerprint] = backend.record() | {"provenance": provenance}
    content.pop("files", None)
    seal(out, content)
    return content


def _group(held: dict[str, tuple[Case, str]]) -> tuple[str, dict[tuple[str, str], bytes]]:
    """The backend this process probed, and one op and dtype's files: (folder, suffix) -> bytes,
    the answers' folder as `answers/<fingerprint>`."""
    answers, arrays, exact = {}, {}, {}  # TF's answers and arrays; layer 1's arrays
    with np.errstate(all="ignore"):
        for cid, (case, _) in held.items():
            answers[cid] = _answer(BY_NAME[case.op], case, cid, arrays, exact)
    listed = [{"case_id": cid, "spec": repr(case), "source": source} for cid, (case, source) in held.items()]
    files = {("cases", suffix): content for suffix, content in packed({"cases": listed}, list(held), exact).items()}
    files |= {("answers/<fingerprint>", suffix): content for suffix, content in
              packed({"outcomes": answers, "case_ids": list(held)}, list(held), arrays).items()}
    return backends.current().fingerprint, files


def _answer(record: OpRecord, case: Case, cid: str, arrays: dict, layer1: dict) -> dict:
    """TF's answer for one case (into `arrays`), as the engine asks for it; and its layer 1 (into
    `layer1`)."""
    kwargs = record.arguments(case)
    _layer1(record, case, cid, record.tensors(kwargs), layer1)
    answer = {}
    if not case.regime.startswith(ERROR_PREFIX):  # one tape gives the value and every VJP
        answer["tape"], grads = _called(record.tf_vjp, functools.partial(cotangent, case), **kwargs)
        if grads is not None:
            arrays[f"{cid}/value"] = grads.value
            arrays.update({f"{cid}/vjp_{n}": g for n, g in grads.items() if g is not None})
            return answer | {"grads": {n: g is not None for n, g in grads.items()}}
    answer["forward"], value = _called(record.tf, **kwargs)  # an error input, or a tape that raised
    if value is not None:
        arrays[f"{cid}/value"] = value
    return answer


def _layer1(record: OpRecord, case: Case, cid: str, inputs: dict, layer1: dict) -> None:
    """The case's inputs, and for an op's case (not an error input) its cotangent (for the exact
    value's shape) and the exact answer of every check: computed from the spec alone, the same on
    every backend. The exact answer is the record's wide form (within `tfparity.wide.bound` of
    mpmath's), nan where the exact forms do not evaluate an element."""
    layer1.update({f"{cid}/in/{name}": np.asarray(v) for name, v in inputs.items() if np.asarray(v).dtype != object})
    if case.regime.startswith(ERROR_PREFIX):
        return
    axis, dtype = record.class_axis(case), np_dtype(case.dtype)
    value = np.asarray(record.wide("value", inputs, axis, None))
    ct = cotangent(case, value.shape)
    layer1[f"{cid}/cotangent"] = ct
    for check in record.checks:
        wide = value if check == "value" else np.asarray(record.wide(check, inputs, axis, ct))
        rounded = wide.astype(np.float64).astype(dtype)
        layer1[f"{cid}/exact/{check}"] = rounded
        layer1[f"{cid}/exact/{check}/residual_ulp"] = (
            (wide - rounded.astype(wide.dtype)) / spacing_of(wide, dtype)).astype(np.float32)


def _called(fn, *args, **kwargs) -> tuple[object, object]:
    """("ok", what fn returned), or ({"raised": TF's class, "message": ...}, None). Only TF's
    errors are answers: anything else is the harness's bug, and stops the capture."""
    from oracle import OracleError

    try:
        return "ok", fn(*args, **kwargs)
    except OracleError as error:
        return {"raised": error.tf_class, "message": error.message[:MESSAGE]}, None
