"""The shape of an op record: everything the harness knows about one op, in one place.

A record names the functions it checks (impl's, TF's through `oracle`), builds its inputs from a
`Case`, and keeps its tolerances and its known divergences. A divergence is data in the manner of
jax2tf's limitations: the devices, modes and dtypes it was measured on and a `When` over the
probed backend; it explains mismatches exactly where it applies, and nowhere else.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from oracle.modes import MODES
from tfparity.backend import ALWAYS, Backend, When
from tfparity.compare import Tolerance
from tfparity.dtypes import DTYPES, as_constant, np_dtype
from tfparity.inputs import Case

Inputs = dict[str, np.ndarray]
# the magnitude of a formula's terms per check, each in that check's output shape
Scales = Callable[[Inputs, int | None, np.ndarray | None], dict[str, np.ndarray]]
Mask = np.ndarray | bool
ERROR_PREFIX = "error:"
PRIMARY = ("logits", "x", "y_pred", "inputs")  # the input whose shape and dtype name a case


@dataclass(frozen=True)
class Evidence:
    """A pinned input on which TF is measured to diverge, with what TF gives and the exact answer.

    `check` is "value", "vjp_<input>" or "raises"; `tf` is TF's output (or its error class for
    "raises"), `exact` the mathematically exact answer, derived independently of impl. `tf_in`
    holds TF's output in the modes where it was measured to be another (XLA's rounding, a graph's
    misshapen gradient). A VJP is taken of a cotangent of ones, or of `cotangent`.
    """

    check: str
    inputs: Mapping[str, object]
    tf: object
    exact: object
    tf_in: Mapping[str, object] = field(default_factory=dict)
    candidate: object = None  # a candidate's divergence: what the candidate gives (or the class it raises)
    op: str = ""  # a candidate's divergence several ops share: the op the evidence was measured on
    cotangent: object = None

    def tf_answer(self, mode: str) -> object:
        """What TF gives in `mode`."""
        return self.tf_in.get(mode, self.tf)


@dataclass(frozen=True)
class KnownDivergence:
    """Where TF departs from the exact answer, or from itself across backends, and impl does not follow.

    It applies to a case when the case's dtype is in `dtypes`, the backend's device and mode are
    in `devices` and `modes`, and `when` holds for the backend and dtype; `where(case, inputs)`
    then marks the output elements it explains (True: the whole case). Where it does not apply,
    TF must agree with the candidate: a divergence that vanished is a finding.
    """

    name: str
    what: str
    dtypes: frozenset[str]
    checks: frozenset[str]
    where: Callable[[Case, Inputs], Mask]
    evidence: tuple[Evidence, ...]
    when: When = ALWAYS
    devices: frozenset[str] = frozenset({"cpu"})
    modes: frozenset[str] = frozenset(MODES)  # measured in each: a mode it does not hold in is left out

    def applies(self, backend: Backend, dtype: str) -> bool:
        return dtype in self.dtypes and self.holds_on(backend, dtype)

    def holds_on(self, backend: Backend, dtype: str) -> bool:
        """Whether the backend is one it is declared on (device, mode, `when`), the dtype aside."""
        return backend.device in self.devices and backend.mode in self.modes and self.when.holds(backend, dtype)

    def conditions(self) -> str:
        """Where it holds, in words."""
        return (f"dtypes {'/'.join(sorted(self.dtypes))}; devices {'/'.join(sorted(self.devices))}; "
                f"modes {'/'.join(sorted(self.modes))}; {self.when.what}")


@dataclass(frozen=True)
class CandidateDivergence(KnownDivergence):
    """Where a candidate departs from TF on purpose (another formula, convention or dtype rule),
    declared beside the candidate: it explains the candidate's mismatches exactly where it
    applies. `within` bounds how far from TF the candidate may be there, in ULPs or `abs_eps` eps
    times the check's scale (and at least `abs_eps` eps); None: any answer, a raise, another shape.
    Where TF's own divergence excuses TF, the candidate must meet the exact answer within that
    bound. Its evidence says what the candidate gives."""

    within: Tolerance | None = None
    # the size of the candidate's own formula's terms per check (each in the check's output
    # shape), as an op record's `scales`: this divergence's bound is then eps times the larger of
    # these and the op's scale
    scales: Scales | None = None

    def describe_bound(self) -> str:
        """The bound as a report shows it."""
        if self.within is None:
            return ""
        size = "max(scale, own terms, 1)" if self.scales else "max(scale, 1)"
        return f"{self.within.ulp:g} ULP" + (f" or {self.within.abs_eps:g} eps x {size}" if self.within.abs_eps else "")


@dataclass(frozen=True)
class ErrorInput:
    """An input at an edge of the op's domain, on either side of it, or written the way users
    call tf.nn (Python lists and numbers): both sides must raise alike, or return alike (values
    and dtype). `per_dtype=False` inputs fix their own dtypes and are checked once."""

    name: str
    kwargs: Callable[[np.dtype], dict[str, object]]
    tf_raises: bool
    per_dtype: bool = True
    tf_raises_in: Mapping[str, bool] = field(default_factory=dict)  # the modes where TF does otherwise

    def raises(self, mode: str) -> bool:
        """Whether TF raises for this input in `mode`."""
        return self.tf_raises_in.get(mode, self.tf_raises)


@dataclass(frozen=True)
class OpRecord:
    """One op: its functions, inputs, tolerances and quirks.

    `reference` is impl's function and `tf` TF's (from `oracle`); a candidate module provides
    the function of the same name and its `<name>_vjp`.
    """

    reference: Callable
    tf: Callable
    tf_vjp: Callable
    exact: Callable
    wide: Callable
    build: Callable[[Case], Inputs]
    grads: tuple[str, ...]
    value_tolerance: Mapping[str, Tolerance]
    vjp_tolerance: Mapping[str, Tolerance]
    scales: Scales
    has_axis: bool = False
    label_kinds: tuple[str | None, ...] = (None,)
    regimes: tuple[str, ...] = ()
    broadcast_labels: bool = False
    divergences: tuple[KnownDivergence, ...] = ()
    errors: tuple[ErrorInput, ...] = ()
    min_rank: int = 1
    max_rank: int = 6
    scalars: tuple[str, ...] = ()  # inputs of one number per case, broadcast over the logits
    # Python keyword values every call of this record passes (Keras's from_logits, label_smoothing):
    # the op's function is called with them, and the record is named `<function>:<variant>`
    options: Mapping[str, object] = field(default_factory=dict)
    variant: str = ""
    family: str = "tf.nn"  # a candidate provides the families it names in FAMILIES (default: all)
    # above 1, the derandomized profiles check one in this many of each fuzz batch's cases;
    # thorough checks all
    share: int = 1
    # whether cases stack into one call on a new leading axis (a loss class's reduction sums the batch: no)
    stacks: bool = True
    # a candidate's record (tfparity.check.for_candidate): per divergence declaring `scales`, its scales
    own_scales: Callable[[Inputs, int | None, np.ndarray | None], dict[str, dict[str, np.ndarray]]] = lambda *_: {}

    @property
    def function(self) -> str:
        """The name of the function a candidate provides for this op."""
        return self.reference.__name__

    @property
    def name(self) -> str:
        return f"{self.function}:{self.variant}" if self.variant else self.function

    def provided_by(self, candidate: object) -> bool:
        """Whether the candidate claims this record's family (`FAMILIES`; none declared: every one)."""
        return self.family in getattr(candidate, "FAMILIES", (self.family,))

    def candidate_functions(self, candidate: object) -> tuple[Callable, Callable]:
        """The candidate's value and VJP functions for this op (a candidate without gradients
        gives none: see `gradients`)."""
        return getattr(candidate, self.function), getattr(candidate, f"{self.function}_vjp") if gradients(
            candidate) else _no_gradients

    def candidate_problems(self, candidate: object) -> list[str]:
        """What keeps `candidate` from being called as the engine calls it: a missing function, or
        one whose signature does not take the op's arguments by name (the VJP: the cotangent first)."""
        sample = Case(self.name, "float32", (2, 3), -1 if self.has_axis else None, self.label_kinds[0],
                      *self.regimes[:1])  # the record's own regime: Keras's probability records have no "ordinary"
        names = dict.fromkeys(self.call_kwargs(sample, self.build(sample)))
        problems = []
        functions = ((self.function, ()), (f"{self.function}_vjp", ("cotangent",)))
        for function, first in functions if gradients(candidate) else functions[:1]:
            call = f"{function}({', '.join([*first, *names])})"
            fn = getattr(candidate, function, None)
            if not callable(fn):
                problems.append(f"no function {call}")
                continue
            try:
                signature = inspect.signature(fn)
            except ValueError:  # no signature to read (a builtin): it is called as it is
                continue
            try:
                signature.bind(*first, **names)
            except TypeError as error:
                problems.append(f"{function}{signature} cannot be called as {call}: {error}")
        return problems

    def call_kwargs(self, case: Case, inputs: Inputs) -> dict[str, object]:
        """The op's arguments: its inputs, the axis when the case names one, and its options."""
        return inputs | ({"axis": case.axis} if self.has_axis and case.axis is not None else {}) | dict(self.options)

    def tensors(self, kwargs: Mapping[str, object]) -> Inputs:
        """The arguments that are tensors (as `tf.constant` makes them): not the axis or an option."""
        return {k: as_constant(v) for k, v in kwargs.items() if k != "axis" and k not in self.options}

    def error_case(self, error: ErrorInput, dtype: str) -> Case:
        """The spec of an error input: its regime names it, so the spec alone replays it."""
        kwargs = error.kwargs(np_dtype(dtype))
        first = next(v for k, v in kwargs.items() if k in PRIMARY)
        return Case(self.name, dtype, np.shape(first), kwargs.get("axis"), regime=f"{ERROR_PREFIX}{error.name}")

    def error_cases(self) -> list[tuple[ErrorInput, Case]]:
        """Every error input's case: per dtype, or once (named by the dtype TF makes of it)."""
        return [(error, self.error_case(error, dtype)) for error in self.errors
                for dtype in (DTYPES if error.per_dtype else (_tf_dtype(error),))]


    def arguments(self, case: Case) -> dict[str, object]:
        """The keyword arguments `case` stands for, generated from its spec."""
        if case.regime.startswith(ERROR_PREFIX):
            name = case.regime.removeprefix(ERROR_PREFIX)
            return next(e for e in self.errors if e.name == name).kwargs(np_dtype(case.dtype))
        return self.call_kwargs(case, self.build(case))

    @property
    def checks(self) -> tuple[str, ...]:
        """A case's checks: its value, then each input's VJP."""
        return ("value", *(f"vjp_{name}" for name in self.grads))

    def class_axis(self, case: Case) -> int:
        """The axis the case's classes run along (-1 for the element-wise ops)."""
        return case.class_axis if self.has_axis else -1

    def tolerance(self, check: str, dtype: str) -> Tolerance:
        return (self.value_tolerance if check == "value" else self.vjp_tolerance)[dtype]

    def flushes(self, backend: Backend, check: str, dtype: str) -> bool:
        """Whether TF flushes subnormals where it computes the check: in the dtype, or the narrower
        one its tolerance says TF computes in (a Keras class: float32)."""
        return backend.flushes(self.tolerance(check, dtype).computes_in or dtype)

    def divergences_for(self, case: Case, check: str, backend: Backend) -> list[KnownDivergence]:
        """The divergences that may explain `check` of `case` on `backend`."""
        return [d for d in self.divergences if check in d.checks and d.applies(backend, case.dtype)]


def gradients(candidate: object) -> bool:
    """Whether a candidate gives gradients: one declaring `GRADIENTS = False` has values only, and
    its VJP checks are reported as not provided."""
    return getattr(candidate, "GRADIENTS", True) is not False


def _no_gradients(cotangent: object, **inputs: object) -> dict[str, object]:
    return {}


def _tf_dtype(error: ErrorInput) -> str:
    """The float dtype TF makes of an input's logits: a Python float or list is float32."""
    first = next(v for k, v in error.kwargs(np.dtype("float32")).items() if k in PRIMARY)
    dtype = np.asarray(first).dtype if isinstance(first, (np.ndarray, np.generic)) else np.dtype("float32")
    return dtype.name if dtype.name in DTYPES else "float32"
