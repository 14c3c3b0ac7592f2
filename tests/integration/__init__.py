"""Integration tests: a real forge-sql server driven by real clients."""
