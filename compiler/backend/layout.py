"""DRAM allocation and tensor layouts (docs/isa.md, Semantics §7).

- Activations: NHWC, batch 1, int8, channels padded with zeros to a multiple of A = max(N, M). A tensor
  whose consumers read outside its H x W (convolution/pooling padding) is stored with a *border* of
  pixels around it holding the pad value (the zero point for a convolution, -128 for a max pool), so
  that every tile load is a plain strided copy. A rank-2 tensor [1, K] is one pixel of K channels.
- Weights: int8, re-arranged per layer into the order its WBUF loads consume (see codegen).
- Biases: int32 per output channel, padded to a multiple of M. Scales: binary32, padded to L.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genesys.errors import GenesysError

ALIGN = 64  # every region starts on a 64-byte boundary (whole AXI beats on every preset)


def ceil_to(x: int, m: int) -> int:
    return -(-x // m) * m


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class ActLayout:
    """Where an int8 activation lives: NHWC with a border, channels padded to `cp`."""

    name: str
    c: int
    h: int
    w: int
    cp: int
    border: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right (pixels)
    pad_value: int = 0
    addr: int = -1
    logical_shape: tuple[int, ...] = ()

    @property
    def hb(self) -> int:
        return self.h + self.border[0] + self.border[2]

    @property
    def wb(self) -> int:
        return self.w + self.border[1] + self.border[3]

    @property
    def row_pitch(self) -> int:
        return self.wb * self.cp

    @property
    def nbytes(self) -> int:
        return self.hb * self.row_pitch

    def pixel(self, h: int, w: int) -> int:
        """DRAM address of pixel (h, w) (may be negative indices inside the border)."""
        return self.addr + (h + self.border[0]) * self.row_pitch + (w + self.border[1]) * self.cp

    def image(self, q: np.ndarray | None = None) -> np.ndarray:
        """The bytes of the whole region: the border holds the pad value, padded channels zero, and the
        interior `q` (logical NCHW or [1, K] int8) when given."""
        buf = np.zeros((self.hb, self.wb, self.cp), dtype=np.int8)
        bt, bl, _, _ = self.border
        if self.pad_value:
            buf[:, :, : self.c] = self.pad_value
            buf[bt: bt + self.h, bl: bl + self.w, : self.c] = 0
        if q is not None:
            buf[bt: bt + self.h, bl: bl + self.w, : self.c] = self.to_hwc(q)
        return buf

    def to_hwc(self, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q).reshape(self.c, self.h, self.w) if q.size == self.c * self.h * self.w else None
        if q is None:
            raise GenesysError(f"tensor '{self.name}': data does not match its shape {self.logical_shape}")
        return q.transpose(1, 2, 0)

    def read(self, raw: bytes | np.ndarray) -> np.ndarray:
        """The logical tensor (its ONNX shape, int8) from the region's bytes."""
        buf = np.frombuffer(bytes(raw), dtype=np.int8).reshape(self.hb, self.wb, self.cp)
        bt, bl, _, _ = self.border
        hwc = buf[bt: bt + self.h, bl: bl + self.w, : self.c]
        return np.ascontiguousarray(hwc.transpose(2, 0, 1)).reshape(self.logical_shape)

    @staticmethod
    def from_dict(name: str, d: dict) -> ActLayout:
        return ActLayout(name, d["channels"], d["height"], d["width"], d["padded_channels"], tuple(d["border"]),
                         d["pad_value"], d["addr"], tuple(d["shape"]))

    def describe(self) -> dict:
        return {"format": "NHWC", "addr": self.addr, "bytes": self.nbytes, "shape": list(self.logical_shape),
                "channels": self.c, "height": self.h, "width": self.w, "padded_channels": self.cp,
                "border": list(self.border), "pad_value": self.pad_value}


def act_dims(shape: tuple[int, ...], name: str) -> tuple[int, int, int]:
    """(C, H, W) of a batch-1 activation of rank 2 ([1, K]) or 4 ([1, C, H, W])."""
    if len(shape) == 4 and shape[0] == 1:
        return shape[1], shape[2], shape[3]
    if len(shape) == 2 and shape[0] == 1:
        return shape[1], 1, 1
    if len(shape) == 3 and shape[0] == 1:
        return shape[1], 1, shape[2]
    raise GenesysError(f"tensor '{name}' has shape {list(shape)}; the back end lays out batch-1 tensors of "
                       "rank 2 ([1, K]), 3 ([1, C, L]) or 4 ([1, C, H, W])")


@dataclass
class Region:
    addr: int
    nbytes: int
    what: str
    data: np.ndarray | None = None


@dataclass
class DramAllocator:
    """A bump allocator over the DRAM image; regions with initial contents form dram.bin."""

    regions: list[Region] = field(default_factory=list)
    top: int = 0

    def alloc(self, nbytes: int, what: str, data: np.ndarray | bytes | None = None) -> int:
        addr = ceil_to(self.top, ALIGN)
        if data is not None:
            data = np.frombuffer(bytes(data), dtype=np.uint8) if isinstance(data, bytes | bytearray) else \
                np.ascontiguousarray(data).view(np.uint8).reshape(-1)
            if data.size != nbytes:
                raise GenesysError(f"{what}: {data.size} bytes of data for a {nbytes}-byte region")
        self.regions.append(Region(addr, nbytes, what, data))
        self.top = addr + nbytes
        return addr

    def image(self) -> bytearray:
        img = bytearray(ceil_to(self.top, ALIGN))
        for r in self.regions:
            if r.data is not None:
                img[r.addr: r.addr + r.nbytes] = r.data.tobytes()
        return img


def pack_rows_i32(values: np.ndarray, width: int) -> np.ndarray:
    """int32 values padded with zeros to a multiple of `width` (one BBUF row per `width` values)."""
    out = np.zeros(ceil_to(len(values), width), dtype="<i4")
    out[: len(values)] = values
    return out


def pack_rows_f32(values: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros(ceil_to(len(values), width), dtype="<f4")
    out[: len(values)] = values
    return out
