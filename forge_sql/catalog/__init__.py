"""pg_catalog and information_schema as PostgreSQL clients and BI tools expect them."""
