"""SIMD function kernels against exact references (Fractions for fixed point, numpy float32 for binary32)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys.sim.errors import DataError
from genesys.sim.functions import PLAIN, DType, apply

I32 = st.integers(-2**31, 2**31 - 1)
FRAC = st.integers(0, 32)


def sat(v: int) -> int:
    return max(-2**31, min(2**31 - 1, v))


def rne(x: Fraction) -> int:
    """Round half to even."""
    fl = math.floor(x)
    r = x - fl
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2):
        return fl + 1
    return fl


def to_fmt(x: Fraction, fd: int) -> int:
    return sat(rne(x * 2**fd))


def fxp_ref(name, a, b, d, fd, f1, f2):
    va, vb, vd = Fraction(a, 2**f1), Fraction(b, 2**f2), Fraction(d, 2**fd)
    if name == "ADD":
        return to_fmt(va + vb, fd)
    if name == "SUB":
        return to_fmt(va - vb, fd)
    if name == "MUL":
        return to_fmt(va * vb, fd)
    if name == "MACC":
        return to_fmt(vd + va * vb, fd)
    if name == "MAX":
        return to_fmt(max(va, vb), fd)
    if name == "MIN":
        return to_fmt(min(va, vb), fd)
    if name == "MOVE":
        return to_fmt(va, fd)
    if name == "DIV":
        q = va / vb * 2**fd
        return sat(math.trunc(q))
    if name == "RELU":
        return to_fmt(max(va, Fraction(0)), fd)
    raise AssertionError(name)


def run1(name, t, a, b=0, d=0):
    with np.errstate(all="ignore"):
        out = apply(name, t, np.array([[a]], np.int32), np.array([[b]], np.int32), np.array([[d]], np.int32))
    return int(out[0, 0])


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(["ADD", "SUB", "MUL", "MACC", "MAX", "MIN", "MOVE", "DIV", "RELU"]),
       a=I32, b=I32, d=I32, fd=FRAC, f1=FRAC, f2=FRAC)
def test_fixed_point_matches_exact_rational_reference(name, a, b, d, fd, f1, f2):
    if name == "DIV" and b == 0:
        b = 1
    t = DType("FXP", fd, f1, f2)
    assert run1(name, t, a, b, d) == fxp_ref(name, a, b, d, fd, f1, f2)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["ADD", "SUB", "MUL", "MACC", "MAX", "MIN"]), a=I32, b=I32, d=I32)
def test_plain_integer_formats_saturate(name, a, b, d):
    assert run1(name, PLAIN, a, b, d) == fxp_ref(name, a, b, d, 0, 0, 0)


def test_q16_rounding_ties_to_even_and_saturation():
    q16 = DType("FXP", 16, 16, 16)
    assert run1("MUL", q16, 1, 1 << 15) == 0  # 0.5 LSB -> 0 (even)
    assert run1("MUL", q16, 3, 1 << 15) == 2  # 1.5 LSB -> 2
    assert run1("MUL", q16, 5, 1 << 15) == 2  # 2.5 LSB -> 2
    assert run1("MUL", q16, -3, 1 << 15) == -2
    assert run1("MUL", q16, 200 << 16, 400 << 16) == 2**31 - 1  # 80000 does not fit Q16.16
    assert run1("ADD", q16, -2**31, -1) == -2**31


def test_shifts_compare_bitwise_and_cond_move():
    assert run1("RSHIFT", PLAIN, -17, 2) == -5  # arithmetic (floor)
    assert run1("LSHIFT", PLAIN, 3, 4) == 48
    assert run1("LSHIFT", PLAIN, 1, 40) == 2**31 - 1  # saturates
    assert run1("RSHIFT", PLAIN, -1, 100) == -1
    assert run1("GT", PLAIN, 5, 3) == 1 and run1("LTE", PLAIN, 5, 3) == 0
    assert run1("EQUAL", DType("FXP", 0, 16, 0), 3 << 16, 3) == 1  # 3.0 (Q16.16) == 3 (integer)
    assert run1("NOT", PLAIN, 0) == -1
    assert run1("AND", PLAIN, 0b1100, 0b1010) == 0b1000 and run1("OR", PLAIN, 0b1100, 0b1010) == 0b1110
    assert run1("COND_MOVE_TRUE", PLAIN, 7, 1, 9) == 7 and run1("COND_MOVE_TRUE", PLAIN, 7, 0, 9) == 9
    assert run1("COND_MOVE_FALSE", PLAIN, 7, 0, 9) == 7 and run1("COND_MOVE_FALSE", PLAIN, 7, 2, 9) == 9
    assert run1("LEAKY_RELU", DType("FXP", 16, 16, 16), -(4 << 16), 1 << 14) == -(1 << 16)  # -4 * 0.25


def test_data_errors():
    with pytest.raises(DataError, match="division by zero"):
        run1("DIV", PLAIN, 1, 0)
    with pytest.raises(DataError, match="negative shift"):
        run1("RSHIFT", PLAIN, 1, -1)
    with pytest.raises(DataError, match="32FP"):
        run1("SIGMOID", PLAIN, 1)
    with pytest.raises(DataError, match="32FXP"):
        run1("RSHIFT", DType("FP"), 1, 1)


def f32(x) -> int:
    return int(np.array([x], np.float32).view(np.int32)[0])


def as_f32(word: int) -> np.float32:
    return np.array([word], np.int32).view(np.float32)[0]


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["ADD", "SUB", "MUL", "DIV", "MAX", "MIN", "MACC"]),
       x=st.floats(width=32, allow_nan=False), y=st.floats(width=32, allow_nan=False),
       z=st.floats(width=32, allow_nan=False))
def test_binary32_arithmetic_is_numpy_float32(name, x, y, z):
    fx, fy, fz = np.float32(x), np.float32(y), np.float32(z)
    with np.errstate(all="ignore"):
        ref = {"ADD": fx + fy, "SUB": fx - fy, "MUL": fx * fy, "DIV": fx / fy, "MAX": np.maximum(fx, fy),
               "MIN": np.minimum(fx, fy), "MACC": fz + np.float32(fx * fy)}[name]
    got = as_f32(run1(name, DType("FP"), f32(x), f32(y), f32(z)))
    assert (np.isnan(got) and np.isnan(ref)) or got == ref and np.signbit(got) == np.signbit(ref)


def test_binary32_calculus_and_compare():
    fp = DType("FP")
    xs = np.array([-2.0, -0.5, 0.25, 1.0, 3.5], np.float32)
    a = xs.view(np.int32).reshape(1, -1)
    with np.errstate(all="ignore"):
        for name, fn in (("EXP", np.exp), ("TANH", np.tanh), ("SQRT", np.sqrt), ("LN", np.log), ("LOG2", np.log2),
                         ("SIGMOID", lambda v: np.float32(1) / (np.float32(1) + np.exp(-v))),
                         ("INV_SQRT", lambda v: np.float32(1) / np.sqrt(v)), ("RELU", lambda v: np.maximum(v, 0))):
            got = apply(name, fp, a, None, None).view(np.float32)[0]
            np.testing.assert_array_equal(got, fn(xs).astype(np.float32))
        got = apply("GT", fp, a, np.array([[f32(0.3)]], np.int32), None).view(np.float32)[0]
    assert got.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_narrowing_casts_round_half_even_and_saturate():
    q1 = DType("FXP", 0, 1, 0)  # src1 has one fraction bit: raw 5 is 2.5
    assert [run1("FXP32_TO_FXP8", q1, v) for v in (5, 7, -5, -7, 1, 3)] == [2, 4, -2, -4, 0, 2]
    assert run1("FXP32_TO_FXP8", PLAIN, 300) == 127 and run1("FXP32_TO_FXP8", PLAIN, -300) == -128
    assert run1("FXP32_TO_FXP16", PLAIN, 40000) == 32767
    assert run1("FXP32_TO_FXP4", PLAIN, -9) == -8
    assert run1("FXP8_TO_FXP32", PLAIN, 0x1FF) == -1 and run1("FXP16_TO_FXP32", PLAIN, 0x8000) == -32768
    assert run1("FXP4_TO_FXP32", PLAIN, 0x7) == 7 and run1("FXP4_TO_FXP32", PLAIN, 0x8) == -8


def test_fxp32_to_fp32_and_back_round_half_even():
    # 2**24 + 1 is halfway between two binary32 values: ties to the even mantissa.
    assert as_f32(run1("FXP32_TO_FP32", PLAIN, 2**24 + 1)) == np.float32(2**24)
    assert as_f32(run1("FXP32_TO_FP32", PLAIN, 2**24 + 3)) == np.float32(2**24 + 4)
    assert as_f32(run1("FXP32_TO_FP32", DType("FXP", 0, 8, 0), 3)) == np.float32(3 / 256)  # from s1's format
    back = [run1("FP32_TO_FXP32", PLAIN, f32(v)) for v in (2.5, 3.5, -2.5, -0.5, 1e10, -1e10, float("nan"))]
    assert back == [2, 4, -2, 0, 2**31 - 1, -2**31, 0]
    assert run1("FP32_TO_FXP32", DType("FXP", 8, 0, 0), f32(0.75)) == 192  # to d's format (Q24.8)
    # In 32FP the fixed-point side is a plain integer.
    assert run1("FP32_TO_FXP32", DType("FP"), f32(-7.5)) == -8


@settings(max_examples=200, deadline=None)
@given(a=I32, scale=st.floats(2**-20, 1024.0, width=32))
def test_requantization_equals_float32_reference(a, scale):
    """int32 -> binary32 x binary32 scale -> round half even: what ONNX Runtime computes."""
    fp = apply("FXP32_TO_FP32", PLAIN, np.array([[a]], np.int32), None, None)
    with np.errstate(all="ignore"):
        prod = apply("MUL", DType("FP"), fp, np.array([[f32(scale)]], np.int32), None)
    got = int(apply("FP32_TO_FXP32", PLAIN, prod, None, None)[0, 0])
    ref = np.float32(a) * np.float32(scale)
    assert got == int(np.clip(np.rint(np.float64(ref)), -2**31, 2**31 - 1))


def test_half_and_bfloat_casts():
    xs = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -65504.0, 1e-8, 70000.0], np.float32)
    a = xs.view(np.int32).reshape(1, -1)
    with np.errstate(over="ignore"):  # 70000 overflows binary16 to inf, as IEEE says
        half = apply("FP32_TO_FP16", PLAIN, a, None, None)
        np.testing.assert_array_equal(half[0], xs.astype(np.float16).view(np.uint16).astype(np.int32))
        back = apply("FP16_TO_FP32", PLAIN, half, None, None).view(np.float32)[0]
        np.testing.assert_array_equal(back, xs.astype(np.float16).astype(np.float32))
    assert np.isinf(back[5])
    bf = apply("FP32_TO_BF16", PLAIN, a, None, None)[0]
    assert bf[1] == 0x3F80  # 1 + 2**-8 is a tie at bfloat16 precision: to even (1.0)
    assert bf[2] == 0x3F82  # 1 + 3 * 2**-8 rounds up to 1 + 2**-6
    wide = apply("BF16_TO_FP32", PLAIN, bf.reshape(1, -1), None, None).view(np.float32)[0]
    assert wide[0] == 1.0 and wide[2] == np.float32(1 + 2**-6)
    fl = apply("FLOOR", PLAIN, np.array([[f32(-1.5), f32(2.5)]], np.int32), None, None).view(np.float32)[0]
    ce = apply("CEIL", PLAIN, np.array([[f32(-1.5), f32(2.5)]], np.int32), None, None).view(np.float32)[0]
    assert fl.tolist() == [-2.0, 2.0] and ce.tolist() == [-1.0, 3.0]
