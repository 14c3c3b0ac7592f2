"""What a statement does to which relations: SQL -> (action, relation) pairs."""

from __future__ import annotations

import pytest

from forge_sql.engine import relations
from forge_sql.sql.statements import classify


def _pairs(sql: str) -> set[tuple[str, str]]:
    return {(a.action, str(a.name)) for a in relations.accesses(classify(sql))}


CASES = [
    ("SELECT * FROM t", {("r", "t")}),
    ('SELECT * FROM "Secret"."T"', {("r", "secret.t")}),
    ("SELECT * FROM forge.public.t", {("r", "forge.public.t")}),
    ("WITH t AS (SELECT * FROM base) SELECT * FROM t", {("r", "base")}),
    ("WITH x AS (SELECT 1) SELECT * FROM x, public.x", {("r", "public.x")}),
    ("WITH secret AS (SELECT * FROM secret) SELECT * FROM secret", {("r", "secret")}),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b", {("r", "b")}),
    ("WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b", set()),
    ("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r", set()),
    ("SELECT (SELECT max(a) FROM s1) FROM (SELECT * FROM s2) q JOIN s3 ON true "
     "WHERE EXISTS (SELECT 1 FROM s4)", {("r", "s1"), ("r", "s2"), ("r", "s3"), ("r", "s4")}),
    ("SELECT a FROM u1 UNION SELECT a FROM u2 EXCEPT SELECT a FROM u3",
     {("r", "u1"), ("r", "u2"), ("r", "u3")}),
    ("FROM t", {("r", "t")}),
    ("INSERT INTO t VALUES (1)", {("a", "t")}),
    ("INSERT INTO t (a, b) SELECT * FROM src", {("a", "t"), ("r", "src")}),
    ("INSERT INTO t VALUES ((SELECT 1 FROM v))", {("a", "t"), ("r", "v")}),
    ("INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET a = 2 RETURNING a",
     {("a", "t"), ("w", "t"), ("r", "t")}),
    ("INSERT OR REPLACE INTO t VALUES (1)", {("a", "t"), ("w", "t")}),
    ("WITH s AS (SELECT * FROM src) INSERT INTO t SELECT * FROM s",
     {("r", "src"), ("a", "t")}),
    ("UPDATE t SET a = 1", {("w", "t")}),
    ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", {("w", "t"), ("r", "u"), ("r", "t")}),
    ("UPDATE t SET a = (SELECT max(b) FROM other)", {("w", "t"), ("r", "other")}),
    ("DELETE FROM t", {("d", "t")}),
    ("DELETE FROM t USING u WHERE t.id = u.id", {("d", "t"), ("r", "u"), ("r", "t")}),
    ("DELETE FROM t WHERE id IN (SELECT id FROM gone)",
     {("d", "t"), ("r", "t"), ("r", "gone")}),
    ("TRUNCATE t", {("D", "t")}),
    ("TRUNCATE TABLE s.t", {("D", "s.t")}),
    ("MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN UPDATE SET a = src.a "
     "WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.a)",
     {("r", "t"), ("r", "src"), ("w", "t"), ("a", "t")}),
    ("MERGE INTO t USING (SELECT * FROM s1) AS q ON t.id = q.id WHEN MATCHED THEN DELETE",
     {("r", "t"), ("r", "s1"), ("d", "t")}),
    ("COPY t TO STDOUT", {("r", "t")}),
    ("COPY s.t FROM STDIN", {("a", "s.t")}),
    ("COPY (SELECT * FROM q1 JOIN q2 USING (id)) TO STDOUT", {("r", "q1"), ("r", "q2")}),
    ("CREATE TABLE n (a INTEGER)", {("create", "n")}),
    ("CREATE TABLE s.n AS SELECT * FROM src", {("create", "s.n"), ("r", "src")}),
    ("CREATE OR REPLACE VIEW v AS SELECT * FROM base", {("create", "v"), ("own", "v"),
                                                         ("r", "base")}),
    ("CREATE TEMP TABLE tt AS SELECT * FROM src", {("create", "tt"), ("r", "src")}),
    ("CREATE SCHEMA s", {("create-schema", "s")}),
    ("CREATE INDEX i ON t (a)", {("own", "t")}),
    ("DROP TABLE s.t", {("own", "s.t")}),
    ("DROP VIEW IF EXISTS v CASCADE", {("own", "v")}),
    ("DROP SCHEMA s", {("own-schema", "s")}),
    ("ALTER TABLE t ADD COLUMN c INTEGER", {("own", "t")}),
    ("ALTER TABLE t RENAME TO u", {("own", "t")}),
    ("COMMENT ON TABLE t IS 'x'", {("own", "t")}),
    ("COMMENT ON COLUMN s.t.c IS 'x'", {("own", "s.t")}),
    ("EXPLAIN SELECT * FROM t", {("r", "t")}),
    ("EXPLAIN ANALYZE DELETE FROM t", {("d", "t")}),
    ("PREPARE p AS UPDATE t SET a = 1", {("w", "t")}),
    ("EXECUTE p", {("execute", "p")}),
    ("SELECT * FROM ducklake_table_changes('forge', 'public', 'T', 0, 5)",
     {("r", "forge.public.t")}),
    ("SELECT * FROM ducklake_table_insertions('forge', 'public', name, 0, 5)",
     {("r", "?.?.?")}),
    ("PIVOT secret ON a USING sum(b)", {("r", "secret")}),
    ("PIVOT secret ON a IN (1, 2) USING sum(b)", {("r", "secret")}),
    ("SUMMARIZE secret", {("r", "secret")}),
    ("DESCRIBE SELECT * FROM secret", {("r", "secret")}),
    ("SELECT * FROM (VALUES (1)) v, LATERAL (SELECT * FROM l1)", {("r", "l1")}),
    ("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM base) SELECT * FROM r",
     {("r", "base")}),
    ("SELECT * FROM t1 POSITIONAL JOIN t2", {("r", "t1"), ("r", "t2")}),
    ("SET VARIABLE x = (SELECT max(v) FROM secret)", {("r", "secret")}),
    ("CALL ducklake_table_insertions('forge', 'public', 'secret', 0, 5)",
     {("r", "forge.public.secret")}),
    ("SET TimeZone = 'UTC'", set()),
    ("PRAGMA table_info('secret')", set()),
    ("SELECT 1", set()),
]


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_accesses(sql: str, expected: set[tuple[str, str]]) -> None:
    assert _pairs(sql) == expected


def test_a_query_that_does_not_serialize_is_unknown() -> None:
    """Whatever json_serialize_sql cannot take is no relation-free statement."""
    assert relations.query_reads("SELECT * FROM") is None
