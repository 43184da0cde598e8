"""pyuvm verification of the systolic-array engine (genesys_sa_engine)."""
