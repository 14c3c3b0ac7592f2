"""serial, identity and nextval columns rewritten for DuckDB (forge_sql.engine.serial_columns),
declared string types (forge_sql.engine.declared_types) and length fitting
(forge_sql.engine.lengths)."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import declared_types, lengths, serial_columns
from forge_sql.sql.statements import split


def rewrite(sql: str, taken: frozenset[str] = frozenset()) -> serial_columns.Rewritten | None:
    return serial_columns.rewrite(
        split(sql)[0], "public", lambda text: ("public", text), lambda s, n: n in taken
    )


def test_serial_becomes_a_not_null_column_with_a_nextval_default() -> None:
    result = rewrite("CREATE TABLE t (id serial PRIMARY KEY, b bigserial, a text)")
    assert result is not None
    assert result.sql == (
        "CREATE TABLE t (id INTEGER NOT NULL DEFAULT forge_nextval(getvariable('forge_session'), "
        "'public.t_id_seq') PRIMARY KEY, b BIGINT NOT NULL DEFAULT "
        "forge_nextval(getvariable('forge_session'), 'public.t_b_seq'), a text)"
    )
    assert [(d.name, d.data_type, d.owned_column) for d in result.sequences] == [
        ("t_id_seq", "integer", "id"), ("t_b_seq", "bigint", "b")]


def test_identity_options_and_a_taken_name() -> None:
    result = rewrite("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH 5), x int)",
                     frozenset({"t_id_seq"}))
    assert result is not None
    (sequence,) = result.sequences
    assert (sequence.name, sequence.start, sequence.identity) == ("t_id_seq1", 5, "a")
    assert "forge_identity(getvariable('forge_session'), 'public.t_id_seq1', 'a')" in result.sql


def test_nothing_to_rewrite_and_add_column_refused() -> None:
    assert rewrite("CREATE TABLE t (a int DEFAULT 1)") is None
    with pytest.raises(errors.FeatureNotSupported):
        rewrite("ALTER TABLE t ADD COLUMN id serial")


def test_generated_always_refuses_explicit_values() -> None:
    always = {"id"}
    serial_columns.refuse_explicit(split("INSERT INTO t (b) VALUES (1)")[0], always)
    serial_columns.refuse_explicit(
        split("INSERT INTO t (id, b) OVERRIDING SYSTEM VALUE VALUES (1, 1)")[0], always)
    with pytest.raises(errors.GeneratedAlways):
        serial_columns.refuse_explicit(split("INSERT INTO t (id, b) VALUES (1, 1)")[0], always)
    with pytest.raises(errors.GeneratedAlways):
        serial_columns.refuse_explicit(split("UPDATE t SET b = 2, id = 3")[0], always)
    serial_columns.refuse_explicit(split("UPDATE t SET id = DEFAULT")[0], always)


def test_declared_string_types() -> None:
    found = declared_types.column_types(split(
        "CREATE TABLE s.t (a text, b varchar(10), c char(2), d varchar, e character varying(3)[],"
        " f int, PRIMARY KEY (f))")[0])
    assert found == (("s", "t"), [("a", "TEXT"), ("b", "VARCHAR(10)"), ("c", "BPCHAR(2)"),
                                  ("d", ""), ("e", "VARCHAR(3)[]"), ("f", "")])


def test_lengths_fit_parameters_literals_and_expressions() -> None:
    limits = {"a": (3, False)}
    statement = split("INSERT INTO t (a, b) VALUES ($1, $2), ('ab  ', upper($2))")[0]
    fitted = lengths.apply(statement, statement.sql, ["xy   ", "z"], limits, list)
    assert fitted.params == ["xy ", "z"]
    assert "VALUES ($1, $2), ('ab ', upper($2))" in fitted.sql
    with pytest.raises(errors.StringDataRightTruncation, match=r"character varying\(3\)"):
        lengths.apply(statement, statement.sql, ["long", "z"], limits, list)
    update = split("UPDATE t SET a = a || 'x' WHERE b = 1")[0]
    assert lengths.apply(update, update.sql, [], limits, list).sql == (
        "UPDATE t SET a = server.pgc.string_fit(a || 'x', 3, false) WHERE b = 1")
