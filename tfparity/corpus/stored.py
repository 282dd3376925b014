"""TF's answers from a corpus, in the engine's terms, without TensorFlow: a record whose `tf` and
`tf_vjp` give a case's stored answer (its value, its tape's gradients, or the error TF raised),
and the backend the answers were captured on."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from oracle.answers import Gradients, OracleError
from tfparity.backend import Backend
from tfparity.corpus.files import Refused, manifest, read_packed, resolve, stem
from tfparity.inputs import Case, case_id, parse
from tfparity.records import OpRecord
from tfparity.stacking import stack, tiled


@dataclass(frozen=True)
class Corpus:
    """A verified corpus and the fingerprint whose answers a run compares against."""

    root: Path
    manifest: dict
    fingerprint: str

    @property
    def backend(self) -> Backend:
        return Backend(self.manifest["fingerprints"][self.fingerprint]["facts"])

    def describe(self) -> dict[str, str]:
        """What a report says of the corpus it ran against."""
        captured = self.manifest["fingerprints"][self.fingerprint]
        return {"corpus": str(self.root), "corpus_version": self.manifest["corpus_version"],
                "corpus_fingerprint": self.fingerprint,
                "corpus_tensorflow": captured["facts"].get("tensorflow", "?"),
                "corpus_cpu": captured["provenance"].get("cpu", "?")}

    def holds(self, op: str, dtype: str) -> bool:
        return stem(op, dtype) in self.manifest["cases"]

    def answers(self, record: OpRecord, dtype: str) -> Answers:
        name = stem(record.name, dtype)
        cases, layer1 = read_packed(self.root / "cases", name, "cases")
        answers, arrays = read_packed(self.root / "answers" / self.fingerprint, name, "case_ids")
        return Answers(record, [(parse(c["spec"]), c["source"], c["case_id"]) for c in cases["cases"]],
                       answers["outcomes"], arrays, layer1)


def open_corpus(where: str | Path, fingerprint: str | None = None) -> Corpus:
    """The corpus in `where` (`smoke`: the shipped one), its schema and checksums verified, with
    the answers of `fingerprint` (a unique prefix will do) or, with none given, its default."""
    root = resolve(where)
    content = manifest(root)
    captured = sorted(content["fingerprints"])
    chosen = [fp for fp in captured if fp.startswith(fingerprint)] if fingerprint else [content["default_fingerprint"]]
    if len(chosen) != 1:
        raise Refused(f"{root}: fingerprint {fingerprint!r} names {len(chosen)} of its backends; it holds: "
                      f"{', '.join(captured)}")
    return Corpus(root, content, chosen[0])


@dataclass(frozen=True)
class Answers:
    """One op and dtype of a corpus: its cases (case, source, case id), TF's answers, and layer 1."""

    record: OpRecord
    cases: list[tuple[Case, str, str]]
    outcomes: dict[str, dict]
    arrays: dict[str, np.ndarray]
    layer1: dict[str, np.ndarray]

    def answering(self, cid: str) -> OpRecord:
        """The record with TF's functions answering for this case from the corpus."""
        return replace(self.record, tf=functools.partial(self._value, cid),
                       tf_vjp=functools.partial(self._vjp, cid))

    def stacking(self, cases: list[Case]) -> OpRecord | None:
        """The record answering a signature's cases stacked into one call (TF's single answers,
        stacked: no batch spread) and each alone (a case confirmed after the batch); None where
        they do not stack: a tape raised, labels tiled, a record that never stacks."""
        ids = [case_id(case) for case in cases]
        if not self.record.stacks or tiled(cases[0]) or any(self.outcomes[cid].get("tape") != "ok" for cid in ids):
            return None
        each, stacked = stack(self.record, cases)
        for cid, kwargs in zip(ids, each, strict=True):
            self._inputs_match(cid, kwargs)
        return replace(self.record, tf=functools.partial(self._stacked, ids, stacked, None),
                       tf_vjp=functools.partial(self._stacked, ids, stacked))

    def _stacked(self, ids: list[str], stacked: dict, cotangent: object, **kwargs: object) -> object:
        """The stored answer to a call of the batch (`stacked`) or of one of its cases."""
        gradients = cotangent is not None
        tensors = self.record.tensors(kwargs)
        if all(np.array_equal(np.asarray(v), stacked[k], equal_nan=True) for k, v in tensors.items()):
            answers = [self._vjp(cid, None) if gradients else self._value(cid) for cid in ids]
            if not gradients:
                return np.stack(answers)
            grads = Gradients((n, None if answers[0][n] is None else np.stack([a[n] for a in answers]))
                              for n in answers[0])
            grads.value = np.stack([a.value for a in answers])
            return grads
        for cid in ids:  # cases may share their inputs (not their cotangents): the one whose both match
            if all(np.array_equal(np.asarray(v), self.layer1.get(f"{cid}/in/{k}"), equal_nan=True)
                   for k, v in tensors.items()) and (not gradients or self._drawn_alike(cid, cotangent)):
                return self._vjp(cid, cotangent, **kwargs) if gradients else self._value(cid, **kwargs)
        raise Refused(f"{self.record.name}: a call on inputs none of the batch's cases has: the corpus holds "
                      "single answers and stacks of them")

    def _drawn_alike(self, cid: str, cotangent: object) -> bool:
        """The cotangent the harness draws for the case's output is the corpus's (where it holds one)."""
        stored, shape = self.layer1.get(f"{cid}/cotangent"), np.shape(self.arrays[f"{cid}/value"])
        return not callable(cotangent) or stored is None or stored.shape != shape or bool(
            np.array_equal(cotangent(shape), stored))

    def _inputs_match(self, cid: str, kwargs: dict) -> None:
        """The harness's inputs for the case are the corpus's, bit for bit (else TF's answers are
        for other numbers)."""
        for name, value in self.record.tensors(kwargs).items():
            stored = self.layer1.get(f"{cid}/in/{name}")
            value = np.asarray(value)
            if stored is not None and (stored.dtype != value.dtype or stored.shape != value.shape
                                       or stored.tobytes() != value.tobytes()):
                raise Refused(f"case {cid}: this harness makes other {name} than the corpus holds "
                              "(the corpus was built by another version): build it again")

    def _value(self, cid: str, **kwargs: object) -> np.ndarray:
        self._inputs_match(cid, kwargs)
        answer = self.outcomes[cid]
        said = answer.get("forward", answer.get("tape"))
        if said != "ok":
            raise OracleError(said["raised"], said["message"])
        return self.arrays[f"{cid}/value"]

    def _vjp(self, cid: str, cotangent: object, **kwargs: object) -> Gradients:
        self._inputs_match(cid, kwargs)
        answer = self.outcomes[cid]
        if answer["tape"] != "ok":
            raise OracleError(answer["tape"]["raised"], answer["tape"]["message"])
        if not self._drawn_alike(cid, cotangent):
            raise Refused(f"case {cid}: this harness draws another cotangent than the corpus holds: build it again")
        grads = Gradients((n, self.arrays[f"{cid}/vjp_{n}"] if present else None)
                          for n, present in answer["grads"].items())
        grads.value = self.arrays[f"{cid}/value"]
        return grads
