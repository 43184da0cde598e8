"""SRAM macro stubs for the ASIC flow: each on-chip memory becomes one macro of exactly its shape, as an SRAM
compiler would make it, with area and timing from the node's capacity model (:class:`genesys.flows.pdk.SramModel`).

Yosys infers every buffer as a ``$mem_v2`` cell. This module reads their list (a ``dump t:$mem_v2``), decides
which become macros (synchronous reads, no reset, not transparent, at least ``min_bits``; the rest are mapped to
flip-flops like any logic), and writes

- a techmap file that replaces each eligible ``$mem_v2`` by a ``genesys_sram_<depth>x<width>_<r>r<w>w`` instance
  (read enable, address, data per read port; bit write enables, address, data per write port; one clock), and
- a Liberty file with one cell per shape: area from the capacity model, setup/hold on the inputs and a
  clock-to-output delay on the read data, so that OpenSTA times the paths into and out of every macro.

The numbers are a model, not a compiled SRAM: every report that uses them says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from genesys.flows.pdk import SramModel

MIN_MACRO_BITS = 1024  # smaller memories (register tables, FIFOs) stay flip-flops; ~1 kbit is where SRAM macros start to pay


@dataclass(frozen=True)
class Memory:
    module: str
    name: str
    size: int
    width: int
    abits: int
    rd_ports: int
    wr_ports: int
    sync_read: bool        # every read port registered (RD_CLK_ENABLE all ones)
    plain: bool            # no read reset/init, no transparency, no wide ports, offset 0
    memid: str = ""

    @property
    def bits(self) -> int:
        return self.size * self.width

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return (self.size, self.width, self.abits, self.rd_ports, self.wr_ports)

    def macro_name(self) -> str:
        return macro_name(*self.shape)

    def why_not_macro(self, min_bits: int = MIN_MACRO_BITS) -> str:
        if self.bits < min_bits:
            return f"{self.bits} bits < {min_bits}"
        if self.rd_ports == 0:
            return "no read port"
        if not self.sync_read:
            return "asynchronous read"
        if not self.plain:
            return "asynchronous read reset, initial contents, transparency, wide ports or unclocked writes"
        return ""


def macro_name(size: int, width: int, abits: int, rd: int, wr: int) -> str:
    return f"genesys_sram_{size}x{width}_{rd}r{wr}w"


def parse_memories(netlist_json: str) -> list[Memory]:
    """The ``$mem_v2`` cells of a Yosys ``write_json`` netlist (the flow writes one holding only them), with
    the module holding each."""
    import json

    mems: list[Memory] = []
    for module, body in json.loads(netlist_json).get("modules", {}).items():
        for cell_name, cell in body.get("cells", {}).items():
            if cell.get("type") != "$mem_v2":
                continue
            p, c = cell["parameters"], cell["connections"]

            def bits(key: str, default: str = "0", p=p) -> set[str]:
                return set(str(p.get(key, default)))

            rd = _int(p.get("RD_PORTS", "0"))
            sync = rd > 0 and bits("RD_CLK_ENABLE") <= {"1"}
            plain = (bits("RD_TRANSPARENCY_MASK") <= {"0"} and bits("RD_WIDE_CONTINUATION") <= {"0"}
                     and bits("WR_WIDE_CONTINUATION") <= {"0"} and _int(p.get("OFFSET", "0")) == 0
                     and bits("INIT", "x") <= {"x"} and set(map(str, c.get("RD_ARST", ["0"]))) <= {"0"}
                     and bits("RD_CLK_POLARITY", "1") <= {"1"} and bits("WR_CLK_POLARITY", "1") <= {"1"}
                     and bits("WR_CLK_ENABLE", "1") <= {"1"})  # the techmap's PLAIN: the same conditions
            mems.append(Memory(module=module, name=cell_name, size=_int(p["SIZE"]), width=_int(p["WIDTH"]),
                               abits=_int(p["ABITS"]), rd_ports=rd, wr_ports=_int(p.get("WR_PORTS", "0")),
                               sync_read=sync, plain=plain, memid=str(p.get("MEMID", "")).lstrip("\\")))
    return mems


def _int(v: str | int) -> int:
    """A Yosys JSON parameter: an integer, or a string of binary digits."""
    return v if isinstance(v, int) else int(str(v), 2)


# ---- the area and timing model ---------------------------------------------------------------------------
def macro_area(model: SramModel, size: int, width: int, ports: int) -> float:
    bits = size * width
    return model.periphery_um2 + bits * model.um2_per_bit * (1 + model.port_factor * (ports - 1))


def macro_access_ns(model: SramModel, size: int) -> float:
    return model.access_ns + model.access_ns_per_log2 * max(0.0, math.log2(max(size, 1)) - 4)


# ---- generated files ---------------------------------------------------------------------------------------
def techmap_verilog(shapes: list[tuple[int, int, int, int, int]]) -> str:
    """A techmap for ``$mem_v2``: eligible shapes become macro instances, everything else fails the mapping
    (and is later lowered to flip-flops by ``memory_map``). Checks the same properties as
    :meth:`Memory.why_not_macro`, so a memory is never mapped to a macro that would behave differently."""
    branches = []
    for (size, width, abits, rd, wr) in shapes:
        branches.append(
            f"    if (SIZE == {size} && WIDTH == {width} && ABITS == {abits} && RD_PORTS == {rd} && WR_PORTS == {wr})\n"
            f"      {macro_name(size, width, abits, rd, wr)} macro (.CLK(WR_CLK[0]), .RD_EN(rd_read), .RD_ADDR(RD_ADDR),\n"
            f"        .RD_DATA(raw), .WR_EN(WR_EN), .WR_ADDR(WR_ADDR), .WR_DATA(WR_DATA));")
    match = " ||\n      ".join(
        f"(SIZE == {s} && WIDTH == {w} && ABITS == {a} && RD_PORTS == {r} && WR_PORTS == {p})"
        for (s, w, a, r, p) in shapes) or "0"
    body = "\n    else ".join(branches) if branches else "    ;"
    return f"""// Generated by genesys.flows.sram_macros: $mem_v2 -> SRAM macro stubs. Do not edit.
// A read port with a synchronous reset (a register reset merged into the read port) keeps the reset outside the
// macro: the macro does not read in a reset cycle, and a flag selects the reset value until the next read.
(* techmap_celltype = "$mem_v2" *)
module _genesys_mem_to_macro (RD_CLK, RD_EN, RD_ARST, RD_SRST, RD_ADDR, RD_DATA, WR_CLK, WR_EN, WR_ADDR, WR_DATA);
  parameter MEMID = "";
  parameter signed SIZE = 4;
  parameter signed OFFSET = 0;
  parameter signed ABITS = 2;
  parameter signed WIDTH = 4;
  parameter signed INIT = 1'bx;
  parameter signed RD_PORTS = 1;
  parameter RD_CLK_ENABLE = 1'b1;
  parameter RD_CLK_POLARITY = 1'b1;
  parameter RD_TRANSPARENCY_MASK = 1'b0;
  parameter RD_COLLISION_X_MASK = 1'b0;
  parameter RD_WIDE_CONTINUATION = 1'b0;
  parameter RD_CE_OVER_SRST = 1'b0;
  parameter RD_ARST_VALUE = 1'b0;
  parameter RD_SRST_VALUE = 1'b0;
  parameter RD_INIT_VALUE = 1'b0;
  parameter signed WR_PORTS = 1;
  parameter WR_CLK_ENABLE = 1'b1;
  parameter WR_CLK_POLARITY = 1'b1;
  parameter WR_PRIORITY_MASK = 1'b0;
  parameter WR_WIDE_CONTINUATION = 1'b0;

  input [RD_PORTS-1:0] RD_CLK, RD_EN, RD_ARST, RD_SRST;
  input [RD_PORTS*ABITS-1:0] RD_ADDR;
  output [RD_PORTS*WIDTH-1:0] RD_DATA;
  input [WR_PORTS-1:0] WR_CLK;
  input [WR_PORTS*WIDTH-1:0] WR_EN;
  input [WR_PORTS*ABITS-1:0] WR_ADDR;
  input [WR_PORTS*WIDTH-1:0] WR_DATA;

  parameter _TECHMAP_CONSTMSK_RD_SRST_ = 0;
  parameter _TECHMAP_CONSTVAL_RD_SRST_ = 0;
  parameter _TECHMAP_CONSTMSK_RD_ARST_ = 0;
  parameter _TECHMAP_CONSTVAL_RD_ARST_ = 0;

  localparam SHAPE_OK = {match};
  localparam PLAIN = OFFSET == 0 && &RD_CLK_ENABLE && &RD_CLK_POLARITY && &WR_CLK_ENABLE && &WR_CLK_POLARITY
                     && RD_TRANSPARENCY_MASK == 0 && RD_WIDE_CONTINUATION == 0 && WR_WIDE_CONTINUATION == 0
                     && &_TECHMAP_CONSTMSK_RD_ARST_ && _TECHMAP_CONSTVAL_RD_ARST_ == 0;
  localparam NO_SRST = &_TECHMAP_CONSTMSK_RD_SRST_ && _TECHMAP_CONSTVAL_RD_SRST_ == 0;
  wire _TECHMAP_FAIL_ = !(SHAPE_OK && PLAIN);

  wire [RD_PORTS-1:0] rd_read;
  wire [RD_PORTS*WIDTH-1:0] raw;
  genvar i;
  generate
    if (NO_SRST) begin : plain_read
      assign rd_read = RD_EN;
      assign RD_DATA = raw;
    end else begin : reset_read
      for (i = 0; i < RD_PORTS; i = i + 1) begin : port
        wire set_zero = RD_CE_OVER_SRST[i] ? (RD_EN[i] & RD_SRST[i]) : RD_SRST[i];
        wire zero_q;
        assign rd_read[i] = RD_EN[i] & ~RD_SRST[i];
        \\$dff #(.WIDTH(1), .CLK_POLARITY(1'b1)) zero_ff (.CLK(WR_CLK[0]),
          .D(set_zero | (zero_q & ~rd_read[i])), .Q(zero_q));
        assign RD_DATA[i*WIDTH +: WIDTH] = zero_q ? RD_SRST_VALUE[i*WIDTH +: WIDTH] : raw[i*WIDTH +: WIDTH];
      end
    end
{body}
  endgenerate
endmodule
"""


def liberty(shapes: list[tuple[int, int, int, int, int]], model: SramModel, library: str = "genesys_sram_stubs") -> str:
    """One Liberty cell per macro shape (bused pins; ns and pF)."""
    types: dict[int, str] = {}

    def bus_type(width: int) -> str:
        if width not in types:
            types[width] = (f"  type (genesys_bus_{width}) {{ base_type : array; data_type : bit; bit_width : {width};"
                            f" bit_from : {width - 1}; bit_to : 0; downto : true; }}\n")
        return f"genesys_bus_{width}"

    def constraint(kind: str, value: float) -> str:
        return (f'      timing () {{ related_pin : "CLK"; timing_type : {kind};\n'
                f'        rise_constraint (scalar) {{ values ("{value:.4f}"); }}\n'
                f'        fall_constraint (scalar) {{ values ("{value:.4f}"); }} }}\n')

    def in_pin(kind: str, name: str, width: int) -> str:
        head = (f"    bus ({name}) {{ bus_type : {bus_type(width)};" if kind == "bus" else f"    pin ({name}) {{")
        return (f"{head} direction : input; capacitance : {model.cap_pf:.4f};\n"
                + constraint("setup_rising", model.setup_ns) + constraint("hold_rising", model.hold_ns) + "    }\n")

    cells = []
    for (size, width, abits, rd, wr) in shapes:
        access = macro_access_ns(model, size)
        area = macro_area(model, size, width, rd + wr)
        pins = [f"    pin (CLK) {{ direction : input; clock : true; capacitance : {model.cap_pf * 4:.4f}; }}\n"]
        pins.append(in_pin("bus", "RD_EN", rd) if rd > 1 else in_pin("pin", "RD_EN", 1))
        pins.append(in_pin("bus", "RD_ADDR", rd * abits))
        pins.append(
            f"    bus (RD_DATA) {{ bus_type : {bus_type(rd * width)}; direction : output; max_capacitance : 0.5;\n"
            f'      timing () {{ related_pin : "CLK"; timing_type : rising_edge;\n'
            f'        cell_rise (scalar) {{ values ("{access:.4f}"); }} cell_fall (scalar) {{ values ("{access:.4f}"); }}\n'
            f'        rise_transition (scalar) {{ values ("0.1000"); }} fall_transition (scalar) {{ values ("0.1000"); }} }}\n'
            "    }\n")
        pins.append(in_pin("bus", "WR_EN", wr * width))
        pins.append(in_pin("bus", "WR_ADDR", wr * abits))
        pins.append(in_pin("bus", "WR_DATA", wr * width))
        cells.append(f"  cell ({macro_name(size, width, abits, rd, wr)}) {{\n"
                     f"    area : {area:.2f};\n    dont_touch : true;\n    dont_use : true;\n"
                     f"    interface_timing : true;\n" + "".join(pins) + "  }\n")
    header = (f"/* Generated by genesys.flows.sram_macros: SRAM macro STUBS from a capacity model\n"
              f"   ({model.source}). Not a compiled SRAM. */\n"
              f"library ({library}) {{\n"
              '  delay_model : table_lookup;\n  time_unit : "1ns";\n  voltage_unit : "1V";\n  current_unit : "1mA";\n'
              '  leakage_power_unit : "1nW";\n  pulling_resistance_unit : "1kohm";\n'
              "  capacitive_load_unit (1, pf);\n  nom_process : 1.0;\n  nom_temperature : 25.0;\n  nom_voltage : 1.8;\n"
              "  default_max_transition : 1.5;\n"
              + "".join(f"  {k}_{e} : {v};\n" for k, v in (("input_threshold_pct", 50), ("output_threshold_pct", 50),
                                                         ("slew_lower_threshold_pct", 20), ("slew_upper_threshold_pct", 80))
                        for e in ("rise", "fall")))
    return header + "".join(types.values()) + "".join(cells) + "}\n"


def simulation_model(shapes: list[tuple[int, int, int, int, int]]) -> str:
    """Behavioural Verilog of the macros (what the Liberty stubs promise): a registered read per port that holds
    its data between reads, bit write enables, read-before-write. Used to check the techmap by simulation."""
    out = ["// Generated by genesys.flows.sram_macros: behavioural models of the SRAM macro stubs."]
    for (size, width, abits, rd, wr) in shapes:
        out.append(f"""module {macro_name(size, width, abits, rd, wr)} (CLK, RD_EN, RD_ADDR, RD_DATA, WR_EN, WR_ADDR, WR_DATA);
  input CLK;
  input [{rd - 1}:0] RD_EN;
  input [{rd * abits - 1}:0] RD_ADDR;
  output reg [{rd * width - 1}:0] RD_DATA;
  input [{wr * width - 1}:0] WR_EN;
  input [{wr * abits - 1}:0] WR_ADDR;
  input [{wr * width - 1}:0] WR_DATA;
  reg [{width - 1}:0] mem [0:{size - 1}];
  integer p, b;
  always @(posedge CLK) begin
    for (p = 0; p < {rd}; p = p + 1)
      if (RD_EN[p]) RD_DATA[p*{width} +: {width}] <= mem[RD_ADDR[p*{abits} +: {abits}]];
    for (p = 0; p < {wr}; p = p + 1)
      for (b = 0; b < {width}; b = b + 1)
        if (WR_EN[p*{width} + b]) mem[WR_ADDR[p*{abits} +: {abits}]][b] <= WR_DATA[p*{width} + b];
  end
endmodule""")
    return "\n".join(out) + "\n"


def write_files(out_dir: Path, memories: list[Memory], model: SramModel, min_bits: int = MIN_MACRO_BITS
                ) -> tuple[Path, Path, list[tuple[int, int, int, int, int]]]:
    shapes = sorted({m.shape for m in memories if not m.why_not_macro(min_bits)})
    out_dir.mkdir(parents=True, exist_ok=True)
    tm = out_dir / "sram_techmap.v"
    lib = out_dir / "sram_stubs.lib"
    tm.write_text(techmap_verilog(shapes))
    lib.write_text(liberty(shapes, model))
    return tm, lib, shapes
