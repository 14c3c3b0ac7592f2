"""The pg_catalog emulation through real clients: psycopg catalog queries, the ADBC driver
(its pg_type load, ``$1::regclass`` probe and binary COPY), polars and asyncpg."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import asyncpg
import polars as pl
import psycopg
import pyarrow as pa
import pytest
from server import RunningServer

from forge_sql.seam import oids

# The query the ADBC PostgreSQL driver runs on connect to learn type OIDs.
ADBC_TYPES = (
    "SELECT oid, typname, typreceive, typbasetype, typrelid, typarray FROM pg_catalog.pg_type "
    "WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r' "
    "AND typreceive::TEXT != 'array_recv'"
)
# ADBC's probe before an append (adbc_ingest mode="append").
ADBC_ATTRIBUTES = (
    "SELECT attr.attname, attr.atttypid FROM pg_catalog.pg_attribute AS attr "
    "WHERE attr.attrelid = $1::regclass::oid AND attr.attnum > 0 AND NOT attr.attisdropped"
)


# -- pg_type, pg_namespace, pg_range ----------------------------------------------------------

def test_pg_type_has_postgres_oids(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT typname, oid, typelem, typarray, typcategory, typreceive::TEXT "
        "FROM pg_catalog.pg_type WHERE typname IN ('int4', '_int4', 'text') ORDER BY oid"
    ).fetchall()
    assert rows == [
        ("int4", 23, 0, 1007, "N", "int4recv"),
        ("text", 25, 0, 1009, "S", "textrecv"),
        ("_int4", 1007, 23, 0, "A", "array_recv"),
    ]


def test_pg_type_covers_the_wire_types(conn: psycopg.Connection) -> None:
    found = dict(conn.execute("SELECT oid, typname FROM pg_type WHERE typtype = 'b'").fetchall())
    assert found == {oid: info.name for oid, info in oids.TYPES.items()}
    pseudo = conn.execute("SELECT typname FROM pg_type WHERE typtype = 'p' ORDER BY oid")
    assert [name for (name,) in pseudo] == ["record", "any", "anyarray", "void", "trigger",
                                            "anyelement"]


def test_adbc_type_query_returns_the_base_types(conn: psycopg.Connection) -> None:
    rows = conn.execute(ADBC_TYPES).fetchall()
    assert {row[0] for row in rows} == {oid for oid in oids.TYPES if oid not in oids.ELEMENT_OF}
    assert ("int8", "int8recv", 0, 0, 1016) in [row[1:] for row in rows]


def test_namespaces_and_empty_range(conn: psycopg.Connection) -> None:
    names = dict(conn.execute("SELECT nspname, oid FROM pg_catalog.pg_namespace").fetchall())
    assert (names["pg_catalog"], names["public"]) == (11, 2200)
    assert "information_schema" in names
    assert conn.execute("SELECT count(*) FROM pg_catalog.pg_range").fetchone() == (0,)
    assert conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_type t "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname <> 'pg_catalog'"
    ).fetchone() == (0,)


def test_literals_are_left_alone(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT 'pg_catalog.pg_type', 'x::regclass'").fetchone() == (
        "pg_catalog.pg_type", "x::regclass")


# -- pg_class, pg_attribute, regclass ---------------------------------------------------------

def test_attributes_join_pg_type(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT NOT NULL, name VARCHAR, "
                 f"amount DECIMAL(10,2), tags VARCHAR[], ts TIMESTAMP, flag BOOLEAN)")
    rows = conn.execute(
        "SELECT a.attnum, a.attname, t.typname, a.atttypmod, a.attnotnull "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "WHERE c.relname = %s AND n.nspname = 'public' AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum", [table_name]).fetchall()
    assert rows == [
        (1, "id", "int8", -1, True),
        (2, "name", "varchar", -1, False),
        (3, "amount", "numeric", (10 << 16 | 2) + 4, False),
        (4, "tags", "_varchar", -1, False),
        (5, "ts", "timestamp", -1, False),
        (6, "flag", "bool", -1, False),
    ]


def test_regclass(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    conn.execute(f"CREATE VIEW {table_name}_v AS SELECT a FROM {table_name}")
    (oid,) = conn.execute("SELECT oid FROM pg_catalog.pg_class WHERE relname = %s",
                          [table_name]).fetchone() or (None,)
    assert isinstance(oid, int) and oid >= 16384
    assert conn.execute(f"SELECT '{table_name}'::regclass::oid").fetchone() == (oid,)
    assert conn.execute(f"SELECT 'public.\"{table_name}\"'::regclass::oid").fetchone() == (oid,)
    # A reg* value the client reads is the name, as PostgreSQL prints it.
    assert conn.execute(f"SELECT 'public.\"{table_name}\"'::regclass").fetchone() == (
        table_name,)
    assert conn.execute("SELECT 'int4'::regtype, 'pg_catalog.array_in'::regproc").fetchone() == (
        "integer", "array_in")
    assert conn.execute("SELECT %s::regclass::oid", [table_name],
                        prepare=True).fetchone() == (oid,)
    assert conn.execute(f"SELECT {oid}::regclass::text").fetchone() == (table_name,)
    assert conn.execute(ADBC_ATTRIBUTES.replace("$1", "%s"), [table_name]).fetchall() == [
        ("a", oids.INT4)]
    view = conn.execute("SELECT relkind, relnatts FROM pg_class WHERE oid = %s::regclass",
                        [f"{table_name}_v"]).fetchone()
    assert view == ("v", 1)
    with pytest.raises(psycopg.Error, match="does not exist"):
        conn.execute("SELECT 'no_such_table'::regclass")


def test_oids_are_stable(server: RunningServer, conn: psycopg.Connection,
                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    query = f"SELECT '{table_name}'::regclass::oid"
    first = conn.execute(query).fetchone()
    conn.execute(f"ALTER TABLE {table_name} ADD COLUMN b VARCHAR")
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        assert other.execute(query).fetchone() == first


# -- clients ----------------------------------------------------------------------------------

def test_adbc_fetch_arrow_table_is_typed(server: RunningServer, conn: psycopg.Connection,
                                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE, "
                 f"ts TIMESTAMP, flag BOOLEAN)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'a', 1.5, TIMESTAMP '2024-01-02 03:04:05',"
                 f" true), (2, NULL, NULL, NULL, NULL)")
    with adbc.connect(server.url()) as connection, connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table_name} ORDER BY id")
        table = cur.fetch_arrow_table()
    assert table.schema.types == [pa.int64(), pa.string(), pa.float64(), pa.timestamp("us"),
                                  pa.bool_()]
    assert table.column("id").to_pylist() == [1, 2]
    assert table.column("ts").to_pylist() == [dt.datetime(2024, 1, 2, 3, 4, 5), None]


@pytest.mark.parametrize("mode", ["append", "create"])
def test_adbc_ingest(server: RunningServer, conn: psycopg.Connection, table_name: str,
                     mode: str) -> None:
    if mode == "append":
        conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["x", None])})
    with adbc.connect(server.url()) as connection:
        with connection.cursor() as cur:
            assert cur.adbc_ingest(table_name, data, mode=mode) == 2
        connection.commit()
    assert conn.execute(f"SELECT * FROM {table_name} ORDER BY id").fetchall() == [
        (1, "x"), (2, None)]


def test_polars_round_trip(server: RunningServer, table_name: str) -> None:
    frame = pl.DataFrame({"id": [1, 2], "name": ["p", None], "amount": [1.25, None]})
    assert frame.write_database(table_name, server.url(), engine="adbc") == 2
    back = pl.read_database_uri(f"SELECT * FROM {table_name} ORDER BY id", server.url(),
                                engine="adbc")
    assert back.equals(frame)


def test_asyncpg_arrays(server: RunningServer, conn: psycopg.Connection,
                        table_name: str) -> None:
    """Array OIDs are not core codecs in asyncpg: it introspects pg_type for them."""
    conn.execute(f"CREATE TABLE {table_name} (ints INTEGER[], words VARCHAR[])")
    conn.execute(f"INSERT INTO {table_name} VALUES ([1, NULL, 3], ['a', 'b c'])")

    async def main() -> tuple[Any, ...]:
        con = await asyncpg.connect(host=server.host, port=server.port, user="forge",
                                    database=server.database, timeout=10)
        try:
            bound = await con.fetchval("SELECT $1::int[]", [1, 2])
            row = await con.fetchrow(f"SELECT ints, words FROM {table_name}")
            return bound, tuple(row or ())
        finally:
            await con.close(timeout=10)

    bound, row = asyncio.run(asyncio.wait_for(main(), timeout=60))
    assert bound == [1, 2]
    assert row == ([1, None, 3], ["a", "b c"])


# -- Npgsql / Power BI ----------------------------------------------------------------------

# The type loading Npgsql (and so Power BI) runs on connect: arrays are told apart by their
# receive function, array_recv, found by joining pg_proc on typreceive.
NPGSQL_TYPES = """
SELECT ns.nspname, t.oid, t.typname, t.typtype, t.typnotnull, t.elemtypoid
FROM (
    SELECT typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typrelid, typ.typnotnull,
        typ.relkind, elemtyp.oid AS elemtypoid, elemtyp.typname AS elemtypname,
        elemcls.relkind AS elemrelkind,
        CASE WHEN elemproc.proname='array_recv' THEN 'a' ELSE elemtyp.typtype END AS elemtyptype
    FROM (
        SELECT typ.oid, typnamespace, typname, typrelid, typnotnull, relkind, typelem AS elemoid,
            CASE WHEN proc.proname='array_recv' THEN 'a' ELSE typ.typtype END AS typtype,
            CASE
                WHEN proc.proname='array_recv' THEN typ.typelem
                WHEN typ.typtype='r' THEN rngsubtype
                WHEN typ.typtype='m' THEN (SELECT rngtypid FROM pg_range
                                           WHERE rngmultitypid = typ.oid)
                WHEN typ.typtype='d' THEN typ.typbasetype
            END AS elemtypoid
        FROM pg_type AS typ
        LEFT JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
        LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive
        LEFT JOIN pg_range ON (pg_range.rngtypid = typ.oid)
    ) AS typ
    LEFT JOIN pg_type AS elemtyp ON elemtyp.oid = elemtypoid
    LEFT JOIN pg_class AS elemcls ON (elemcls.oid = elemtyp.typrelid)
    LEFT JOIN pg_proc AS elemproc ON elemproc.oid = elemtyp.typreceive
) AS t
JOIN pg_namespace AS ns ON (ns.oid = typnamespace)
WHERE
    typtype IN ('b', 'r', 'm', 'e', 'd') OR
    (typtype = 'c' AND relkind='c') OR
    (typtype = 'p' AND typname IN ('record', 'void')) OR
    (typtype = 'a' AND (
        elemtyptype IN ('b', 'r', 'm', 'e', 'd') OR
        (elemtyptype = 'p' AND elemtypname IN ('record', 'void')) OR
        (elemtyptype = 'c' AND elemrelkind='c')
    ))
ORDER BY CASE
       WHEN typtype IN ('b', 'e', 'p') THEN 0
       WHEN typtype = 'r' THEN 1
       WHEN typtype = 'm' THEN 2
       WHEN typtype = 'c' THEN 3
       WHEN typtype = 'd' AND elemtyptype <> 'a' THEN 4
       WHEN typtype = 'a' THEN 5
       WHEN typtype = 'd' AND elemtyptype = 'a' THEN 6
END
"""
NPGSQL_COMPOSITES = (
    "SELECT typ.oid, att.attname, att.atttypid FROM pg_type AS typ "
    "JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace) "
    "JOIN pg_class AS cls ON (cls.oid = typ.typrelid) "
    "JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid) "
    "WHERE (typ.typtype = 'c' AND cls.relkind='c') AND attnum > 0 AND NOT attisdropped "
    "ORDER BY typ.oid, att.attnum"
)
NPGSQL_ENUMS = (
    "SELECT pg_type.oid, enumlabel FROM pg_enum JOIN pg_type ON pg_type.oid=enumtypid "
    "ORDER BY oid, enumsortorder"
)


def test_npgsql_type_loading(conn: psycopg.Connection) -> None:
    rows = conn.execute(NPGSQL_TYPES).fetchall()
    kinds = {row[2]: row[3:] for row in rows}
    assert kinds["int4"] == ("b", False, None)
    assert kinds["_int4"] == ("a", False, oids.INT4)
    assert kinds["_text"] == ("a", False, oids.TEXT)
    assert kinds["record"][0] == kinds["void"][0] == "p"
    assert "trigger" not in kinds
    assert {row[0] for row in rows} == {"pg_catalog"}
    # base types come before the arrays of them
    order = [row[2] for row in rows]
    assert order.index("int4") < order.index("_int4")
    assert conn.execute(NPGSQL_COMPOSITES).fetchall() == []
    assert conn.execute(NPGSQL_ENUMS).fetchall() == []


# -- pgjdbc DatabaseMetaData (DBeaver, Metabase) --------------------------------------------

PGJDBC_TABLES = (
    "SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME, "
    "CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema' WHEN true THEN CASE "
    "WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind "
    "WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' WHEN 'i' THEN 'SYSTEM INDEX' "
    "ELSE NULL END ELSE NULL END WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' "
    "WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'i' THEN 'INDEX' WHEN 'S' THEN 'SEQUENCE' "
    "WHEN 'v' THEN 'VIEW' WHEN 'c' THEN 'TYPE' WHEN 'f' THEN 'FOREIGN TABLE' "
    "WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END ELSE NULL END AS TABLE_TYPE, "
    "d.description AS REMARKS, '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, "
    "'' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION "
    "FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c "
    "LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0 "
    "and d.classoid = 'pg_class'::regclass) WHERE c.relnamespace = n.oid "
    "AND n.nspname LIKE 'public' AND c.relname LIKE %s AND (false "
    "OR ( c.relkind IN ('r','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ) "
    "OR ( c.relkind = 'v' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' ) ) "
    "ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME"
)
PGJDBC_COLUMNS = (
    "SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,"
    "a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,"
    "t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, "
    "nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,"
    "pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,"
    "t.typtype FROM pg_catalog.pg_namespace n "
    "JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid) "
    "JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid) "
    "JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) "
    "LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum) "
    "LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid) "
    "LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class') "
    "LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog') "
    "WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped "
    "AND n.nspname LIKE 'public' AND c.relname LIKE %s) c WHERE true "
    "ORDER BY nspname,c.relname,attnum"
)
PGJDBC_PRIMARY_KEYS = (
    "SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, "
    "result.KEY_SEQ, result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, "
    "ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME, "
    "(information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME, "
    "information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM "
    "FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) "
    "JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) "
    "JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid) "
    "JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) "
    "WHERE true AND n.nspname = E'public' AND ct.relname = %s AND i.indisprimary ) result "
    "where result.A_ATTNUM = (result.KEYS).x ORDER BY result.table_name, result.pk_name, "
    "result.key_seq"
)


def test_pgjdbc_metadata(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER NOT NULL, b VARCHAR DEFAULT 'z', "
                 f"c DECIMAL(8,3), PRIMARY KEY (b, a))")
    conn.execute(f"COMMENT ON TABLE {table_name} IS 'for pgjdbc'")
    conn.execute(f"COMMENT ON COLUMN {table_name}.c IS 'money'")
    tables = conn.execute(PGJDBC_TABLES, [table_name]).fetchall()
    assert [row[1:5] for row in tables] == [("public", table_name, "TABLE", "for pgjdbc")]
    columns = conn.execute(PGJDBC_COLUMNS, [table_name]).fetchall()
    assert [(r[2], r[3], r[4], r[5], r[8], r[11], r[12]) for r in columns] == [
        ("a", oids.INT4, True, -1, 1, None, None),
        ("b", oids.VARCHAR, True, -1, 2, "'z'::character varying", None),
        ("c", oids.NUMERIC, False, (8 << 16 | 3) + 4, 3, None, "money"),
    ]
    keys = conn.execute(PGJDBC_PRIMARY_KEYS, [table_name]).fetchall()
    assert keys == [(None, "public", table_name, "b", 1, f"{table_name}_pkey"),
                    (None, "public", table_name, "a", 2, f"{table_name}_pkey")]
