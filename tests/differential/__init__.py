"""Differential test: generated statements run on forge-sql and on PostgreSQL, answers compared."""
