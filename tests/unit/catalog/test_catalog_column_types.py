"""PostgreSQL's types of pg_catalog columns (forge_sql.catalog.column_types) and how result
typing finds the catalog's relations (forge_sql.engine.result_sources)."""

from __future__ import annotations

from forge_sql.catalog import column_types
from forge_sql.engine.column_types import declared
from forge_sql.engine.result_sources import Relations
from forge_sql.seam import oids


def test_kinds_of_pg_catalog_columns() -> None:
    assert column_types.declared("pg_class", "oid") == "PG_OID"
    assert column_types.declared("pg_class", "relnamespace") == "PG_OID"
    assert column_types.declared("pg_class", "relname") == "PG_NAME"
    assert column_types.declared("pg_class", "relkind") == "PG_CHAR"
    assert column_types.declared("pg_class", "reltuples") is None
    assert column_types.declared("pg_type", "typname") == "PG_NAME"
    assert column_types.declared("no_such_relation", "oid") is None


def test_kinds_are_announced_as_postgres_types() -> None:
    assert declared("PG_OID") == (oids.OID, -1)
    assert declared("PG_NAME") == (oids.NAME, -1)
    assert declared("PG_CHAR") == (oids.CHAR, -1)


def test_catalog_relations_resolve_after_the_search_path() -> None:
    relations = Relations({("pgc", "pg_class"): (("oid", "PG_OID"),),
                           ("public", "t"): (("a", "TEXT"),),
                           ("public", "pg_class"): (("x", "TEXT"),)}, {})
    assert relations.find(None, "pg_class", ["public"]) == ("public", "pg_class")
    assert relations.find(None, "pg_class", ["other"]) == ("pgc", "pg_class")
    assert relations.find("pg_catalog", "pg_class", ["public"]) == ("pgc", "pg_class")
    assert relations.find(None, "t", ["public"]) == ("public", "t")

