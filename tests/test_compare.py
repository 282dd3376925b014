"""The comparison itself: ULP distance, special values, budgets and masks."""

import ml_dtypes
import numpy as np
import pytest
from mpmath import mpf

from tfparity import wide
from tfparity.accuracy import Exact, excused_within
from tfparity.compare import Tolerance, compare, flush_floor, ulp_distance

FLOATS = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64]


@pytest.mark.parametrize("dtype", FLOATS)
def test_ulp_distance_counts_representable_steps(dtype):
    one = np.array([1.0], dtype)
    up = np.nextafter(one.astype(np.float32), np.float32(2)).astype(dtype) if dtype == ml_dtypes.bfloat16 \
        else np.nextafter(one, dtype(2))
    if dtype == ml_dtypes.bfloat16:  # ml_dtypes has no nextafter ufunc: step the bit pattern
        up = (one.view(np.uint16) + 1).view(dtype)
    assert ulp_distance(one, up)[0] == 1
    assert ulp_distance(np.array([-0.0], dtype), np.array([0.0], dtype))[0] == 0
    smallest = np.array([ml_dtypes.finfo(dtype).smallest_subnormal], dtype)
    assert ulp_distance(-smallest, smallest)[0] == 2
    top = np.array([ml_dtypes.finfo(dtype).max], dtype)
    assert ulp_distance(-top, top)[0] == 2 * float(top.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[top.itemsize])[0])


def test_a_zero_dimensional_comparison_keeps_its_shape():
    result = compare(np.array(1.0), np.array(2.0), Tolerance(0), flush=False)
    assert ulp_distance(np.array(1.0), np.array(1.0)).shape == () and result.worst_index == ()


def test_special_values_must_sit_at_the_same_positions():
    a = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert compare(a, a.copy(), Tolerance(0), flush=False).passed
    b = np.array([np.nan, -np.inf, -np.inf, 1.0], np.float32)
    result = compare(a, b, Tolerance(0), flush=False)
    assert result.special_mismatch == 1 and not result.passed
    assert not compare(np.array([np.nan], np.float32), np.array([0.0], np.float32), Tolerance(1e9, 1e9), flush=False).passed


def test_ulp_and_absolute_budgets():
    ref = np.array([1.0, 1e-3], np.float64)
    off = ref * (1 + 3 * np.finfo(np.float64).eps)
    assert not compare(off, ref, Tolerance(2), flush=False).passed
    assert compare(off, ref, Tolerance(8), flush=False).passed
    assert compare(off, ref, Tolerance(2, abs_eps=4), scale=np.array([1.0, 1.0]), flush=False).passed
    assert not compare(off, ref, Tolerance(2, abs_eps=4), scale=np.array([1e-3, 1.0]), flush=False).passed


def test_flush_floor_is_of_the_compute_type():
    assert flush_floor(np.dtype(np.float16)) == flush_floor(np.dtype(np.float32)) < 1e-36
    assert compare(np.array([1e-38], np.float32), np.array([0.0], np.float32), Tolerance(0), flush=True).passed
    assert not compare(np.array([1e-4], np.float16), np.array([0.0], np.float16), Tolerance(0), flush=True).passed


def test_ignored_elements_cannot_fail_but_are_counted():
    result = compare(np.array([1.0, 2.0]), np.array([1.0, 3.0]), Tolerance(0), ignore=np.array([False, True]), flush=False)
    assert result.passed and result.ignored_mismatches == 1


def test_flush_allowance_only_where_tf_flushes():
    tiny, zero = np.array([1e-38], np.float32), np.array([0.0], np.float32)
    flushed = compare(tiny, zero, Tolerance(0), flush=True)
    assert flushed.passed and flushed.flushed == 1 and flushed.budget_used == 0
    assert not compare(tiny, zero, Tolerance(0), flush=False).passed


def test_budget_used_is_the_worst_share_of_the_tolerance():
    ref = np.array([1.0, 2.0, 4.0])
    three_ulp = np.nextafter(np.nextafter(np.nextafter(ref[0], 2), 2), 2)
    got = np.array([three_ulp, 2.0, 4.0])
    assert compare(got, ref, Tolerance(4), flush=False).budget_used == 0.75
    assert compare(got, ref, Tolerance(2), flush=False).budget_used == 1.5
    # the better of the two budgets counts: 3 ULP of 1.0 is 6.7e-16, within 4 eps * scale 1
    assert compare(got, ref, Tolerance(2, abs_eps=4), scale=1.0, flush=False).budget_used == pytest.approx(0.75)
    assert compare(ref, ref, Tolerance(0), flush=False).budget_used == 0
    nan = compare(np.array([np.nan, 2.0, 4.0]), ref, Tolerance(1e9), flush=False)
    assert nan.budget_used == np.inf
    # a nan against a value below the flush floor is a special mismatch, not a flushed element
    tiny = compare(np.array([np.nan]), np.array([0.0]), Tolerance(2), flush=True)
    assert tiny.budget_used == np.inf and tiny.flushed == 0 and not tiny.passed
    assert compare(got, ref, Tolerance(0), ignore=np.array([True, False, False]), flush=False).budget_used == 0
    # an ULP-only budget at an unbounded scale (TF's terms overflowed) is its ULP share, not 0 x inf
    unbounded = compare(got, ref, Tolerance(2), scale=np.inf, flush=False)
    assert unbounded.budget_used == 1.5 and unbounded.used.tolist() == [1.5, 0.0, 0.0] and not unbounded.passed


def test_where_tf_is_excused_a_flushed_subnormal_passes_only_where_tf_flushes():
    """Judged against the exact answer (TF raised), a zero for a subnormal exact value is TF's own
    answer on a backend that flushes, and an error of a million ULP on one that does not."""
    exact = np.array([[1.0, 2.2273639e-39]])
    ex = Exact(exact.astype(wide.WIDE), np.zeros(exact.shape, wide.WIDE),
               lambda index: mpf(float(exact[index])), np.dtype(np.float32))
    got = np.array([[1.0, 0.0]], np.float32)
    allowance = [(np.ones(got.shape, bool), Tolerance(4), np.ones(got.shape))]
    assert excused_within(ex, got, allowance, flush=True) == [""]
    assert "ULP from the exact" in excused_within(ex, got, allowance, flush=False)[0]
    assert "ULP from the exact" in excused_within(ex, np.array([[0.0, 0.0]], np.float32), allowance, flush=True)[0]
