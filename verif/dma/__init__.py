"""pyuvm verification of the AXI4 DMA engine (templates/dma)."""
