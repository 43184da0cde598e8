"""`genesys bench --plot`: a PNG of per-layer cycles against the ideal, from the same dict as --json."""

from __future__ import annotations

import json

import pytest

from genesys.compiler.bench_plot import main, plot_bench
from genesys.errors import GenesysError

PNG = b"\x89PNG\r\n\x1a\n"


def _result(layers):
    return {"model": "toy", "config": "4x4", "total_cycles": 1000, "utilization": 0.5, "layers": layers,
            "breakdown": {"ideal": 500, "fill_drain": 100, "array_idle_simd_bound": 400}}


def test_plot_writes_a_png(tmp_path):
    layers = [{"name": f"conv{i}", "cycles": 100 + i, "ideal_cycles": 50} for i in range(5)]
    out = plot_bench(_result(layers), tmp_path / "b.png")
    assert out.read_bytes().startswith(PNG) and out.stat().st_size > 5000


def test_plot_from_saved_json(tmp_path, capsys):
    (tmp_path / "b.json").write_text(json.dumps(_result([{"name": "fc", "cycles": 10, "ideal_cycles": 5}])))
    assert main([str(tmp_path / "b.json"), str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "b.png").read_bytes().startswith(PNG)
    assert main([str(tmp_path / "missing.json"), str(tmp_path / "x.png")]) == 1
    assert "error" in capsys.readouterr().err


def test_no_layers_is_a_clear_error(tmp_path):
    with pytest.raises(GenesysError, match="no layers"):
        plot_bench(_result([]), tmp_path / "b.png")


def test_bench_cli_plot(cli, tmp_path):
    r = cli("bench", "mlp", "--config", "4x4", "--plot", str(tmp_path / "mlp.png"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mlp.png").read_bytes().startswith(PNG)
