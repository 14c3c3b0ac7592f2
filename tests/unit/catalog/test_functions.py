"""The catalog functions, compared with what PostgreSQL 16 returns for the same calls."""

from __future__ import annotations

import pytest

from forge_sql.sql.configuration import SETTINGS
from tests.unit.catalog.conftest import Query


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # format_type and the reg* casts
        ("SELECT format_type(23, -1)", "integer"),
        ("SELECT format_type(1043, 54)", "character varying(50)"),
        ("SELECT format_type(1700, 655366)", "numeric(10,2)"),
        ("SELECT format_type(1184, -1)", "timestamp with time zone"),
        ("SELECT format_type(1007, -1)", "integer[]"),
        ("SELECT 'int4'::regtype::text", "integer"),
        ("SELECT 'pg_catalog.array_in'::regproc", "array_in"),
        ("SELECT 'public'::regnamespace::oid", 2200),
        ("SELECT 11::regnamespace::text", "pg_catalog"),
        ("SELECT to_regtype('bigint')", 20),
        # pg_size_pretty: PostgreSQL's units and rounding
        ("SELECT pg_size_pretty(10239)", "10239 bytes"),
        ("SELECT pg_size_pretty(10240)", "10 kB"),
        ("SELECT pg_size_pretty(1048576)", "1024 kB"),
        ("SELECT pg_size_pretty(20971520)", "20 MB"),
        ("SELECT pg_size_pretty(123456789012)", "115 GB"),
        # quoting and identifiers
        ("SELECT quote_ident('my_table')", "my_table"),
        ("SELECT quote_ident('My Table')", '"My Table"'),
        ("SELECT quote_ident('select')", '"select"'),
        ("SELECT quote_ident('a\"b')", '"a""b"'),
        ("SELECT quote_literal('it''s')", "'it''s'"),
        ("SELECT quote_nullable(NULL::VARCHAR)", "NULL"),
        ("SELECT parse_ident('public.\"My T\"')", ["public", "My T"]),
        ("SELECT parse_ident('Sales.Orders')", ["sales", "orders"]),
        # arrays
        ("SELECT array_lower([5, 6, 7], 1)", 1),
        ("SELECT array_upper([5, 6, 7], 1)", 3),
        ("SELECT array_upper([]::INTEGER[], 1)", None),
        # the session as PostgreSQL reports it
        ("SELECT current_schemas(true)", ["pg_catalog", "public"]),
        ("SELECT current_schemas(false)", ["public"]),
        ("SELECT pg_encoding_to_char(6)", "UTF8"),
        ("SELECT has_table_privilege('items', 'SELECT')", True),
        ("SELECT has_schema_privilege('forge', 'public', 'USAGE')", True),
        ("SELECT pg_table_is_visible('items'::regclass)", True),
        ("SELECT pg_table_is_visible('sales.orders'::regclass)", False),
        ("SELECT pg_type_is_visible(23)", True),
        ("SELECT pg_get_viewdef('cheap'::regclass)",
         'SELECT id, "name" FROM items WHERE (price < 10);'),
        ("SELECT pg_get_serial_sequence('items', 'id')", None),
        ("SELECT pg_get_partkeydef('items'::regclass)", None),
        ("SELECT pg_is_in_recovery()", False),
    ],
)
def test_function(query: Query, sql: str, expected: object) -> None:
    assert query(sql) == [(expected,)]


def test_regclass_round_trip(query: Query) -> None:
    (oid,) = query("SELECT 'items'::regclass::oid")[0]
    assert query(f"SELECT {oid}::regclass, 'public.items'::regclass::oid, "
                 "to_regclass('items')") == [("items", oid, oid)]
    assert query("SELECT 'sales.orders'::regclass::text") == [("sales.orders",)]
    assert query("SELECT to_regclass('no_such_table')") == [(None,)]


def test_expandarray_reads_keys_as_pgjdbc_does(query: Query) -> None:
    rows = query(
        "SELECT (information_schema._pg_expandarray(i.indkey)).n AS key_seq, "
        "(information_schema._pg_expandarray(i.indkey)).x AS attnum "
        "FROM pg_index i WHERE i.indrelid = 'items'::regclass AND i.indisprimary"
    )
    assert rows == [(1, 1)]


def test_generate_subscripts(query: Query) -> None:
    assert query("SELECT generate_subscripts([7, 8], 1)") == [(1,), (2,)]


def test_keywords(query: Query) -> None:
    rows = dict(query("SELECT word, catcode FROM pg_catalog.pg_get_keywords()"))
    assert rows["select"] == "R" and rows["absolute"] == "U"


def test_sizes(query: Query) -> None:
    (size,) = query("SELECT pg_total_relation_size('items'::regclass)")[0]
    assert size >= 0
    assert query("SELECT pg_relation_size(0), pg_indexes_size('items'::regclass)") == [(0, 0)]


def test_settings_come_from_the_engine(query: Query) -> None:
    rows = dict(query("SELECT name, setting FROM pg_settings"))
    assert rows["standard_conforming_strings"] == "on"
    assert rows["DateStyle"] == SETTINGS["datestyle"].default
    assert len(rows) == len(SETTINGS)
