"""Agents shared by the block and system testbenches: an AXI-Lite control agent (axil) and an AXI4 memory agent
(axi_mem: one shared DRAM behind any number of AXI4 master ports, with timing modes, error injection and a
burst monitor)."""
