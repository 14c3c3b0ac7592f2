"""CREATE / REFRESH / DROP MATERIALIZED VIEW parsed from the token stream (DuckDB's parser
has no materialized views), as PostgreSQL's grammar has them (docs:
sql-creatematerializedview, sql-refreshmaterializedview, sql-dropmaterializedview)."""

from __future__ import annotations

from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql.statements import Statement
from forge_sql.sql.words import WordReader


@dataclass(frozen=True)
class MatviewCommand:
    verb: str  # CREATE, REFRESH, DROP or ALTER
    names: tuple[tuple[str, ...], ...]  # DROP may name several
    if_exists: bool = False  # IF EXISTS (DROP) or IF NOT EXISTS (CREATE)
    columns: tuple[str, ...] = ()  # CREATE name (a, b)
    query: str = ""  # CREATE ... AS query: the query's text as the client wrote it
    with_data: bool = True  # WITH [NO] DATA
    concurrently: bool = False
    cascade: bool = False


def parse(statement: Statement) -> MatviewCommand:
    reader = WordReader(statement)
    tokens = reader.tokens
    verb = tokens[0].upper
    reader.at = 3
    if verb == "CREATE":
        return _create(reader)
    if verb == "REFRESH":
        concurrently = reader.take("CONCURRENTLY")
        name = reader.name()
        with_data = True
        if reader.take("WITH", "NO", "DATA"):
            with_data = False
        elif reader.take("WITH", "DATA"):
            pass
        reader.end()
        return MatviewCommand("REFRESH", (name,), with_data=with_data,
                              concurrently=concurrently)
    if verb == "DROP":
        if_exists = reader.take("IF", "EXISTS")
        names = [reader.name()]
        while reader.take(","):
            names.append(reader.name())
        cascade = reader.take("CASCADE")
        if not cascade:
            reader.take("RESTRICT")
        reader.end()
        return MatviewCommand("DROP", tuple(names), if_exists=if_exists, cascade=cascade)
    raise errors.FeatureNotSupported("ALTER MATERIALIZED VIEW is not supported")


def _create(reader: WordReader) -> MatviewCommand:
    if_not_exists = reader.take("IF", "NOT", "EXISTS")
    name = reader.name()
    columns: list[str] = []
    if reader.take("("):
        columns.append(reader.identifier())
        while reader.take(","):
            columns.append(reader.identifier())
        if not reader.take(")"):
            raise reader.fail()
    if reader.peek() in ("USING", "TABLESPACE") or (reader.peek() == "WITH" and (
            reader.peek(1) == "(")):
        raise errors.FeatureNotSupported(
            "USING, WITH (storage parameters) and TABLESPACE are not supported for "
            "materialized views"
        )
    if not reader.take("AS"):
        raise reader.fail()
    tokens = reader.tokens
    end = len(tokens)
    with_data = True
    if [t.upper for t in tokens[-3:]] == ["WITH", "NO", "DATA"]:
        with_data, end = False, end - 3
    elif [t.upper for t in tokens[-2:]] == ["WITH", "DATA"]:
        end -= 2
    if reader.at >= end:
        raise reader.fail()
    sql = reader.statement.sql
    query = sql[tokens[reader.at].start : tokens[end - 1].end]
    return MatviewCommand("CREATE", (name,), if_exists=if_not_exists,
                          columns=tuple(columns), query=query, with_data=with_data)
