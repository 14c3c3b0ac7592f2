"""forge-sql: a PostgreSQL wire-protocol server over DuckDB with Parquet-backed storage."""

__version__ = "0.1.0"
