"""The FuseSoC generator (in-process) and the core file's agreement with the templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genesys.arch import DEFAULT_PRESET, load_arch
from genesys.errors import GenesysError
from genesys.flows import runner
from genesys.flows.fusesoc_generator import GenesysRenderGenerator, main
from genesys.render import load_blocks

CORE = runner.core_file()


def _generate(tmp_path: Path, monkeypatch, **parameters) -> tuple[dict, dict]:
    """Run the generator as FuseSoC would (input YAML in, core out, in the current directory)."""
    monkeypatch.chdir(tmp_path)
    data = {"files_root": str(CORE.parent), "gapi": "1.0", "parameters": parameters,
            "vlnv": "genesys:npu:systolic_array-systolic_array_rtl:0.1.0"}
    (tmp_path / "in.yml").write_text(yaml.safe_dump(data))
    assert main([str(tmp_path / "in.yml")]) == 0
    core = yaml.safe_load((tmp_path / "systolic_array-systolic_array_rtl.core").read_text())
    return core, json.loads((tmp_path / "manifest.json").read_text())


def test_generated_core_lists_the_manifest_files_in_order(tmp_path, monkeypatch):
    core, manifest = _generate(tmp_path, monkeypatch, preset="8x4", block="systolic_array")
    assert core["name"] == "genesys:npu:systolic_array-systolic_array_rtl:0.1.0"
    files = core["filesets"]["rtl"]["files"]
    assert [next(iter(f)) for f in files] == manifest["files"]
    assert manifest["preset"] == "8x4" and manifest["files"][0] == "genesys_pkg.sv"
    types = {name: attrs["file_type"] for f in files for name, attrs in f.items()}
    assert types["genesys_pkg.sv"] == "systemVerilogSource"
    assert all(t == "vlt" for n, t in types.items() if n.endswith(".vlt"))
    assert core["targets"] == {"default": {"filesets": ["rtl"]}}
    for name in manifest["files"]:
        assert (tmp_path / name).is_file()


def test_preset_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GENESYS_PRESET", "16x16")
    _, manifest = _generate(tmp_path, monkeypatch, preset="$GENESYS_PRESET")
    assert manifest["preset"] == "16x16"
    assert "ARRAY_N = 16" in (tmp_path / "genesys_pkg.sv").read_text()


def test_unset_variable_means_the_default_preset(tmp_path, monkeypatch):
    monkeypatch.delenv("GENESYS_PRESET", raising=False)
    _, manifest = _generate(tmp_path, monkeypatch, preset="${GENESYS_PRESET}")
    assert manifest["preset"] == DEFAULT_PRESET


def test_config_path_wins_and_relative_paths_are_from_pwd(tmp_path, monkeypatch):
    user = tmp_path / "cfg"
    user.mkdir()
    text = (Path(load_arch("4x4").source).read_text()).replace("CLOCK_MHZ: 200", "CLOCK_MHZ: 150")
    (user / "mine.yaml").write_text(text)
    monkeypatch.setenv("PWD", str(tmp_path))
    out = tmp_path / "gen"
    out.mkdir()
    _, manifest = _generate(out, monkeypatch, preset="16x16", config="cfg/mine.yaml")
    assert manifest["preset"] == "mine" and manifest["arch"]["primary"]["CLOCK_MHZ"] == 150


def test_testbench_parameters_are_the_block_knobs(tmp_path, monkeypatch):
    core, _ = _generate(tmp_path, monkeypatch, preset="8x4", testbench_parameters=True)
    block = load_blocks()["systolic_array"]
    values = block.knob_values(load_arch("8x4"))
    assert list(core["parameters"]) == [k.name for k in block.knobs]
    for knob in block.knobs:
        p = core["parameters"][knob.name]
        assert p["paramtype"] == "vlogparam"
        assert p["default"] == (int(values[knob.name]) if knob.type == "bool" else values[knob.name])
    assert core["parameters"]["ARRAY_N"]["default"] == 8 and core["parameters"]["ARRAY_M"]["default"] == 4
    assert core["targets"]["default"]["parameters"] == [k.name for k in block.knobs]


def test_a_bad_preset_is_one_clear_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = {"files_root": str(CORE.parent), "parameters": {"preset": "5x5"}, "vlnv": "a:b:c-d:0"}
    (tmp_path / "in.yml").write_text(yaml.safe_dump(data))
    assert main([str(tmp_path / "in.yml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: genesys generator: unknown preset '5x5'") and "Traceback" not in err


def test_unknown_file_suffix_is_refused(tmp_path, monkeypatch):
    import genesys.render as render_mod
    monkeypatch.chdir(tmp_path)

    def fake_render(arch, out_dir, top_block):
        return {"files": ["genesys_pkg.sv", "table.mem"], "top": "x"}
    monkeypatch.setattr(render_mod, "render", fake_render)
    gen = GenesysRenderGenerator({"files_root": ".", "parameters": {"preset": "4x4"}, "vlnv": "a:b:c-d:0"})
    with pytest.raises(GenesysError, match="no FuseSoC file type for '.mem'"):
        gen.run(tmp_path)


def test_launcher_runs_with_the_venv_python(tmp_path):
    data = {"files_root": str(CORE.parent), "parameters": {"preset": "4x4"},
            "vlnv": "genesys:npu:systolic_array-systolic_array_rtl:0.1.0"}
    (tmp_path / "in.yml").write_text(yaml.safe_dump(data))
    res = subprocess.run([sys.executable, str(CORE.parent / "genesys_generator.py"), str(tmp_path / "in.yml")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "rendered block 'systolic_array'" in res.stdout
    assert (tmp_path / "systolic_array-systolic_array_rtl.core").is_file()


# ---- the core file --------------------------------------------------------------------------------------
def _core() -> dict:
    text = CORE.read_text()
    assert text.startswith("CAPI=2:\n")
    return yaml.safe_load(text.split("\n", 1)[1])


def test_core_toplevels_are_the_block_top_and_the_testbench():
    core = _core()
    top = load_blocks()["systolic_array"].top
    for target in ("default", "lint", "synth"):
        assert core["targets"][target]["toplevel"] == top, target
    tb = (CORE.parent / core["filesets"]["smoke_tb"]["files"][0]).resolve()
    assert tb.is_file()
    for target in ("sim", "sim_icarus"):
        assert core["targets"][target]["toplevel"] == tb.stem
    assert f"module {tb.stem}" in tb.read_text()


def test_core_generates_the_block_named_in_its_file_name_and_has_every_flow_target():
    core = _core()
    gen = core["generate"]["systolic_array_rtl"]
    assert gen["parameters"]["block"] == CORE.stem.removeprefix("genesys_")
    assert gen["parameters"]["preset"] == "$GENESYS_PRESET"
    assert gen["generator"] in core["generators"]
    assert core["generators"][gen["generator"]]["interpreter"] == "python3"
    assert (CORE.parent / core["generators"][gen["generator"]]["command"]).is_file()
    assert {"lint", "synth", "sim", "sim_icarus"} <= set(core["targets"])
    assert runner.core_vlnv() == ":".join(core["name"].split(":")[:3])
