"""SIMD functions on whole vectors of 32-bit lane words (docs/isa.md, Semantics §4, Functions).

Lanes hold raw 32-bit words (int32). Under `DTYPE_CFG 32FXP, d, s1, s2` a word m of an operand with n
integer bits means m * 2**-(32 - n); results are rounded half to even to the destination's fraction bits
and saturated to 32 bits. Under 32FP the words are IEEE binary32. Exact fixed-point intermediates use
int64 when the formats guarantee they fit in 62 bits, and Python integers (numpy object arrays, still one
vector operation per step) for the rare formats that need more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesys.sim.errors import DataError

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
F32, I32 = np.float32, np.int32


@dataclass(frozen=True)
class DType:
    """The active DTYPE_CFG: 'FXP' with fraction bits of dst/src1/src2, or 'FP' (binary32)."""
    kind: str
    fd: int = 0
    f1: int = 0
    f2: int = 0


PLAIN = DType("FXP")  # DTYPE_CFG 32FXP, 32, 32, 32: plain saturating integers

# Which operands each function reads: (src1, src2, dst's old value).
ALU = {"ADD": (1, 1, 0), "SUB": (1, 1, 0), "MUL": (1, 1, 0), "MACC": (1, 1, 1), "DIV": (1, 1, 0),
       "MAX": (1, 1, 0), "MIN": (1, 1, 0), "RSHIFT": (1, 1, 0), "LSHIFT": (1, 1, 0), "MOVE": (1, 0, 0),
       "COND_MOVE_TRUE": (1, 1, 1), "COND_MOVE_FALSE": (1, 1, 1), "NOT": (1, 0, 0), "AND": (1, 1, 0),
       "OR": (1, 1, 0), "NOP": (0, 0, 0)}
CALCULUS = {"RELU": (1, 0, 0), "LEAKY_RELU": (1, 1, 0), "SIGMOID": (1, 0, 0), "TANH": (1, 0, 0),
            "EXP": (1, 0, 0), "LN": (1, 0, 0), "SQRT": (1, 0, 0), "INV_SQRT": (1, 0, 0), "LOG2": (1, 0, 0)}
COMPARISON = {"EQUAL": (1, 1, 0), "NEQ": (1, 1, 0), "GT": (1, 1, 0), "GTE": (1, 1, 0), "LT": (1, 1, 0),
              "LTE": (1, 1, 0)}
CASTS = ("FXP32_TO_FXP16", "FXP32_TO_FXP8", "FXP32_TO_FXP4", "FXP16_TO_FXP32", "FXP8_TO_FXP32", "FXP4_TO_FXP32",
         "FP32_TO_FP16", "FP16_TO_FP32", "FLOOR", "CEIL", "FP32_TO_BF16", "BF16_TO_FP32", "FXP32_TO_FP32",
         "FP32_TO_FXP32")
OPERANDS = {**ALU, **CALCULUS, **COMPARISON, **dict.fromkeys(CASTS, (1, 0, 0))}
FP_ONLY = ("SIGMOID", "TANH", "EXP", "LN", "SQRT", "INV_SQRT", "LOG2")
FXP_ONLY = ("RSHIFT", "LSHIFT")


# ---- fixed-point helpers (int64 or object arrays) -----------------------------------------------
def _wide(*arrays):
    return tuple(np.asarray(a).astype(object) for a in arrays)


def _round_shift(x, sh: int):
    """x / 2**sh rounded half to even (sh >= 0)."""
    if sh == 0:
        return x
    if x.dtype != object and sh > 62:
        x = x.astype(object)
    q = x >> sh
    r = x - (q << sh)
    half = 1 << (sh - 1)
    up = (r > half) | ((r == half) & ((q & 1) == 1))
    return q + up.astype(np.int64 if x.dtype != object else object)


def _sat32(x) -> np.ndarray:
    if x.dtype == object:
        x = np.minimum(np.maximum(x, I32_MIN), I32_MAX).astype(np.int64)
    return np.clip(x, I32_MIN, I32_MAX).astype(I32)


def _conv(x, f_from: int, f_to: int) -> np.ndarray:
    """Exact value x * 2**-f_from to f_to fraction bits: rounded half to even, saturated to int32."""
    if f_to == f_from:
        return _sat32(x)
    if f_to > f_from:
        k = f_to - f_from
        if k > 30:  # any nonzero value saturates (|x| >= 1 and k >= 31 reaches 2**31)
            return _sat32(np.where(x > 0, I32_MAX, np.where(x < 0, I32_MIN, 0)))
        return _sat32(np.minimum(np.maximum(x, -(1 << 33)), 1 << 33) << k)
    return _sat32(_round_shift(x, f_from - f_to))


def _aligned(a, fa: int, b, fb: int):
    """int64 a and b as exact integers at the finer of their two scales F; returns (A, B, F)."""
    F = max(fa, fb)
    sa, sb = F - fa, F - fb
    if max(sa, sb) > 30:  # 31 bits shifted by > 30 (plus a sum's carry) may not fit int64
        a, b = _wide(a, b)
    return (a << sa if sa else a), (b << sb if sb else b), F


def _fxp(name: str, t: DType, a, b, d) -> np.ndarray:
    fd, f1, f2 = t.fd, t.f1, t.f2
    if name in ("MAX", "MIN", "MOVE", "RELU") and f1 == fd and (f2 == fd or name in ("MOVE", "RELU")):
        # One format throughout: the result is one of the operands (or 0), exactly.
        return {"MAX": lambda: np.maximum(a, b), "MIN": lambda: np.minimum(a, b), "MOVE": lambda: a,
                "RELU": lambda: np.maximum(a, 0)}[name]().astype(I32)
    a64 = a.astype(np.int64)
    b64 = b.astype(np.int64) if b is not None else None
    if name in ("ADD", "SUB", "MAX", "MIN"):
        A, B, F = _aligned(a64, f1, b64, f2)
        r = {"ADD": lambda: A + B, "SUB": lambda: A - B, "MAX": lambda: np.maximum(A, B),
             "MIN": lambda: np.minimum(A, B)}[name]()
        return _conv(r, F, fd)
    if name == "MUL":
        return _conv(a64 * b64, f1 + f2, fd)
    if name == "MACC":
        p = a64 * b64  # exact: |p| <= 2**62
        F = max(fd, f1 + f2)
        sd, sp = F - fd, F - f1 - f2
        dd = d.astype(np.int64)
        if sd or sp:
            dd, p = _wide(dd, p)
        return _conv((dd << sd) + (p << sp), F, fd)
    if name == "DIV":
        if np.any(b64 == 0):
            raise DataError("division by zero (a lane of src2 is 0)")
        num, den = a64, b64
        if 31 + f2 + fd > 62 or 31 + f1 > 62:
            num, den = _wide(num, den)
        num, den = num << (f2 + fd), den << f1
        q = abs(num) // abs(den)  # truncate toward zero
        return _sat32(np.where((num < 0) != (den < 0), -q, q))
    if name in ("RSHIFT", "LSHIFT"):
        k = b64 >> f2  # s2's integer value
        if np.any(k < 0):
            raise DataError("negative shift amount in src2")
        if name == "RSHIFT":
            return _conv(a64 >> np.minimum(k, 63), f1, fd)
        if f1 == fd:  # the common case: saturating a << k
            return _sat32(a64 << np.minimum(k, 32))
        wa, wk = _wide(a64, np.minimum(k, 128))
        return _conv(wa << wk, f1, fd)
    if name == "MOVE":
        return _conv(a64, f1, fd)
    if name in ("COND_MOVE_TRUE", "COND_MOVE_FALSE"):
        cond = (b != 0) if name == "COND_MOVE_TRUE" else (b == 0)
        return np.where(cond, _conv(a64, f1, fd), d).astype(I32)
    if name == "RELU":
        return _conv(np.maximum(a64, 0), f1, fd)
    if name == "LEAKY_RELU":
        return np.where(a64 < 0, _conv(a64 * b64, f1 + f2, fd), _conv(a64, f1, fd)).astype(I32)
    if name in COMPARISON:
        A, B, _ = _aligned(a64, f1, b64, f2)
        return _compare(name, A, B).astype(I32)
    raise DataError(f"{name} is only defined for 32FP data (DTYPE_CFG 32FP)")


def _compare(name: str, A, B) -> np.ndarray:
    return np.asarray({"EQUAL": A == B, "NEQ": A != B, "GT": A > B, "GTE": A >= B, "LT": A < B,
                       "LTE": A <= B}[name], dtype=bool)


# ---- binary32 -----------------------------------------------------------------------------------
def _f(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=I32).view(F32)


def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=F32).view(I32)


_ONE, _ZERO = F32(1), F32(0)
_FP_OPS = {
    "ADD": lambda x, y, d: x + y, "SUB": lambda x, y, d: x - y, "MUL": lambda x, y, d: x * y,
    "MACC": lambda x, y, d: _f(d) + x * y,  # the product is rounded to binary32, then the sum (not fused)
    "DIV": lambda x, y, d: x / y, "MAX": lambda x, y, d: np.maximum(x, y), "MIN": lambda x, y, d: np.minimum(x, y),
    "MOVE": lambda x, y, d: x.copy(),
    "RELU": lambda x, y, d: np.maximum(x, _ZERO), "LEAKY_RELU": lambda x, y, d: np.where(x < 0, x * y, x),
    "SIGMOID": lambda x, y, d: _ONE / (_ONE + np.exp(-x)), "TANH": lambda x, y, d: np.tanh(x),
    "EXP": lambda x, y, d: np.exp(x), "LN": lambda x, y, d: np.log(x), "SQRT": lambda x, y, d: np.sqrt(x),
    "INV_SQRT": lambda x, y, d: _ONE / np.sqrt(x), "LOG2": lambda x, y, d: np.log2(x),
}


def _fp(name: str, a, b, d) -> np.ndarray:
    x = _f(a)
    y = _f(b) if b is not None else None
    one, zero = _ONE, _ZERO
    fn = _FP_OPS.get(name)
    if fn is not None:
        return _bits(fn(x, y, d))
    if name in ("COND_MOVE_TRUE", "COND_MOVE_FALSE"):
        cond = (y != 0) if name == "COND_MOVE_TRUE" else (y == 0)
        return np.where(cond, a, d).astype(I32)
    if name in COMPARISON:
        return _bits(np.where(_compare(name, x, y), one, zero))
    raise DataError(f"{name} is only defined for 32FXP data (DTYPE_CFG 32FXP)")


# ---- casts --------------------------------------------------------------------------------------
def _sign_extend(a, bits: int) -> np.ndarray:
    lo = a.astype(np.int64) & ((1 << bits) - 1)
    return (lo - ((lo >> (bits - 1)) << bits)).astype(I32)


def _cast(name: str, t: DType, a) -> np.ndarray:
    f1, fd = (t.f1, t.fd) if t.kind == "FXP" else (0, 0)  # in 32FP the fixed-point side is a plain integer
    if name in ("FXP32_TO_FXP16", "FXP32_TO_FXP8", "FXP32_TO_FXP4"):
        bits = int(name[len("FXP32_TO_FXP"):])
        v = _round_shift(a.astype(np.int64), f1)
        return np.clip(v, -(1 << (bits - 1)), (1 << (bits - 1)) - 1).astype(np.int64).astype(I32)
    if name in ("FXP16_TO_FXP32", "FXP8_TO_FXP32", "FXP4_TO_FXP32"):
        return _sign_extend(a, int(name[3:name.index("_")]))
    if name == "FP32_TO_FP16":  # binary16 bits in the low half, upper half zero
        return _f(a).astype(np.float16).view(np.uint16).astype(I32)
    if name == "FP16_TO_FP32":
        return _bits((a & 0xFFFF).astype(np.uint16).view(np.float16).astype(F32))
    if name == "FP32_TO_BF16":
        u = np.ascontiguousarray(a, dtype=I32).view(np.uint32).astype(np.uint64)
        rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        nan = np.isnan(_f(a))
        return np.where(nan, (u >> 16) | 0x40, rounded).astype(np.uint32).astype(I32)
    if name == "BF16_TO_FP32":
        return ((a.astype(np.int64) & 0xFFFF) << 16).astype(np.uint32).view(I32)
    if name == "FLOOR":
        return _bits(np.floor(_f(a)))
    if name == "CEIL":
        return _bits(np.ceil(_f(a)))
    if name == "FXP32_TO_FP32":  # exact in float64 (|m| < 2**53, power-of-two scale): one rounding to binary32
        return _bits((a.astype(np.float64) * 2.0 ** -f1).astype(F32))
    if name == "FP32_TO_FXP32":
        x = _f(a).astype(np.float64) * 2.0 ** fd  # exact
        x = np.where(np.isnan(x), 0.0, np.rint(x))  # rint: half to even; NaN -> 0
        return np.clip(x, I32_MIN, I32_MAX).astype(np.int64).astype(I32)
    raise AssertionError(name)


def apply(name: str, t: DType, a, b, d) -> np.ndarray | None:
    """New destination words for function `name` (None for NOP). a, b, d: int32 arrays (b/d may be None
    when unused); they broadcast against each other. Call under np.errstate(all="ignore") (binary32
    overflow, NaN and division by zero are IEEE results, not errors)."""
    if name == "NOP":
        return None
    if name == "NOT":
        return np.invert(a).astype(I32)
    if name == "AND":
        return np.bitwise_and(a, b).astype(I32)
    if name == "OR":
        return np.bitwise_or(a, b).astype(I32)
    if name in CASTS:
        return _cast(name, t, a)
    if t.kind == "FP":
        return _fp(name, a, b, d)
    return _fxp(name, t, a, b, d)
