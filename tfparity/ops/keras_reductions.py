"""Keras 3's loss classes called, `keras.losses.<Loss>(reduction=...)(y_true, y_pred, sample_weight)`
with a Keras mask on y_pred: one record per reduction, each on one loss and variant, named
`reduced_loss:<loss variant>_<reduction>`. They check what the loss functions' records do not:
the cast to float32 (the class's dtype) whatever the input dtype, the mask and `ignore_class`
merged into the weights, each reduction's divisor, and the gradients for the sample weights.

A case's inputs stack with no others: a reduction sums over the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial

import numpy as np

import impl.reduction
import oracle
from tfparity import inputs as gen
from tfparity.keras_reference import kept_samples, keras_wide, references
from tfparity.ops import keras as losses
from tfparity.ops.common import ALL, TRACED, held_in_float32, measured
from tfparity.records import ErrorInput, Evidence, Inputs, KnownDivergence, OpRecord

FLOATX = np.float32  # the dtype a loss class computes in: keras.config.floatx()


def _floatx(inputs: Inputs) -> Inputs:
    """y_true (float labels) and y_pred as the loss class casts them."""
    return {name: np.asarray(inputs[name]).astype(FLOATX) if np.asarray(inputs[name]).dtype.kind == "f"
            else np.asarray(inputs[name]) for name in ("y_true", "y_pred")}


def _scales(loss: str, reduction: str, options: Mapping[str, object], per_sample: Callable) -> Callable:
    """The loss's per-sample terms (its record's scales, in float32), each times the weight it
    carries into the reduction, plus the reduction's own: the product's rounding (|w v|), the
    sum's (log2 n of them) and the division's (the result)."""
    def sizes(inputs: Inputs, axis: int, g: np.ndarray | None) -> dict[str, np.ndarray]:
        floatx = _floatx(inputs)
        values = np.abs(np.asarray(keras_wide(loss, options, "value", floatx, axis, None), np.float64))
        kept = kept_samples(loss, options, inputs, values.shape)
        w = np.where(kept, np.abs(np.asarray(inputs["sample_weight"], np.float64)), 0.0)
        divisor = {"sum_over_batch_size": kept.sum(), "mean_with_sample_weight": w.sum()}.get(reduction, 1.0)
        unreduced = reduction == "none" or values.shape == (0,)
        slope = 1.0 if unreduced or divisor == 0 else 1.0 / divisor
        g_abs = np.ones(()) if g is None else np.abs(np.asarray(g, np.float64))
        each = per_sample(floatx, axis, np.broadcast_to(g_abs * slope * w, values.shape))
        terms = w * (np.asarray(each["value"], np.float64) + values)
        total = terms if unreduced else (1.0 + np.log2(max(values.size, 1))) * terms.sum() * slope
        out = {"value": np.asarray(total + (0.0 if unreduced else np.abs((w * values).sum()) * slope))}
        if g is not None:
            out |= {name: size for name, size in each.items() if name != "value"}
            # the mean each weight's loss is taken from: its size bounded by the reduced value's scale
            mean = out["value"] if reduction == "mean_with_sample_weight" else 0.0
            out["vjp_sample_weight"] = np.where(kept, g_abs * slope * (each["value"] + values + mean), 0.0)
        return out
    return sizes


ONE_SAMPLE_UNREDUCED = KnownDivergence(
    name="keras_one_sample_unreduced",
    what="A loss class returns the loss of one sample (a per-sample loss of shape ()) unreduced: "
         "its weighted value, not divided by the weight under mean_with_sample_weight. "
         "CategoricalCrossentropy(from_logits=True, reduction='mean_with_sample_weight') of logits "
         "[0, 0] with weight 3 gives 3 log 2 where the weighted mean is log 2 (a batch of one row, "
         "[[0, 0]] with weight [3], gives log 2), and its gradient for the weight is the loss, not 0. "
         "impl averages.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_sample_weight"}),
    where=lambda case, inputs: len(case.shape) == 1,
    evidence=(Evidence("value", {"y_true": np.array([1.0, 0.0], np.float32), "y_pred": np.zeros(2, np.float32),
                                 "sample_weight": np.float32(3.0), "mask": np.bool_(True),
                                 "loss": "categorical_crossentropy", "reduction": "mean_with_sample_weight",
                                 "from_logits": True},
                       np.float32(3.0 * np.log(2.0)), np.log(2.0)),),
)


SQUEEZED_TO_RANK_0 = replace(
    losses.RANK_0_INDEX_ERROR,
    name="keras_class_squeezes_to_rank_0",
    what="A loss class first matches y_true's rank to y_pred's (squeeze_or_expand_to_same_rank): a "
         "y_pred of shape [1] against a sparse label of shape () loses its axis, and "
         "sparse_categorical_crossentropy then reads the rank-0 prediction's shape[-1]: Python's "
         "IndexError, not a ValueError. impl raises InvalidArgumentError. Traced with unknown dimensions "
         "nothing is squeezed and TF gives the one-class loss, 0 (keras_class_shape_rules_read_static_shapes).",
    checks=frozenset({"value", "vjp_y_pred", "vjp_sample_weight"}),
    where=lambda case, inputs: np.shape(inputs["y_pred"]) == (1,),
    evidence=(Evidence("value", {"y_true": np.int32(0), "y_pred": np.array([0.5], np.float32),
                                 "loss": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
                                 "from_logits": True}, "IndexError", "InvalidArgumentError",
                       tf_in=dict.fromkeys(TRACED, np.float32(0.0))),),
)


def _static_shape_rule(case, inputs) -> bool:
    """Whether Keras decides the case by a static shape: a one-class prediction one rank above its
    sparse labels, per-sample losses of shape (0,), or sample weights of another rank than them."""
    pred, labels = np.shape(inputs["y_pred"]), np.shape(inputs["y_true"])
    samples = labels if len(labels) == len(pred) - 1 else tuple(n for i, n in enumerate(pred) if i != case.class_axis)
    one_class = pred[-1:] == (1,) and len(labels) == len(pred) - 1
    return one_class or samples == (0,) or np.ndim(inputs["sample_weight"]) != len(samples)


STATIC_SHAPE_RULES = KnownDivergence(
    name="keras_class_shape_rules_read_static_shapes",
    what="A loss class matches ranks (squeeze_or_expand_to_same_rank) and leaves a loss of shape (0,) "
         "unreduced by reading static shapes; traced with unknown dimensions (the graph and XLA modes' "
         "signatures) it sees none, so: a one-class y_pred [..., 1] against sparse labels [...] is not "
         "squeezed (eager squeezes it, then raises, as impl does), sample weights [N, T, 1] against "
         "losses [N, T] are not squeezed (traced: 'Incompatible shapes'), and an empty batch's loss is "
         "reduced to a scalar 0 (eager and impl: shape (0,)). A Keras model, whose only unknown "
         "dimension is the batch, sees eager's rules except for the empty batch.",
    dtypes=ALL,
    checks=frozenset({"value", "vjp_y_pred", "vjp_y_true", "vjp_sample_weight"}),
    where=_static_shape_rule,
    modes=TRACED,
    evidence=(Evidence("value", {"y_true": np.zeros((0, 3), np.float32), "y_pred": np.zeros((0, 3), np.float32),
                                 "loss": "categorical_crossentropy", "reduction": "sum", "from_logits": True},
                       np.float32(0.0), np.zeros((0,))),),
)


def _tolerances(variant: str) -> tuple[dict, dict]:
    """2 ULP or 2 eps x scale, float32's (the class computes in float32: a value is float32 for
    every input dtype, and float64 inputs' gradients carry float32's rounding)."""
    vjp = measured(2, **_notes(variant, "vjp"))
    return held_in_float32(measured(2, **_notes(variant, "value")), returns_float32=True), held_in_float32(vjp)


def _errors(build: Callable[[tuple, tuple, np.dtype], dict]) -> tuple[ErrorInput, ...]:
    """Sample weights shaped on both sides of Keras's rank matching: a trailing 1 is dropped or
    added; per-row weights on a [rows, steps] loss broadcast along the steps (they raise where
    steps differ from rows, and weigh the wrong axis silently where they are equal)."""
    return (
        ErrorInput("weight_trailing_one", lambda dtype: build((3, 4), (3, 4, 1), dtype), tf_raises=False,
                   tf_raises_in=dict.fromkeys(TRACED, True)),  # keras_class_shape_rules_read_static_shapes
        ErrorInput("weight_per_row_of_steps", lambda dtype: build((3, 4), (3,), dtype), tf_raises=True),
        ErrorInput("weight_per_row_of_square_steps", lambda dtype: build((3, 3), (3,), dtype), tf_raises=False),
        ErrorInput("weight_one_too_many", lambda dtype: build((3, 4), (3, 4, 2), dtype), tf_raises=True),
    )


def _class_error_inputs(samples: tuple, weight: tuple, dtype: np.dtype) -> dict:
    shape = (*samples, 3)
    return {"y_true": np.full(shape, 1 / 3, dtype), "y_pred": np.full(shape, 0.25, dtype),
            "sample_weight": np.ones(weight, np.float32), "mask": np.ones(samples, bool)}


def _with_options(kwargs: Callable[[np.dtype], dict], options: Mapping[str, object], dtype: np.dtype) -> dict:
    return kwargs(dtype) | dict(options)


def reduced_record(base: OpRecord, reduction: str, divergences=(), errors=()) -> OpRecord:
    """The loss class of `base`'s loss and options, called with `reduction`, sample weights and a mask."""
    options = {"loss": base.function, "reduction": reduction} | dict(base.options)
    exact_fn, wide_fn = references("reduced_loss", options)
    value_tolerance, vjp_tolerance = _tolerances(f"{base.variant}_{reduction}")
    return OpRecord(
        reference=impl.reduction.reduced_loss,
        tf=partial(oracle.keras_value, "reduced_loss"),
        tf_vjp=partial(oracle.keras_vjp, "reduced_loss"),
        exact=exact_fn,
        wide=wide_fn,
        build=partial(gen.weighted_loss_inputs, build=base.build, class_axis=base.has_axis),
        grads=(*base.grads, "sample_weight"),
        value_tolerance=value_tolerance,
        vjp_tolerance=vjp_tolerance,
        scales=_scales(base.function, reduction, base.options, base.scales),
        has_axis=base.has_axis,
        label_kinds=base.label_kinds,
        regimes=base.regimes,
        divergences=tuple(divergences),
        errors=tuple(replace(error, kwargs=partial(_with_options, error.kwargs, options)) for error in errors),
        options=options,
        variant=f"{base.variant}_{reduction}",
        family="keras",
        share=4 * base.share,  # one call per case (no stacking): a quarter of the loss functions' fuzz batches
        stacks=False,
    )


# What TF needed of the 2-eps budget (eps x scale at 2 ULP, against the candidate or the exact
# answer, the larger), per record, value or VJP, and dtype: ci profile, oneDNN off and on, AMD EPYC
# with AVX-512 (float32's eps for the float64 gradients, which are computed in float32).
MEASURED = {
    "probabilities_mean_with_sample_weight": {"value": {"f16": (0.053, 0.053), "bf16": (0, 0), "f32": (0, 0), "f64": (0, 0)}, "vjp": {"f16": (0.12, 0.12), "bf16": (0.058, 0.058), "f32": (1.3, 1.3), "f64": (1.0, 1.0)}},
    "logits_sum_over_batch_size": {"value": {"f16": (0, 0), "bf16": (0.13, 0.13), "f32": (2e-06, 2e-06), "f64": (0, 0)}, "vjp": {"f16": (0.3, 0.3), "bf16": (0.27, 0.27), "f32": (0.61, 0.61), "f64": (0.49, 0.49)}},
    "logits_sum": {"value": {"f16": (0, 0), "bf16": (0.11, 0.11), "f32": (0.23, 0.23), "f64": (0.23, 0.23)}, "vjp": {"f16": (0.4, 0.4), "bf16": (0.27, 0.27), "f32": (0.66, 0.66), "f64": (1.3, 1.3)}},
    "logits_none": {"value": {"f16": (0, 0), "bf16": (0, 0), "f32": (0, 0), "f64": (0.43, 0.43)}, "vjp": {"f16": (0.35, 0.35), "bf16": (0.005, 0.005), "f32": (0.42, 0.42), "f64": (1.2, 1.2)}},
}


def _notes(variant: str, table: str) -> dict[str, str]:
    return {d: f"{off:g} (oneDNN off), {on:g} (on)" for d, (off, on) in MEASURED[variant][table].items()}


CCE_MEAN_WITH_SAMPLE_WEIGHT = reduced_record(
    losses.CCE_PROBABILITIES, "mean_with_sample_weight",
    divergences=(ONE_SAMPLE_UNREDUCED, losses.SMOOTHING_LAST_AXIS, STATIC_SHAPE_RULES),
    errors=_errors(_class_error_inputs))
SPARSE_SUM_OVER_BATCH_SIZE = reduced_record(losses.SPARSE_LOGITS, "sum_over_batch_size",
                                            divergences=(SQUEEZED_TO_RANK_0, STATIC_SHAPE_RULES))
BCE_SUM = reduced_record(losses.BCE_LOGITS, "sum", divergences=(STATIC_SHAPE_RULES,))
CCE_NONE = reduced_record(losses.CCE_LOGITS, "none", divergences=(losses.SMOOTHING_LAST_AXIS, losses.NEGATIVE_AXIS, STATIC_SHAPE_RULES))

REDUCTION_RECORDS: tuple[OpRecord, ...] = (CCE_MEAN_WITH_SAMPLE_WEIGHT, SPARSE_SUM_OVER_BATCH_SIZE, BCE_SUM, CCE_NONE)
