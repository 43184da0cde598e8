"""Random layers in bulk: how often does ORT's float path round differently from the integer pipeline?

Each layer is a QDQ Conv (1×1 to 7×7, strides 1–2, dilation, groups/depthwise, odd channel counts,
Relu/ReLU6), Gemm or average pool with random realistic quantization. Every difference from ONNX Runtime
must be an explained ±1 float-rounding flip (see `ort_compare`); the measured rate is printed
(`pytest -s`). Measured with ORT 1.31 on x86-64: 2.5 to 4.5 flips per million outputs (more for
longer accumulations: ORT's float error grows with the number of terms); 71 in 15.9 M for the slow sweep.
"""

from __future__ import annotations

import numpy as np
import pytest

from genesys.compiler.pipeline import frontend

from . import qdq_cases as Q
from .ort_compare import compare


def _random_layer(rng: np.random.Generator, big: bool) -> Q.Case:
    kind = rng.choice(["conv", "conv", "conv", "depthwise", "gemm", "avgpool"])
    hw = int(rng.choice([8, 14, 28] if big else [5, 8, 11]))
    if kind == "gemm":
        return Q.gemm(rng, int(rng.integers(16, 512 if big else 96)), int(rng.integers(8, 256 if big else 48)),
                      trans_b=int(rng.integers(2)), act=rng.choice([None, "relu"]))
    if kind == "avgpool":
        k = int(rng.integers(2, 4))
        return Q.avgpool(rng, int(rng.integers(4, 64)), (hw, hw), k, int(rng.integers(1, 3)), (k // 2,) * 4,
                         count_include_pad=int(rng.integers(2)))
    k = int(rng.choice([1, 3, 3, 5, 7]))
    c = int(rng.integers(3, 128 if big else 33))
    act = [None, "relu", (0.0, 6.0)][int(rng.integers(3))]
    if kind == "depthwise":
        return Q.conv(rng, c, c, (hw, hw), 3, int(rng.integers(1, 3)), (1, 1, 1, 1), group=c, act=act)
    m = int(rng.integers(3, 128 if big else 33))
    dil = int(rng.choice([1, 1, 2])) if hw > 2 * k else 1
    return Q.conv(rng, c, m, (hw, hw), k, int(rng.integers(1, 3)), (dil * (k // 2),) * 4, dil=dil, act=act)


def _sweep(n_layers: int, seed: int, big: bool) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    flips = outputs = 0
    for i in range(n_layers):
        case = _random_layer(rng, big)
        cmp = compare(case.model, frontend(case.model), case.feeds)
        assert not cmp.unexplained, f"layer {i}: " + "\n".join(cmp.unexplained)
        flips += cmp.n_flips
        outputs += sum(n for _, n, _ in cmp.outputs.values())
    print(f"{n_layers} random layers, {outputs} outputs: {flips} explained ±1 flips "
          f"({flips / outputs * 1e6:.2f} per million)")
    return flips, outputs


def test_random_layers():
    _sweep(30, seed=7, big=False)


@pytest.mark.slow
def test_random_layers_rate():
    flips, outputs = _sweep(1500, seed=8, big=True)
    assert outputs > 5_000_000
    assert flips / outputs < 2e-5  # measured ~2.5e-6; a systematic error would be orders of magnitude above
