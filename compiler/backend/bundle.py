"""The program bundle: everything a target needs to run a compiled model.

On disk (`Bundle.write(dir)`):

    program.bin            the program words (little-endian 32-bit), loaded at `program_address`
    dram.bin               the initial DRAM image from address 0 (weights, biases, scales, tensor borders)
    bundle.json            arch, addresses, graph inputs/outputs (DRAM layout + quantization), per-layer metadata
    program.s              the whole program as assembly text
    layers/<layer>_string_final.txt, _binary.txt, _decimal.txt, _json.json
                           per layer, as the GeneSys compiler writes them: its instructions as text, as
                           32-bit binary strings, as unsigned decimals, and its description
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genesys.errors import GenesysError
from genesys.isa import format_words

FORMAT_VERSION = 1


@dataclass
class TensorIO:
    """A graph input or output: its ONNX name, the device tensor, its DRAM layout and quantization."""

    name: str
    tensor: str
    layout: dict
    scale: float
    zero_point: int
    float_io: bool  # the host quantizes (inputs) / dequantizes (outputs)
    shape: list[int]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Bundle:
    arch: str
    program_address: int
    words: list[int]
    lines: list[str]
    dram: bytearray
    inputs: list[TensorIO]
    outputs: list[TensorIO]
    layers: list[dict]
    model: str = ""
    compile_seconds: float = 0.0
    options: dict = field(default_factory=dict)

    @property
    def dram_bytes(self) -> int:
        """DRAM the program needs: the image, the program after it."""
        return self.program_address + 4 * len(self.words)

    @staticmethod
    def layer_indices(layer: dict) -> list[int]:
        """Instruction indices of a layer's own groups (an interleaved layer's are not contiguous)."""
        ranges = layer.get("instruction_ranges") or [layer["instructions"]]
        return [i for a, b in ranges for i in range(a, b + 1)]

    def layer_lines(self, layer: dict) -> list[str]:
        return [self.lines[i] for i in self.layer_indices(layer)]

    def to_json(self) -> dict:
        return {"format_version": FORMAT_VERSION, "model": self.model, "arch": self.arch,
                "program_address": self.program_address, "program_words": len(self.words),
                "dram_image_bytes": len(self.dram), "dram_bytes": self.dram_bytes,
                "compile_seconds": round(self.compile_seconds, 3), "options": self.options,
                "inputs": [t.to_dict() for t in self.inputs], "outputs": [t.to_dict() for t in self.outputs],
                "layers": self.layers}

    def write(self, out: str | Path) -> Path:
        out = Path(out)
        (out / "layers").mkdir(parents=True, exist_ok=True)
        np.asarray(self.words, dtype="<u4").tofile(out / "program.bin")
        (out / "dram.bin").write_bytes(bytes(self.dram))
        (out / "program.s").write_text("\n".join(self.lines) + "\n")
        (out / "bundle.json").write_text(json.dumps(self.to_json(), indent=1) + "\n")
        for layer in self.layers:
            stem = out / "layers" / safe_name(layer["name"])
            idx = self.layer_indices(layer)
            words = [self.words[i] for i in idx]
            Path(f"{stem}_string_final.txt").write_text("\n".join(self.lines[i] for i in idx))
            Path(f"{stem}_binary.txt").write_text(format_words(words, "binary"))
            Path(f"{stem}_decimal.txt").write_text(format_words(words, "decimal"))
            Path(f"{stem}_json.json").write_text(json.dumps(layer, indent=1) + "\n")
        return out

    @staticmethod
    def read(path: str | Path) -> Bundle:
        path = Path(path)
        meta_path = path / "bundle.json"
        if not meta_path.is_file():
            raise GenesysError(f"{path}: not a bundle directory (no bundle.json); compile a model with "
                               "`genesys compile MODEL -o DIR` first")
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise GenesysError(f"{meta_path}: bundle format {meta.get('format_version')} is not "
                               f"{FORMAT_VERSION}; recompile the model")
        words = np.fromfile(path / "program.bin", dtype="<u4").astype(np.int64).tolist()
        lines = (path / "program.s").read_text().splitlines()
        return Bundle(meta["arch"], meta["program_address"], words, lines, bytearray((path / "dram.bin").read_bytes()),
                      [TensorIO(**t) for t in meta["inputs"]], [TensorIO(**t) for t in meta["outputs"]],
                      meta["layers"], meta.get("model", ""), meta.get("compile_seconds", 0.0), meta.get("options", {}))


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "layer"
