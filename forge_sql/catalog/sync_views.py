"""``forge_syncs`` (each declared sync, its schedule and cursor) and ``forge_sync_runs``
(the run history), over the lake's forge_meta tables (forge_sql.engine.syncs)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA
from forge_sql.sql.quoting import quote_ident


def definitions(lake: str) -> Iterator[str]:
    meta = f"{quote_ident(lake)}.forge_meta"
    # Syncs are run and declared by superusers; others see no rows (their sources, errors
    # and cursors are the operator's), as pg_stat_activity hides other users' queries.
    superuser = f"{SCHEMA}.current_setting('is_superuser') = 'on'"
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.forge_syncs AS SELECT s.name, "
        "json_extract_string(s.definition, '$.source') AS source, "
        "json_extract_string(s.definition, '$.into') AS target, "
        "json_extract_string(s.definition, '$.mode') AS mode, s.schedule, "
        "st.cursor_value AS cursor, st.cursor_type, st.updated_at AS cursor_updated, "
        "st.last_run, s.declared_in "
        f"FROM {meta}.syncs AS s LEFT JOIN {meta}.sync_state AS st USING (name) "
        f"WHERE {superuser}"
    )
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.forge_sync_runs AS SELECT run_id, name, started, "
        "finished, status, full_refresh, rows_read, rows_inserted, rows_updated, "
        "rows_deleted, pages, requests, retries, throttled, duration_ms, cursor_from, "
        f"cursor_to, error FROM {meta}.sync_runs WHERE {superuser}"
    )
