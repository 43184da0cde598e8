"""Functional coverage of the SIMD function unit: every function in both types crossed with the class of
each operand it reads (src1, and src2 for two-operand functions), every error cause, the FXP format kinds,
and the pipeline situations (back-to-back issue, DIV stalls, abort with work in flight).

Operand classes: binary32 words are zero / subnormal / normal / inf / nan; integer (fixed-point) words are
zero / min (INT32_MIN) / max (INT32_MAX) / neg / pos. The interpretation follows what the function reads:
FP16_TO_FP32 and BF16_TO_FP32 read a 16-bit float in the low half, the FXPn_TO_FXP32 casts an n-bit integer,
the FP32 casts a binary32 word, NOT/AND/OR and the FXP casts an integer; the rest follow the type.
"""

from __future__ import annotations

from typing import Any

from genesys.sim import functions as fn
from genesys.verif.bench_common import coverage_summary, merge_coverage

from .reference import NOT_IN_HW, Op

FP_CLASSES = ("zero", "sub", "normal", "inf", "nan")
INT_CLASSES = ("zero", "min", "max", "neg", "pos")
SHIFT_CLASSES = ("zero", "1-30", "31", "32", "33+")  # shift amounts (a negative one is an error)
F32_CASTS = ("FP32_TO_FP16", "FLOOR", "CEIL", "FP32_TO_BF16", "FP32_TO_FXP32")
INT_CASTS = ("FXP32_TO_FXP16", "FXP32_TO_FXP8", "FXP32_TO_FXP4", "FXP32_TO_FP32")
ERROR_BINS = ("err:ILLEGAL_INSTR", "err:BAD_FIELD", "err:UNSUPPORTED", "err:DIV_BY_ZERO", "err:NEG_SHIFT",
              *(f"err:not_in_hw:{n}" for n in NOT_IN_HW), "err:shift_in_fp")
MISC_BINS = ("fmt:plain", "fmt:fraction_bits", "fmt:mixed", "pipe:back_to_back", "pipe:div_stall",
             "pipe:div_back_to_back", "pipe:abort_in_flight")


def valid_functions(fp: bool) -> list[str]:
    """Functions the hardware computes in a type (no error by construction)."""
    return [n for n in fn.OPERANDS if n not in NOT_IN_HW and not (fp and n in fn.FXP_ONLY)]


def reads(name: str) -> tuple[int, int, int]:
    return fn.OPERANDS[name]


def interpretation(name: str, fp: bool) -> str:
    """How the function reads src1: f32 / f16 / bf16 / i32 / i16 / i8 / i4."""
    if name in F32_CASTS:
        return "f32"
    if name == "FP16_TO_FP32":
        return "f16"
    if name == "BF16_TO_FP32":
        return "bf16"
    if name in INT_CASTS or name in ("NOT", "AND", "OR"):
        return "i32"
    if name.startswith("FXP") and name.endswith("_TO_FXP32"):
        return "i" + name[3:name.index("_")]
    return "f32" if fp else "i32"


def classify(word: int, how: str) -> str:
    if how in ("f32", "f16", "bf16"):
        if how == "f32":
            e, m, ew = (word >> 23) & 0xFF, word & 0x7FFFFF, 0xFF
        elif how == "f16":
            e, m, ew = (word >> 10) & 0x1F, word & 0x3FF, 0x1F
        else:
            e, m, ew = (word >> 7) & 0xFF, word & 0x7F, 0xFF
        if e == 0:
            return "zero" if m == 0 else "sub"
        if e == ew:
            return "inf" if m == 0 else "nan"
        return "normal"
    bits = int(how[1:])
    v = word & ((1 << bits) - 1)
    v -= (v >> (bits - 1)) << bits
    if v == 0:
        return "zero"
    if v == -(1 << (bits - 1)):
        return "min"
    if v == (1 << (bits - 1)) - 1:
        return "max"
    return "neg" if v < 0 else "pos"


def b_classes(name: str, fp: bool) -> tuple[str, ...]:
    if fp and name not in ("AND", "OR"):
        return FP_CLASSES
    if name in fn.FXP_ONLY:
        return SHIFT_CLASSES
    if name == "DIV":  # a zero divisor is an error (its own bin)
        return tuple(c for c in INT_CLASSES if c != "zero")
    return INT_CLASSES


def classify_b(word: int, name: str, fp: bool) -> str:
    if fp and name not in ("AND", "OR"):
        return classify(word, "f32")
    if name in fn.FXP_ONLY:
        return "zero" if word == 0 else "1-30" if word <= 30 else str(word) if word <= 32 else "33+"
    return classify(word, "i32")


def bin_names() -> tuple[str, ...]:
    names = []
    for fp in (False, True):
        t = "fp" if fp else "fxp"
        for n in valid_functions(fp):
            s1, s2, _ = reads(n)
            how = interpretation(n, fp)
            classes = FP_CLASSES if how[0] in "fb" else INT_CLASSES
            if s1:
                names += [f"{t}:{n}:a:{c}" for c in classes]
            if s2:
                names += [f"{t}:{n}:b:{c}" for c in b_classes(n, fp)]
            if not s1:  # NOP
                names.append(f"{t}:{n}:issued")
    return (*names, *ERROR_BINS, *MISC_BINS)


def sample(hits: dict[str, int], op: Op, cause: str | None) -> None:
    def add(name: str) -> None:
        hits[name] = hits.get(name, 0) + 1

    name = op.name
    if cause is not None:
        add(f"err:{cause}")
        if name in NOT_IN_HW:
            add(f"err:not_in_hw:{name}")
        if op.fp and name in fn.FXP_ONLY:
            add("err:shift_in_fp")
        return
    t = "fp" if op.fp else "fxp"
    s1, s2, _ = reads(name)
    how = interpretation(name, op.fp)
    if s1:
        for w in set(classify(w, how) for w in op.a):
            add(f"{t}:{name}:a:{w}")
    if s2:
        for w in set(classify_b(w, name, op.fp) for w in op.b):
            add(f"{t}:{name}:b:{w}")
    if not s1:
        add(f"{t}:{name}:issued")
    if not op.fp and name not in ("NOP", "NOT", "AND", "OR"):
        fmts = {op.dint, op.s1int, op.s2int}
        add("fmt:plain" if fmts == {32} else "fmt:mixed" if len(fmts) > 1 else "fmt:fraction_bits")


def summarize(hits: dict[str, int]) -> dict[str, Any]:
    return coverage_summary(hits, list(bin_names()))


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    return merge_coverage(reports, list(bin_names()))
