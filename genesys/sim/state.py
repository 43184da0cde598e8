"""Machine state (docs/isa.md, Semantics §1): DRAM and the on-chip buffers as numpy arrays.

Every buffer keeps its elements in the signed dtype of its width, so its little-endian byte image (what
transfers move) is a plain `view(np.uint8)`. Shapes and widths come from the Arch object only.
"""

from __future__ import annotations

import numpy as np

from genesys.arch import Arch
from genesys.errors import GenesysError

SIGNED = {8: np.dtype("<i1"), 16: np.dtype("<i2"), 32: np.dtype("<i4"), 64: np.dtype("<i8")}
SA_BUFFERS = ("WBUF", "IBUF", "OBUF", "BBUF")  # in the order of the ISA's BUFFER codes 0..3
IMM_ENTRIES = 32
SIMD_WORD = np.dtype("<i4")  # a VMEM lane / IMM entry is one 32-bit word


def signed_dtype(width: int, what: str) -> np.dtype:
    if width not in SIGNED:
        raise GenesysError(f"the simulator stores {what} = {width} bits only as 8, 16, 32 or 64-bit elements "
                           "(whole bytes, as the DRAM byte image of a buffer row needs); choose one of those widths")
    return SIGNED[width]


def wrap(values: np.ndarray, width: int) -> np.ndarray:
    """int64 values reduced modulo 2**width into the signed range (two's complement wrap-around: numpy's
    integer narrowing keeps the low bits)."""
    return values.astype(SIGNED[width])


class MachineState:
    """DRAM, IBUF, WBUF, BBUF, OBUF, VMEM1, VMEM2 and IMM of one accelerator."""

    def __init__(self, arch: Arch, dram_bytes: int):
        if dram_bytes <= 0:
            raise GenesysError(f"DRAM size must be positive, got {dram_bytes} bytes")
        self.arch = arch
        n, m, lanes = arch.ARRAY_N, arch.ARRAY_M, arch.SIMD_LANES
        geo = arch.buffers
        self.dram = np.zeros(dram_bytes, dtype=np.uint8)  # calloc'd: untouched pages cost nothing
        self.ibuf = np.zeros((geo["IBUF"].depth, n), signed_dtype(arch.DATA_WIDTH, "DATA_WIDTH"))
        self.wbuf = np.zeros((geo["WBUF"].depth, n, m), signed_dtype(arch.WGT_WIDTH, "WGT_WIDTH"))
        self.bbuf = np.zeros((geo["BBUF"].depth, m), signed_dtype(arch.BIAS_WIDTH, "BIAS_WIDTH"))
        self.obuf = np.zeros((geo["OBUF"].depth, m), signed_dtype(arch.ACC_WIDTH, "ACC_WIDTH"))
        self.vmem1 = np.zeros((geo["VMEM"].depth, lanes), SIMD_WORD)
        self.vmem2 = np.zeros((geo["VMEM"].depth, lanes), SIMD_WORD)
        self.imm = np.zeros(IMM_ENTRIES, SIMD_WORD)
        self.dram_high_water = 0  # one past the highest DRAM byte a store wrote
        self._buffers = {"IBUF": self.ibuf, "WBUF": self.wbuf, "BBUF": self.bbuf, "OBUF": self.obuf,
                         "VMEM1": self.vmem1, "VMEM2": self.vmem2, "IMM": self.imm}

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Name -> array (the arrays themselves: writing into them changes the machine state)."""
        return dict(self._buffers)

    def buffer(self, name: str) -> np.ndarray:
        return self._buffers[name]

    def byte_view(self, name: str) -> np.ndarray:
        """The buffer's byte image, flat (row r starts at r * row_bytes)."""
        return self._buffers[name].reshape(-1).view(np.uint8)

    # ---- DRAM access from the host --------------------------------------------------------------
    def load(self, addr: int, data) -> None:
        raw = np.frombuffer(bytes(data), dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) \
            else np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        self._check_host(addr, raw.size, "load")
        self.dram[addr:addr + raw.size] = raw

    def read(self, addr: int, n: int) -> np.ndarray:
        self._check_host(addr, n, "read")
        return self.dram[addr:addr + n].copy()

    def _check_host(self, addr: int, n: int, what: str) -> None:
        if addr < 0 or n < 0 or addr + n > self.dram.size:
            raise GenesysError(f"cannot {what} {n} bytes at DRAM address 0x{addr:x}: DRAM holds "
                               f"{self.dram.size} bytes (0x0..0x{self.dram.size - 1:x}); pass a larger dram_bytes")
