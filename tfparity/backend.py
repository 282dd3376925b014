"""The backend: what decides TF's numerics for a case, as probed on this machine, and named.

A backend is a device, an execution mode and the kernel each op x dtype takes. It is built from
the answers `oracle.probe` gets from TF itself (never from a CPU table), and named by a
fingerprint: two machines with the same fingerprint run the same kernels with the same edge
behaviour. Known divergences, tolerances and seed observations say where they hold with a `When`
over it. Tests build backends from fed answers to check that logic on paths this machine lacks.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tfparity.dtypes import DTYPES

ONEDNN, EIGEN, XLA, UNKNOWN = "onednn", "eigen", "xla", "unknown"
# The instruction sets TF's kernel choice and Eigen's code paths read (oneDNN's default policy,
# bf16 and f16 routing). They are part of the fingerprint, so two CPUs share one only when these
# agree too; nothing decides a verdict on them: the probe's answers do.
CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
             "amx_bf16", "amx_int8", "amx_fp16", "avx_ne_convert")


@dataclass(frozen=True)
class Kernel:
    """A TF kernel, recognised by an answer no other kernel of the op gives."""

    op: str
    name: str
    question: str
    answer: str
    source: str


# Each op's kernels, told apart by an edge only one of them has. Ops missing here have one
# kernel on CPU in TF 2.21 (Eigen-based): the probe still records their edge behaviour.
KERNELS: tuple[Kernel, ...] = (
    Kernel("softmax", ONEDNN, "softmax.rank_6", "AbortedError",
           "tensorflow/core/kernels/mkl/mkl_softmax_op.cc: 'Input dims must be <= 5 and >=1'"),
    Kernel("softmax", EIGEN, "softmax.rank_6", "ok",
           "tensorflow/core/kernels/softmax_op.cc: any rank >= 1"),
)


@dataclass(frozen=True)
class Backend:
    """The probed answers (`"<question>/<dtype>"` -> answer, plus device, mode, oneDNN state and
    the CPU's flags)."""

    facts: Mapping[str, str] = field(hash=False)

    @property
    def device(self) -> str:
        return self.facts.get("device", "cpu")

    @property
    def mode(self) -> str:
        return self.facts.get("mode", "eager")

    @property
    def compiles_per_shape(self) -> bool:
        """XLA builds a program per concrete shape: a stacked batch is one more program, where
        cases run alone share their shape's."""
        return self.mode == XLA

    def answer(self, question: str, dtype: str) -> str:
        return self.facts.get(f"{question}/{dtype}", UNKNOWN)

    def kernel(self, op: str, dtype: str) -> str:
        """The kernel `op` takes for `dtype`: the one whose signature the probe saw, else unknown.
        Under XLA no TF kernel runs: XLA compiles the op itself."""
        if self.mode == XLA:
            return XLA
        found = [k.name for k in KERNELS if k.op == op and self.answer(k.question, dtype) == k.answer]
        return found[0] if len(found) == 1 else UNKNOWN

    def flushes(self, dtype: str) -> bool:
        """Whether TF zeroes subnormal results in `dtype` (the CPU's flush-to-zero mode)."""
        return self.answer("subnormal_results", dtype) == "flushed"

    @functools.cached_property
    def fingerprint(self) -> str:
        """`<device>-<mode>-tf<version>-<hash of every answer and the CPU flags>`: equal exactly
        when all of them are."""
        digest = hashlib.sha1(json.dumps(dict(self.facts), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.device}-{self.mode}-tf{self.facts.get('tensorflow', '?')}-{digest}"

    def kernels(self) -> dict[str, dict[str, str]]:
        """op -> dtype -> kernel, for every op with more than one kernel."""
        return {op: {d: self.kernel(op, d) for d in DTYPES} for op in dict.fromkeys(k.op for k in KERNELS)}

    def summary(self) -> str:
        """One line a person reads: which kernels, oneDNN, flush-to-zero."""
        parts = []
        for op, by_dtype in self.kernels().items():
            groups = {}
            for dtype, kernel in by_dtype.items():
                groups.setdefault(kernel, []).append(dtype)
            parts.append(f"{op}: " + ", ".join(f"{k} for {'/'.join(ds)}" for k, ds in groups.items()))
        flushed = [d for d in DTYPES if self.flushes(d)]
        parts.append(f"oneDNN {self.facts.get('onednn', UNKNOWN)}")
        parts.append(f"subnormal results flushed in {'/'.join(flushed) or 'no dtype'}")
        return "; ".join(parts)

    def differences(self, other: Backend) -> list[str]:
        """The answers that differ, as `question: this -> other`."""
        keys = sorted(set(self.facts) | set(other.facts))
        return [f"{k}: {self.facts.get(k, UNKNOWN)} -> {other.facts.get(k, UNKNOWN)}"
                for k in keys if self.facts.get(k) != other.facts.get(k)]

    def record(self) -> dict[str, object]:
        """What reports keep: the fingerprint, the summary, the kernels and every answer."""
        return {"fingerprint": self.fingerprint, "summary": self.summary(), "kernels": self.kernels(),
                "facts": dict(self.facts)}


def cpu_flags() -> str:
    """Which of CPU_FLAGS the OS reports (Linux /proc/cpuinfo; elsewhere "unknown")."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return UNKNOWN
    present = next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                    if line.startswith(("flags", "Features"))), set())
    return " ".join(f for f in CPU_FLAGS if f in present) or "none"


def current() -> Backend:
    """This process's backend in the oracle's mode, probed once per mode (importing TensorFlow);
    in a run against a corpus, the backend its answers were captured on (`answer_from`)."""
    if _captured:
        return _captured[0]
    from oracle import modes

    return _probed(modes.current())


_captured: list[Backend] = []


def from_corpus(backend: Backend) -> bool:
    """Whether TF's answers on `backend` come from a corpus (each a single case's answer)."""
    return backend in _captured


def answer_from(backend: Backend) -> None:
    """TF's answers in this process come from a corpus captured on `backend`: it is `current()`,
    and TF is never probed."""
    _captured[:] = [backend]


@functools.cache
def _probed(mode: str) -> Backend:
    from oracle import probe

    return Backend(probe.observe(DTYPES) | {"cpu_flags": cpu_flags()})


@dataclass(frozen=True)
class When:
    """Where something holds: a predicate over a backend and a dtype, with the words that say it."""

    what: str
    holds: Callable[[Backend, str], bool] = field(compare=False)


ALWAYS = When("on every backend", lambda backend, dtype: True)


def on_kernel(op: str, kernel: str) -> When:
    """Where the probe found `op` on `kernel` for the case's dtype."""
    return When(f"tf.nn.{op} runs on its {kernel} kernel for the dtype",
                lambda backend, dtype: backend.kernel(op, dtype) == kernel)


def computed_in(dtype: str, when: When) -> When:
    """`when`, asked of `dtype` whatever the case's (a Keras layer computes in float32)."""
    return When(f"{when.what.replace('the dtype', dtype)} (the case computed in {dtype})",
                lambda backend, _: when.holds(backend, dtype))


def flushes_subnormals() -> When:
    return When("TF flushes subnormal results in the dtype", lambda backend, dtype: backend.flushes(dtype))
