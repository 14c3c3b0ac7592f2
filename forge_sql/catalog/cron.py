"""The rewrite rule for pg_cron's names: ``cron.job``, ``cron.schedule(...)`` and the rest
-> ``server.cron.X``, the schema of the server's database that holds them
(forge_sql.engine.job_functions). DuckDB reads ``cron.x`` as schema cron of the lake."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.sql.rewrite import Edit, Rule, Source

SCHEMA = "server.cron"
NAMES = frozenset({
    "job", "job_run_details", "job_status", "schedule", "schedule_in_database",
    "unschedule", "alter_job",
})


def _wanted(sql: str) -> bool:
    return "cron" in sql or "CRON" in sql


def _fold(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index in range(len(tokens) - 2):
        schema, dot, name = tokens[index : index + 3]
        if dot.text != "." or _fold(schema.text) != "cron" or _fold(name.text) not in NAMES:
            continue
        if index and tokens[index - 1].text == ".":
            continue  # catalog.cron.x: already qualified
        yield Edit(schema.start, schema.end, SCHEMA)


RULE = Rule("pg_cron's schema", _edits, _wanted)
