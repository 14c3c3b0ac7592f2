"""The DuckDB side of forge-sql: one database, one cursor per session, Postgres semantics."""
