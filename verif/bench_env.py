"""Environment variables through which a runner tells a cocotb testbench where and how much to run.

Kept in a module of its own, free of heavy imports, because the testbenches import it inside the simulator.
"""

ENV_OUT_DIR = "GENESYS_VERIF_OUT"      # folder for the per-test JSON reports
ENV_ITEMS = "GENESYS_VERIF_ITEMS"      # number of items of the random sequence
ENV_CLOCK_PS = "GENESYS_CLOCK_PS"      # clock period; simulated time is cosmetic, cycles are what count
DEFAULT_CLOCK_PS = 10_000              # used only when a testbench runs without a runner
