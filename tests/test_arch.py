"""The architecture config: presets load, derived values are right, bad configs are rejected clearly."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from genesys.arch import PARAMS, arch_from_dict, list_presets, load_arch, preset_path, replace
from genesys.errors import ConfigError


def test_presets_listed():
    assert {"4x4", "8x4", "8x8", "16x16", "32x32"} <= set(list_presets())


@pytest.mark.parametrize("name", ["4x4", "8x4", "8x8", "16x16", "32x32"])
def test_every_preset_loads(name):
    a = load_arch(name)
    assert (a.ARRAY_N, a.ARRAY_M) == tuple(int(x) for x in name.split("x"))
    assert a.peak_macs_per_cycle == a.ARRAY_N * a.ARRAY_M


def test_16x16_is_design03():
    """The 16x16 preset carries the published GeneSys design03 capacities and AXI widths."""
    a = load_arch("16x16")
    kib = 1024
    assert (a.IBUF_BYTES, a.WBUF_BYTES, a.OBUF_BYTES, a.BBUF_BYTES, a.VMEM_BYTES) == (
        32 * kib, 32 * kib, 64 * kib, 2 * kib, 64 * kib)
    assert (a.AXI_IBUF_WIDTH, a.AXI_WBUF_WIDTH, a.AXI_OBUF_WIDTH, a.AXI_INSTR_WIDTH) == (128, 128, 128, 64)
    assert (a.DATA_WIDTH, a.WGT_WIDTH, a.BIAS_WIDTH, a.ACC_WIDTH) == (8, 8, 32, 32)


def test_derived_values_16x16():
    a = load_arch("16x16")
    d = a.derived()
    assert d["WBUF_BANKS"] == 256 and d["WBUF_DEPTH"] == 32 * 1024 // 256  # one 8-bit bank per PE
    assert d["IBUF_BANKS"] == 16 and d["IBUF_DEPTH"] == 2048 and d["IBUF_ADDR_WIDTH"] == 11
    assert d["OBUF_DEPTH"] == 64 * 1024 // (16 * 4) and d["OBUF_ADDR_WIDTH"] == 10
    assert d["IBUF_BYTES_PER_BEAT"] == 16 and d["IMEM_BYTES_PER_BEAT"] == 8
    assert d["IMEM_DEPTH"] == 1024
    assert d["PEAK_MACS_PER_CYCLE"] == 256
    assert d["PEAK_GOPS"] == pytest.approx(2 * 256 * 200 / 1000)


def test_non_square_banks():
    a = load_arch("8x4")
    assert a.buffers["IBUF"].banks == 8 and a.buffers["OBUF"].banks == 4 and a.buffers["WBUF"].banks == 32


def test_arch_is_frozen():
    a = load_arch("4x4")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.ARRAY_N = 8  # type: ignore[misc]


def test_user_yaml_path(tmp_path):
    raw = yaml.safe_load(preset_path("8x8").read_text())
    raw["ARRAY_M"] = raw["SIMD_LANES"] = 16
    p = tmp_path / "my8x16.yaml"
    p.write_text(yaml.safe_dump(raw))
    a = load_arch(str(p))
    assert a.name == "my8x16" and a.ARRAY_M == 16 and a.source == str(p)


def _base():
    return yaml.safe_load(preset_path("4x4").read_text())


@pytest.mark.parametrize("change, words", [
    ({"ARRAY_NN": 4}, ["unknown key 'ARRAY_NN'", "Did you mean 'ARRAY_N'"]),
    ({"ARRAY_N": "four"}, ["ARRAY_N", "'four'", "integer"]),
    ({"ARRAY_N": 4.0}, ["ARRAY_N", "float", "integer"]),
    ({"ARRAY_N": True}, ["ARRAY_N", "bool"]),
    ({"ARRAY_M": 0}, ["ARRAY_M = 0", "out of range"]),
    ({"ARRAY_M": -4}, ["ARRAY_M = -4", "out of range"]),
    ({"ARRAY_N": 6}, ["ARRAY_N = 6", "power of two", "try 4 or 8"]),
    ({"IBUF_BYTES": "3KiB"}, ["IBUF_BYTES = 3072", "power of two"]),
    ({"IBUF_BYTES": "32 kilobytes"}, ["IBUF_BYTES", "not a size", "32KiB"]),
    ({"BBUF_BYTES": 16}, ["BBUF_BYTES = 16", "too small", "two rows"]),
    ({"CLOCK_MHZ": 0}, ["CLOCK_MHZ = 0", "out of range"]),
    ({"ACC_WIDTH": 8}, ["ACC_WIDTH = 8", "DATA_WIDTH + WGT_WIDTH"]),
    ({"SIMD_LANES": 8}, ["SIMD_LANES = 8", "must equal ARRAY_M = 4", "OBUF row"]),
])
def test_bad_values_name_key_value_and_rule(change, words):
    raw = _base() | change
    with pytest.raises(ConfigError) as e:
        arch_from_dict(raw, source="bad.yaml")
    msg = str(e.value)
    assert msg.startswith("bad.yaml: ")
    for w in words:
        assert w in msg, msg


def test_missing_key():
    raw = _base()
    del raw["SIMD_LANES"]
    with pytest.raises(ConfigError, match="missing key\\(s\\) SIMD_LANES"):
        arch_from_dict(raw, source="x.yaml")


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="unknown preset '16x61'.*Did you mean '16x16'"):
        load_arch("16x61")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_arch(str(tmp_path / "nope.yaml"))


def test_malformed_yaml_names_line(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("ARRAY_N: 4\nARRAY_M: [4\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+:\d+: malformed YAML"):
        load_arch(str(p))


def test_top_level_not_mapping(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_arch(str(p))


def test_replace_revalidates():
    a = load_arch("4x4")
    b = replace(a, ARRAY_M=8, SIMD_LANES=8)
    assert b.ARRAY_M == 8 and a.ARRAY_M == 4
    with pytest.raises(ConfigError):
        replace(a, ARRAY_M=3)


def test_every_param_documented():
    assert all(p.description for p in PARAMS)
