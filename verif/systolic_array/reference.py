"""Reference model of the systolic array: what every output vector must be, in numpy.

The array computes, per input vector x (one activation per row) and top-edge partial sums p (one per
column), ``y[j] = p[j] + sum_i x[i] * W[i][j]`` in signed arithmetic wrapped to ACC_WIDTH bits.
Here the sum is taken in int64 and then wrapped. int64 arithmetic is itself modular (2**64), and
ACC_WIDTH <= 64, so wrapping the int64 result to ACC_WIDTH bits is exact even when the int64 sum
overflows (wide DATA_WIDTH/WGT_WIDTH presets).
"""

from __future__ import annotations

import numpy as np

VALUE_CLASSES = ("min", "max", "zero", "neg", "pos")


def signed_range(width: int) -> tuple[int, int]:
    """(lowest, highest) value of a signed two's-complement number of ``width`` bits."""
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def wrap(values, width: int) -> np.ndarray:
    """Wrap int64 values to signed ``width``-bit two's complement (1 <= width <= 64)."""
    v = np.asarray(values, dtype=np.int64)
    shift = np.uint64(64 - width)
    # Shift the kept bits to the top, then arithmetic-shift back: sign-extends from bit width-1.
    return ((v.view(np.uint64) << shift).view(np.int64) >> shift.astype(np.int64)).astype(np.int64)


def matvec(w: np.ndarray, x: np.ndarray, psum: np.ndarray, acc_width: int) -> np.ndarray:
    """Outputs for a batch: ``x`` is (T, N) or (N,), ``w`` (N, M), ``psum`` (T, M) or (M,)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    psum = np.asarray(psum, dtype=np.int64)
    with np.errstate(over="ignore"):
        return wrap(x @ w + psum, acc_width)


def unwrapped(w: np.ndarray, x: np.ndarray, psum: np.ndarray) -> list[int]:
    """The exact (unbounded) sums, in Python integers: used to tell when the accumulator wrapped."""
    x = [int(v) for v in np.asarray(x).ravel()]
    p = [int(v) for v in np.asarray(psum).ravel()]
    w = np.asarray(w)
    return [p[j] + sum(x[i] * int(w[i, j]) for i in range(len(x))) for j in range(len(p))]


def value_class(values, width: int) -> np.ndarray:
    """Index into VALUE_CLASSES for each value: min / max of the signed range, zero, other negative,
    other positive."""
    lo, hi = signed_range(width)
    v = np.asarray(values, dtype=np.int64)
    cls = np.where(v < 0, 3, 4)
    cls = np.where(v == 0, 2, cls)
    cls = np.where(v == hi, 1, cls)
    cls = np.where(v == lo, 0, cls)
    return cls


def to_signed(raw: int, width: int) -> int:
    """Interpret the low ``width`` bits of ``raw`` as a signed number."""
    raw &= (1 << width) - 1
    return raw - (1 << width) if raw >> (width - 1) else raw


def unpack(raw: int, count: int, width: int) -> list[int]:
    """Split a flat bus into ``count`` signed fields of ``width`` bits (field 0 in the low bits)."""
    mask = (1 << width) - 1
    sign = 1 << (width - 1)
    out = []
    for _ in range(count):
        f = raw & mask
        out.append(f - (1 << width) if f & sign else f)
        raw >>= width
    return out


def pack(values, width: int) -> int:
    """Join signed values into a flat bus (value 0 in the low bits)."""
    mask = (1 << width) - 1
    raw = 0
    for k, v in enumerate(values):
        raw |= (int(v) & mask) << (k * width)
    return raw
