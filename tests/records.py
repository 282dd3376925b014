"""The shape of an op record: everything the harness knows about one op, in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tests.compare import Tolerance
from tests.inputs import Case, np_dtype

Inputs = dict[str, np.ndarray]
Mask = np.ndarray | bool
ERROR_PREFIX = "error:"


@dataclass(frozen=True)
class Evidence:
    """A pinned input on which TF is measured to diverge, with what TF gives and the exact answer.

    `check` is "value", "vjp_<input>" or "raises"; `tf` is TF's output (or its error class for
    "raises"), `exact` the mathematically exact answer, derived independently of impl.
    """

    check: str
    inputs: Mapping[str, object]
    tf: object
    exact: object


@dataclass(frozen=True)
class KnownDivergence:
    """Where TF departs from the exact answer, or from itself across dtypes, and impl does not follow.

    `where(case, inputs)` marks the output elements it explains (True: the whole case).
    """

    name: str
    what: str
    dtypes: frozenset[str]
    checks: frozenset[str]
    where: Callable[[Case, Inputs], Mask]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class ErrorInput:
    """An input at the edge of the op's domain: both sides must raise alike, or return alike."""

    name: str
    kwargs: Callable[[np.dtype], dict[str, object]]
    tf_raises: bool


@dataclass(frozen=True)
class OpRecord:
    """One op: its functions (looked up by name in impl / oracle), inputs, tolerances and quirks."""

    name: str
    build: Callable[[Case], Inputs]
    grads: tuple[str, ...]
    value_tolerance: Mapping[str, Tolerance]
    vjp_tolerance: Mapping[str, Tolerance]
    scales: Callable[[Inputs, int, np.ndarray | None], dict[str, np.ndarray]]
    has_axis: bool = False
    label_kinds: tuple[str | None, ...] = (None,)
    regimes: tuple[str, ...] = ()
    broadcast_labels: bool = False
    divergences: tuple[KnownDivergence, ...] = ()
    errors: tuple[ErrorInput, ...] = ()
    min_rank: int = 1
    max_rank: int = 6

    def call_kwargs(self, case: Case, inputs: Inputs) -> dict[str, object]:
        """The op's arguments: its inputs, and the axis when the case names one."""
        return inputs | ({"axis": case.axis} if self.has_axis and case.axis is not None else {})

    def error_case(self, error: ErrorInput, dtype: str) -> Case:
        """The spec of an error input: its regime names it, so the spec alone replays it."""
        kwargs = error.kwargs(np_dtype(dtype))
        first = next(v for k, v in kwargs.items() if k in ("logits", "x"))
        return Case(self.name, dtype, np.shape(first), kwargs.get("axis"), regime=f"{ERROR_PREFIX}{error.name}")

    def arguments(self, case: Case) -> dict[str, object]:
        """The keyword arguments `case` stands for, generated from its spec."""
        if case.regime.startswith(ERROR_PREFIX):
            name = case.regime.removeprefix(ERROR_PREFIX)
            return next(e for e in self.errors if e.name == name).kwargs(np_dtype(case.dtype))
        return self.call_kwargs(case, self.build(case))

    def tolerance(self, check: str, dtype: str) -> Tolerance:
        return (self.value_tolerance if check == "value" else self.vjp_tolerance)[dtype]

    def divergences_for(self, case: Case, check: str) -> list[KnownDivergence]:
        return [d for d in self.divergences if case.dtype in d.dtypes and check in d.checks]
