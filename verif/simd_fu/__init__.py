"""pyuvm verification of the SIMD lane function unit (templates/simd_fu)."""
