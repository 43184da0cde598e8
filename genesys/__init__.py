"""GeneSys: an open DNN accelerator system (RTL generator, ISA tools, flows, verification)."""

from genesys.arch import Arch, list_presets, load_arch
from genesys.errors import GenesysError

__all__ = ["Arch", "load_arch", "list_presets", "GenesysError"]
__version__ = "0.1.0"
