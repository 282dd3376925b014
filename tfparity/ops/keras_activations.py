"""Keras 3's softmax over several axes (`keras.activations.softmax` / `log_softmax` with `axis=None`
or an axis tuple) and its masked layer (`keras.layers.Softmax(axis)(inputs, mask)`).

With an int axis `keras.activations.softmax` is `tf.nn.softmax` (its record checks that); with
None it joins every axis (where `tf.nn.softmax(axis=None)` takes the last: a port's classic slip),
with a tuple the axes named. Keras moves the joined axes last, merges them and calls `tf.nn`'s op:
the records here reuse that op's exact answer, scales and oneDNN divergence on the merged array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from mpmath import mpf

import impl
import oracle
from tfparity import exact, wide
from tfparity import inputs as gen
from tfparity.backend import computed_in
from tfparity.ops import scales as nn_scales
from tfparity.ops.activations import LOG_SOFTMAX, ON_ONEDNN, ONEDNN_RANK_LIMIT, SOFTMAX
from tfparity.ops.common import (
    ALL,
    ALL_REGIMES,
    FLUSHES_SUBNORMALS,
    TRACED,
    held_in_float32,
    rows_where,
)
from tfparity.records import Evidence, Inputs, KnownDivergence, OpRecord


@dataclass(frozen=True)
class Joined:
    """The axes a Keras softmax joins (None: every axis; negative ones read as Python does), as
    a move to the end and a merge into one: `forward` makes tf.nn's array of an input, `back`
    returns an array of that shape to the input's."""

    axes: tuple[int, ...] | None

    def _order(self, ndim: int) -> tuple[list[int], int]:
        axes = list(range(ndim)) if self.axes is None else [a % ndim for a in self.axes]
        return [i for i in range(ndim) if i not in axes] + axes, ndim - len(axes)

    def forward(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        order, kept = self._order(a.ndim)
        moved = np.transpose(a, order)
        return moved.reshape(*moved.shape[:kept], int(np.prod(moved.shape[kept:], dtype=np.int64)))

    def back(self, b: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        order, _ = self._order(len(shape))
        return np.transpose(np.reshape(b, [shape[i] for i in order]), np.argsort(order))

    def index(self, index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
        """Where element `index` of an input of `shape` sits in the merged array."""
        flat = int(np.ravel_multi_index(index, shape)) if shape else 0
        where = np.argwhere(self.forward(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)) == flat)
        return tuple(int(i) for i in where[0])


def _merged(joined: Joined, inputs: Inputs, g: np.ndarray | None) -> tuple[Inputs, np.ndarray | None]:
    return {"logits": joined.forward(inputs["x"])}, None if g is None else joined.forward(g)


def _last(merged: Inputs) -> int:
    """The merged array's class axis, the last, as tf.nn's records number it."""
    return merged["logits"].ndim - 1


def _scales(joined: Joined, base: Callable) -> Callable:
    def sizes(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
        merged, mg = _merged(joined, inputs, g)
        shape = np.shape(inputs["x"])
        return {name.replace("logits", "x"): joined.back(np.broadcast_to(size, merged["logits"].shape), shape)
                for name, size in base(merged, _last(merged), mg).items()}
    return sizes


def _exact(joined: Joined, base: Callable, check: str, inputs: Inputs, axis, g, index):
    merged, mg = _merged(joined, inputs, g)
    return base(check.replace("vjp_x", "vjp_logits"), merged, _last(merged), mg,
                joined.index(index, np.shape(inputs["x"])))


def _wide(joined: Joined, base: Callable, check: str, inputs: Inputs, axis, g) -> np.ndarray:
    merged, mg = _merged(joined, inputs, g)
    return joined.back(base(check.replace("vjp_x", "vjp_logits"), merged, _last(merged), mg), np.shape(inputs["x"]))


def _nonfinite_rows(joined: Joined, case, inputs) -> np.ndarray:
    x = np.asarray(inputs["x"], np.float64)
    merged = joined.forward(np.isnan(x) | np.isposinf(x))
    return joined.back(rows_where(merged, -1), x.shape)


_ALL, _LEADING, _TRAILING = None, (0, 1), (-2, -1)
JOINED = {"all_axes": Joined(_ALL), "leading_pair": Joined(_LEADING), "trailing_pair_negative": Joined(_TRAILING)}

NONFINITE_PARTIAL_NAN = replace(
    next(d for d in SOFTMAX.divergences if d.name == "softmax_nonfinite_row_partial_nan"),
    name="keras_softmax_joined_nonfinite_partial_nan",
    what="Inherited from tf.nn.softmax (softmax_nonfinite_row_partial_nan) on the axes Keras joins: on "
         "the oneDNN kernel a group holding +inf or nan is nan there and 0 elsewhere.",
    checks=frozenset({"value", "vjp_x"}),
    where=lambda case, inputs: _nonfinite_rows(JOINED[case.op.partition(":")[2]], case, inputs),
    evidence=(Evidence("value", {"x": np.array([[np.inf, 0.0], [1.0, 2.0]], np.float32), "axis": None},
                       np.array([[np.nan, 0.0], [0.0, 0.0]], np.float32), np.full((2, 2), np.nan)),),
)


NEGATIVE_AXES_IN_TUPLE = KnownDivergence(
    name="keras_softmax_negative_axes_in_tuple",
    what="keras.activations.softmax and log_softmax (keras.ops) keep the axes `range(ndim)` does not "
         "list in a tuple `axis`, so a negative axis is never matched: the transpose they build names "
         "axes twice and raises ValueError ('axes must be a valid permutation'). keras.layers.Softmax "
         "takes the same tuple (through logsumexp). impl reads negative axes as Python does.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_x"}),
    where=lambda case, inputs: True,
    evidence=(Evidence("value", {"x": np.zeros((2, 2), np.float32), "axis": (-2, -1)}, "ValueError",
                       np.full((2, 2), 0.25)),),
)

TUPLE_NEEDS_STATIC_SHAPES = KnownDivergence(
    name="keras_softmax_tuple_axes_need_static_shapes",
    what="With an axis tuple keras.ops.softmax reshapes to the kept axes' static sizes: traced with "
         "unknown dimensions (the graph and XLA modes' signatures) they are None and the reshape "
         "raises. A Keras model, whose batch dimension alone is unknown, fails alike when the batch "
         "axis is kept.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_x"}),
    where=lambda case, inputs: True,
    modes=TRACED,
    evidence=(Evidence("value", {"x": np.zeros((2, 2, 2), np.float32), "axis": (1, 2)}, "ValueError",
                       np.full((2, 2, 2), 0.25)),),
)


def joined_record(function: str, base: OpRecord, variant: str, axes: tuple[int, ...] | None,
                  divergences: tuple[KnownDivergence, ...] = ()) -> OpRecord:
    """`keras.activations.<function>` with `axis=axes`, from tf.nn's record of the op."""
    joined = Joined(axes)
    return OpRecord(
        reference=getattr(impl, function),
        tf=partial(oracle.keras_value, function),
        tf_vjp=partial(oracle.keras_vjp, function),
        exact=partial(_exact, joined, base.exact),
        wide=partial(_wide, joined, base.wide),
        build=partial(gen.activation_inputs, name="x"),
        grads=("x",),
        value_tolerance=base.value_tolerance,
        vjp_tolerance=base.vjp_tolerance,
        scales=_scales(joined, base.scales),
        regimes=ALL_REGIMES,
        divergences=(*divergences, FLUSHES_SUBNORMALS),
        min_rank=0 if axes is None else max(2, *(a + 1 if a >= 0 else -a for a in axes)),
        options={"axis": axes},
        variant=variant,
        family="keras",
        share=4,
        stacks=False,  # its axes are the case's own: a batch axis would join None's, and shift a tuple's
    )


KERAS_SOFTMAX_ALL = joined_record("keras_softmax", SOFTMAX, "all_axes", _ALL, (NONFINITE_PARTIAL_NAN,))
KERAS_SOFTMAX_LEADING = joined_record("keras_softmax", SOFTMAX, "leading_pair", _LEADING,
                                      (NONFINITE_PARTIAL_NAN, TUPLE_NEEDS_STATIC_SHAPES))
KERAS_SOFTMAX_TRAILING = joined_record("keras_softmax", SOFTMAX, "trailing_pair_negative", _TRAILING,
                                       (NEGATIVE_AXES_IN_TUPLE, TUPLE_NEEDS_STATIC_SHAPES))
KERAS_LOG_SOFTMAX_ALL = joined_record("keras_log_softmax", LOG_SOFTMAX, "all_axes", _ALL)
KERAS_LOG_SOFTMAX_LEADING = joined_record("keras_log_softmax", LOG_SOFTMAX, "leading_pair", _LEADING,
                                          (TUPLE_NEEDS_STATIC_SHAPES,))


# --- keras.layers.Softmax with a mask --------------------------------------------------------------

def _layer_inputs(case) -> Inputs:
    """Inputs of the case's regime and a mask of their shape: all kept, 70% kept, or none kept."""
    x = gen.values(case, case.rng(), case.shape)
    return {"inputs": x, "mask": gen.MASKS[case.seed % len(gen.MASKS)](case.rng(5), case.shape)}


def _kept(inputs: Inputs) -> np.ndarray:
    return np.broadcast_to(np.asarray(inputs["mask"], bool), np.shape(inputs["inputs"]))


def _masked_out(inputs: Inputs) -> Inputs:
    """tf.nn.softmax's inputs whose exact softmax is the layer's: the inputs as the layer computes
    them (float32), masked entries at -inf."""
    x = np.asarray(inputs["inputs"]).astype(np.float32).astype(np.float64)
    return {"logits": np.where(_kept(inputs), x, -np.inf)}


def _float32(g: np.ndarray | None) -> np.ndarray | None:
    """The cotangent of the layer's float32 output, as TF takes it."""
    return None if g is None else np.asarray(g).astype(np.float32)


def _layer_exact(check: str, inputs: Inputs, axis, g, index):
    if not _kept(inputs)[index]:
        return mpf(0)
    return exact.softmax(check.replace("vjp_inputs", "vjp_logits"), _masked_out(inputs), axis, _float32(g), index)


def _layer_wide(check: str, inputs: Inputs, axis, g) -> np.ndarray:
    out = wide.softmax(check.replace("vjp_inputs", "vjp_logits"), _masked_out(inputs), axis, _float32(g))
    return np.where(_kept(inputs), out, 0)


def _layer_scales(inputs: Inputs, axis: int | None, g: np.ndarray | None) -> dict[str, np.ndarray]:
    with np.errstate(all="ignore"):
        sizes = nn_scales.softmax_scales(_masked_out(inputs), axis, _float32(g))
    return {name.replace("logits", "inputs"): np.where(_kept(inputs), np.nan_to_num(size), 0.0)
            for name, size in sizes.items()}


FILL = -1e9  # what Keras puts in place of a masked input computed in float32 (`_large_negative_number`)


def _fill_counts(case, inputs) -> np.ndarray:
    """Rows holding a masked entry whose kept entries are all within 50 of the fill (or -inf, or
    nan): e^-50 is below float64's last place, so elsewhere the fill's weight is nothing."""
    x = np.asarray(inputs["inputs"], np.float32).astype(np.float64)
    keep, axis = _kept(inputs), case.class_axis
    top = np.where(keep, x, -np.inf).max(axis=axis, keepdims=True) if x.size else np.zeros(x.shape)
    return np.broadcast_to((~keep).any(axis=axis, keepdims=True) & ~(top > FILL + 50), x.shape)


MASK_FILL_COUNTS = KnownDivergence(
    name="keras_softmax_mask_fill_counts",
    what="keras.layers.Softmax puts -1e9 in place of masked inputs (-3e4 under a float16 policy), not "
         "-inf, so where the kept inputs of a row lie near or below that (or are all -inf) the masked "
         "entries take the weight and the mask then zeroes them: the kept outputs are too small, or 0. "
         "impl takes the softmax of the kept entries alone: inputs [-2e9, 0] with the second masked "
         "give [0, 0] where the softmax of [-2e9] alone is [1, 0].",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_inputs"}),
    where=_fill_counts,
    evidence=(Evidence("value", {"inputs": np.array([-2e9, 0.0], np.float32), "mask": np.array([True, False])},
                       np.array([0.0, 0.0], np.float32), np.array([1.0, 0.0])),),
)

LAYER_NONFINITE = replace(
    next(d for d in SOFTMAX.divergences if d.name == "softmax_nonfinite_row_partial_nan"),
    name="keras_softmax_layer_nonfinite_partial_nan",
    what="Inherited from tf.nn.softmax (softmax_nonfinite_row_partial_nan): on the oneDNN kernel a row "
         "whose kept inputs hold +inf or nan is nan there and 0 elsewhere, where the exact softmax of "
         "the kept entries is nan at each.",
    checks=frozenset({"value", "vjp_inputs"}),
    when=computed_in("float32", ON_ONEDNN),
    where=lambda case, inputs: rows_where(_kept(inputs) & (np.isnan(_masked_out(inputs)["logits"])
                                                           | np.isposinf(_masked_out(inputs)["logits"])), case.class_axis),
    evidence=(Evidence("value", {"inputs": np.array([[np.inf, 0.0, 1.0]], np.float32),
                                 "mask": np.array([[True, True, False]])},
                       np.array([[np.nan, 0.0, 0.0]], np.float32), np.array([[np.nan, np.nan, 0.0]])),),
)

LAYER_RANK_LIMIT = replace(
    ONEDNN_RANK_LIMIT,
    name="keras_softmax_layer_onednn_rank_limit",
    what="Inherited from tf.nn.softmax (softmax_onednn_rank_limit): the layer computes in float32, and "
         "where float32's softmax takes the oneDNN kernel it aborts for rank >= 6, whatever the inputs' dtype.",
    checks=frozenset({"value", "vjp_inputs"}),
    where=lambda case, inputs: np.ndim(inputs["inputs"]) > 5,
    when=computed_in("float32", ON_ONEDNN),
    evidence=(Evidence("value", {"inputs": np.zeros((2, 1, 1, 1, 1, 2), np.float16)}, "AbortedError",
                       np.full((2, 1, 1, 1, 1, 2), 0.5)),),
)

KERAS_SOFTMAX_LAYER = OpRecord(
    reference=impl.keras_softmax_layer,
    tf=partial(oracle.keras_value, "keras_softmax_layer"),
    tf_vjp=partial(oracle.keras_vjp, "keras_softmax_layer"),
    exact=_layer_exact,
    wide=_layer_wide,
    build=_layer_inputs,
    grads=("inputs",),
    # the layer computes in float32 (its dtype policy) whatever its inputs' dtype: float32's softmax budgets
    value_tolerance=held_in_float32(SOFTMAX.value_tolerance, SOFTMAX.value_tolerance["float32"], returns_float32=True),
    vjp_tolerance=held_in_float32(SOFTMAX.vjp_tolerance, SOFTMAX.vjp_tolerance["float32"]),
    scales=_layer_scales,
    has_axis=True,
    regimes=ALL_REGIMES,
    divergences=(MASK_FILL_COUNTS, LAYER_NONFINITE, LAYER_RANK_LIMIT, FLUSHES_SUBNORMALS),
    variant="masked",
    family="keras",
    share=4,
)

ACTIVATION_RECORDS: tuple[OpRecord, ...] = (KERAS_SOFTMAX_ALL, KERAS_SOFTMAX_LEADING, KERAS_SOFTMAX_TRAILING,
                                            KERAS_LOG_SOFTMAX_ALL, KERAS_LOG_SOFTMAX_LEADING, KERAS_SOFTMAX_LAYER)
