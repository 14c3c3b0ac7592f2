"""String result columns typed as PostgreSQL types them: text for expressions, varchar for
columns and casts to varchar(n), on statements DuckDB describes."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.engine.column_names import result_columns
from forge_sql.seam import oids

TEXT, VARCHAR = (oids.TEXT, -1), (oids.VARCHAR, -1)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR, tags VARCHAR[])")
    return con


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT v, t.v, upper(v), v || 'x', 'lit', 'x'::text FROM t",
     [VARCHAR, VARCHAR, TEXT, TEXT, TEXT, TEXT]),
    # Casts to varchar keep their length as typmod (n + 4), however the type is spelled.
    ("SELECT 'x'::varchar(3), CAST(v AS character varying(10)), v::varchar, "
     "CAST(id AS VARCHAR) FROM t",
     [(oids.VARCHAR, 7), (oids.VARCHAR, 14), VARCHAR, VARCHAR]),
    # COALESCE, CASE, greatest and subscripts take their first typed input's type; min, max
    # and nullif are declared on text.
    ("SELECT coalesce(v, 'x'), coalesce(upper(v), v), CASE WHEN id > 1 THEN v ELSE 'y' END, "
     "greatest(v, 'b'), tags[1], max(v), nullif(v, 'a') FROM t GROUP BY v, tags, id",
     [VARCHAR, TEXT, VARCHAR, VARCHAR, VARCHAR, TEXT, TEXT]),
    ("SELECT tags, ARRAY['a'], ARRAY[v], list(v) FROM t GROUP BY tags, v",
     [(oids.VARCHAR_ARRAY, -1), (oids.TEXT_ARRAY, -1), (oids.VARCHAR_ARRAY, -1),
      (oids.VARCHAR_ARRAY, -1)]),
    ("SELECT 'a' UNION SELECT v FROM t", [VARCHAR]),
    ("SELECT upper(v) FROM t UNION SELECT v FROM t", [TEXT]),
    ("SELECT 'a' AS x, 'b'", [TEXT, TEXT]),
    ("VALUES ('a', 1), ('b', 2)", [TEXT, (oids.INT4, -1)]),
    ("SELECT * FROM t", [(oids.INT4, -1), VARCHAR, (oids.VARCHAR_ARRAY, -1)]),
    ("SELECT (SELECT v FROM t LIMIT 1), (SELECT upper(v) FROM t LIMIT 1)", [VARCHAR, TEXT]),
])
def test_string_types(con: duckdb.DuckDBPyConnection, sql: str,
                      expected: list[tuple[int, int]]) -> None:
    relation = con.sql(sql)
    columns = result_columns(sql, zip(relation.columns, relation.types, strict=True))
    assert [(c.type_oid, c.type_modifier) for c in columns] == expected
