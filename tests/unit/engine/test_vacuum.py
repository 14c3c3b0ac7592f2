"""VACUUM and ANALYZE: read as PostgreSQL reads them, checked, answered without DuckDB
(engine.vacuum), on a real engine session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_sql import errors
from forge_sql.config import Settings
from forge_sql.engine import vacuum
from forge_sql.engine.backend import Engine
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import StartupInfo
from forge_sql.sql.statements import classify


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineSession]:
    data: Path = tmp_path_factory.mktemp("vacuum") / "data"
    engine = Engine(Settings(data_dir=data))
    opened = engine.open_session(StartupInfo(user="forge", database="forge"))
    try:
        run(opened, "CREATE TABLE vacuumed (a INT, b TEXT)")
        run(opened, "INSERT INTO vacuumed VALUES (1, 'x')")
        yield opened
    finally:
        opened.close()
        engine.close()


def run(session: EngineSession, sql: str) -> str:
    tag = ""
    try:
        for statement in session.split(sql):
            result = session.execute(statement, ())
            while result.next_batch() is not None:
                pass
            tag = result.command_tag()
            result.close()
        session.sync()
    except errors.ForgeError:
        session.error_occurred()
        raise
    finally:
        session.ready()
    return tag


@pytest.mark.parametrize(
    ("sql", "verb", "options", "targets"),
    [
        ("VACUUM", "VACUUM", (), ()),
        ("vacuum analyze pgbench_branches", "VACUUM", ("ANALYZE",),
         (vacuum.Target("pgbench_branches", ()),)),
        ("VACUUM FULL FREEZE VERBOSE ANALYZE s.t (a, \"B\"), u", "VACUUM",
         ("FULL", "FREEZE", "VERBOSE", "ANALYZE"),
         (vacuum.Target("s.t", ("a", "B")), vacuum.Target("u", ()))),
        ("VACUUM (VERBOSE, ANALYZE false, PARALLEL 2, INDEX_CLEANUP auto) t", "VACUUM",
         ("VERBOSE", "PARALLEL", "INDEX_CLEANUP"), (vacuum.Target("t", ()),)),
        ("ANALYZE VERBOSE t (a)", "ANALYZE", ("VERBOSE",), (vacuum.Target("t", ("a",)),)),
        ("ANALYSE", "ANALYZE", (), ()),
    ],
)
def test_parse(sql: str, verb: str, options: tuple[str, ...],
               targets: tuple[vacuum.Target, ...]) -> None:
    statement = classify(sql)
    assert statement.kind == "VACUUM"
    assert vacuum.parse(statement) == vacuum.Maintenance(verb, options, targets)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("VACUUM (BOGUS) t", 'unrecognized VACUUM option "bogus"'),
        ("ANALYZE (FULL) t", 'unrecognized ANALYZE option "full"'),
        ("VACUUM t u", 'syntax error at or near "u"'),
    ],
)
def test_parse_refuses(sql: str, message: str) -> None:
    with pytest.raises(errors.SyntaxError_) as raised:
        vacuum.parse(classify(sql))
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("sql", "tag"),
    [
        ("VACUUM", "VACUUM"),
        ("VACUUM vacuumed", "VACUUM"),
        ("VACUUM (ANALYZE) vacuumed (a)", "VACUUM"),
        ("ANALYZE vacuumed (a, b)", "ANALYZE"),
        ("ANALYZE", "ANALYZE"),
    ],
)
def test_answered_with_postgresql_tags(session: EngineSession, sql: str, tag: str) -> None:
    assert run(session, sql) == tag
    assert run(session, "SELECT count(*) FROM vacuumed") == "SELECT 1"


def test_checked_as_postgresql_checks(session: EngineSession) -> None:
    with pytest.raises(errors.UndefinedTable):
        run(session, "VACUUM nowhere")
    with pytest.raises(errors.UndefinedColumn, match='column "c" of relation "vacuumed"'):
        run(session, "ANALYZE vacuumed (c)")
    with pytest.raises(errors.FeatureNotSupported, match="ANALYZE option must be specified"):
        run(session, "VACUUM vacuumed (a)")
    run(session, "BEGIN")
    with pytest.raises(errors.ActiveSqlTransaction):
        run(session, "VACUUM vacuumed")
    run(session, "ROLLBACK")
    run(session, "BEGIN")
    assert run(session, "ANALYZE vacuumed") == "ANALYZE"  # ANALYZE may run in a block
    run(session, "COMMIT")
