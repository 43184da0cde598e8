# Technology-independent synthesis for Edalize's Yosys tool (FuseSoC target `synth`).
#
# Edalize's Yosys script calls `synth_<arch> <yosys_synth_options> -top <toplevel>`; the core sets
# `arch: generic`, and this file (a tclSource, sourced while Edalize reads the design) defines that
# command: Yosys's generic `synth` flow, flattened so `stat` counts the whole design, except that
# memories stay memories. `synth` would run `memory_map` and turn every PE's weight bank into flip-flops
# (262,144 of them at 16x16: 13.5 minutes and 3.9 GB); here they are kept as $mem cells and counted as
# memory bits, the way an ASIC or FPGA flow maps them to SRAM macros or block RAM. Then a `check` for
# driver problems, the cell statistics teed to stat.txt and the kept memories (whose bits `stat` does not
# count) dumped to memories.txt, both for the flow runner.
# -noshare: Yosys's SAT-based resource sharing ran for over 10 minutes on the SIMD lanes' FP datapaths
# of genesys_top and gains little there; the asic flow (flows/asic.py) skips it too.
proc synth_generic {args} {
  # begin..coarse of `synth` (elaboration, FSM, memory inference without mapping, word-level opt)
  yosys synth -flatten -noshare -run :fine {*}$args
  # `synth`'s fine step without memory_map: gate-level techmap and ABC for the logic
  yosys opt -fast -full
  yosys techmap
  yosys opt -fast
  yosys abc -fast
  yosys opt -fast
  yosys hierarchy -check
  yosys check
  yosys tee -o stat.txt stat
  yosys tee -q -o memories.txt dump {t:$mem_v2}
}
