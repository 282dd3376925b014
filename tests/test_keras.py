"""Keras 3's losses: the numbers Keras's documentation prints, the decisions impl/keras.py states,
and the oracle's own contract (the TF backend, options passed through)."""

from __future__ import annotations

import functools

import ml_dtypes
import numpy as np
import pytest

import impl
import oracle.keras
from tfparity.exact import evaluate
from tfparity.keras_reference import bounds
from tfparity.opdb import KERAS_RECORDS

ONE_HOT = np.eye(3, dtype=np.float32)
PREDICTED = np.array([[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]], np.float32)


def test_categorical_crossentropy_matches_keras_docstring():
    """keras.src.backend.tensorflow.nn.categorical_crossentropy's example, printed to 5 places."""
    got = impl.categorical_crossentropy(ONE_HOT, PREDICTED)
    np.testing.assert_allclose(np.around(got, 5), [0.10536, 0.11653, 0.06188])


def test_sparse_categorical_crossentropy_matches_keras_docstring():
    """keras.losses.sparse_categorical_crossentropy's example: array([0.0513, 2.303]), printed to
    four significant digits (half a unit of the fourth is 2.5e-4 of the value at most)."""
    got = impl.sparse_categorical_crossentropy([1, 2], np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32))
    np.testing.assert_allclose(got, [0.0513, 2.303], rtol=2.5e-4)


def test_a_zero_probability_is_clipped_to_epsilon():
    """Keras's metric docstring: y' = clip(y, EPSILON, 1 - EPSILON), so the 0 of [0.05, 0.95, 0]
    costs -log(1e-7) where its label is 1."""
    got = impl.categorical_crossentropy(np.array([[0.0, 0.0, 1.0]]), np.array([[0.05, 0.95, 0.0]]))
    np.testing.assert_allclose(got, [-np.log(1e-7)], rtol=1e-12)


def test_smoothing_moves_labels_toward_one_over_the_classes_along_axis():
    """Smoothing 0.3 over K classes: y (1 - 0.3) + 0.3 / K, with K along `axis` (impl's decision)."""
    y, x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), np.zeros((2, 3))
    along_0 = impl.categorical_crossentropy(y, x, from_logits=True, label_smoothing=0.3, axis=0)
    np.testing.assert_allclose(along_0, (0.7 * y.sum(axis=0) + 0.3) * np.log(2.0))


def test_ignored_rows_give_zero_and_no_gradient():
    p = np.array([[0.2, 0.8], [0.6, 0.4]], np.float32)
    assert impl.sparse_categorical_crossentropy([1, -1], p, ignore_class=-1)[1] == 0
    grad = impl.sparse_categorical_crossentropy_vjp(np.ones(2, np.float32), [1, -1], p, ignore_class=-1)["y_pred"]
    assert not grad[1].any() and grad[0].any()


def test_binary_crossentropy_averages_the_last_axis():
    y, p = np.array([[1.0, 0.0]]), np.array([[0.8, 0.4]])
    np.testing.assert_allclose(impl.binary_crossentropy(y, p), [-(np.log(0.8) + np.log(0.6)) / 2])


@pytest.mark.parametrize("dtype, upper", [(np.float32, 0.99999988), (np.float16, 1.0), (ml_dtypes.bfloat16, 1.0)])
def test_clip_bounds_are_held_in_the_inputs_dtype(dtype, upper):
    """1 - epsilon as each dtype holds it: below 1 in float32, 1 itself in the halves."""
    assert bounds(np.dtype(dtype))[1] == pytest.approx(upper, abs=1e-8)


def test_non_integer_sparse_labels_are_refused():
    """Keras casts labels to int64, truncating 1.5 to 1 silently; impl refuses them."""
    with pytest.raises(impl.InvalidArgumentError):
        impl.sparse_categorical_crossentropy(np.array([1.5]), np.full((1, 3), 1 / 3))


@pytest.mark.parametrize("record", KERAS_RECORDS, ids=lambda r: r.name)
def test_the_reference_agrees_with_impl_in_float64(record):
    """Two independent writings of each Keras loss (impl's NumPy and the engine's long double)
    agree to float64's rounding on an ordinary case, values and gradients (a Keras class's, which
    computes in float32, to float32's)."""
    case = next(c for c in _sweep(record) if c.regime in ("softmax", "sigmoid", "ordinary") and len(c.shape) == 2)
    inputs = record.build(case)
    kwargs = record.call_kwargs(case, inputs)
    axis = record.class_axis(case)
    value = record.reference(**kwargs)
    g = np.linspace(-1.0, 1.0, value.size).reshape(value.shape)
    grads = getattr(impl, f"{record.function}_vjp")(g, **kwargs)
    for check, mine in [("value", value), *((f"vjp_{k}", v) for k, v in grads.items())]:
        cotangent = None if check == "value" else g
        want = np.asarray(record.wide(check, inputs, axis, cotangent), np.float64)
        rtol = 4 * float(np.finfo(np.float32).eps) if record.tolerance(check, "float64").computes_in else 1e-13
        np.testing.assert_allclose(mine, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=check)
        first = (0,) * want.ndim  # the mpmath form gives the long double one's answer too
        precise = evaluate(functools.partial(record.exact, check, inputs, axis, cotangent, first), np.dtype(np.float64))
        assert float(precise) == pytest.approx(want[first], rel=1e-14, abs=1e-300), check


def _sweep(record):
    from tfparity.sweep import sweep

    return sweep(record, "float64")


@pytest.mark.parametrize("name", oracle.keras.NAMES)
def test_the_oracle_passes_options_to_keras(name):
    """from_logits changes Keras's answer, so the oracle must pass it: a silent drop reads as parity."""
    y = np.array([[0.0, 1.0, 0.0]], np.float32) if name != "sparse_categorical_crossentropy" else np.array([1])
    p = np.array([[0.2, 0.5, 0.3]], np.float32)
    assert not np.allclose(oracle.keras.value(name, y_true=y, y_pred=p),
                           oracle.keras.value(name, y_true=y, y_pred=p, from_logits=True))


LOG4 = np.log(4.0)  # the loss of zero logits over four classes, whatever the label


@pytest.mark.parametrize("reduction, want", [
    ("none", np.array([1.0, 0.0, 0.0, 0.5]) * LOG4),  # the weights, masked
    ("sum", 1.5 * LOG4),
    ("sum_over_batch_size", 1.5 * LOG4 / 3),  # over the three unmasked samples
    ("mean_with_sample_weight", LOG4),  # over the unmasked weights' sum, 1.5
])
@pytest.mark.parametrize("side", ["impl", "tf"])
def test_a_loss_class_reduces_as_documented(reduction, want, side):
    """Written from Keras's documentation, not from either side: zero logits, weights [1, 0, 2, .5],
    the third sample masked; float16 inputs give a float32 loss (the class's dtype)."""
    kwargs = {"y_true": np.eye(4, dtype=np.float16), "y_pred": np.zeros((4, 4), np.float16),
              "sample_weight": np.array([1.0, 0.0, 2.0, 0.5], np.float32), "mask": np.array([True, True, False, True]),
              "loss": "categorical_crossentropy", "reduction": reduction, "from_logits": True}
    got = impl.reduced_loss(**kwargs) if side == "impl" else oracle.keras.value("reduced_loss", **kwargs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2 * np.finfo(np.float32).eps)


def test_impl_rejects_what_a_loss_class_rejects():
    with pytest.raises(impl.InvalidArgumentError, match="reduction"):
        impl.reduced_loss(np.eye(2), np.zeros((2, 2)), loss="categorical_crossentropy", reduction="mean_of_squares")
    with pytest.raises(impl.InvalidArgumentError, match="do not broadcast"):
        impl.reduced_loss(np.eye(2)[[0, 1, 0]].reshape(3, 1, 2).repeat(4, 1), np.zeros((3, 4, 2)), np.ones(3),
                          loss="categorical_crossentropy", reduction="sum")


@pytest.mark.parametrize("axes", [None, (0, 1), (-2, -1), (2, 0)])
def test_joined_axes_move_every_element_and_back(axes):
    """The merge Keras's softmax makes of several axes, as the engine's records read it."""
    from tfparity.ops.keras_activations import Joined

    x = np.arange(24).reshape(2, 3, 4)
    joined = Joined(axes)
    merged = joined.forward(x)
    grouped = range(3) if axes is None else [a % 3 for a in axes]
    assert merged.shape[-1] == int(np.prod([x.shape[a] for a in grouped]))
    np.testing.assert_array_equal(joined.back(merged, x.shape), x)
    assert all(merged[joined.index(index, x.shape)] == x[index] for index in np.ndindex(x.shape))
    # impl joins the same axes: its softmax is tf.nn's over the merged last axis
    np.testing.assert_allclose(joined.forward(impl.keras_softmax(x.astype(np.float64), axes)),
                               impl.softmax(merged.astype(np.float64), -1), rtol=1e-15)
