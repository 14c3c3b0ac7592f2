"""Parquet-backed storage: DuckLake attach, external datasets, maintenance."""
