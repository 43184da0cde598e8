"""Tests of the implementation flows (genesys.flows), the FuseSoC core and the summary report."""
