"""pyuvm system verification of genesys_top (the whole NPU) against genesys.sim."""
