"""``forge-sql sync run NAME`` and ``forge-sql sync status``: the syncs the migrations
declare, run and shown through a running server (``--url``) or on the data directory
opened in this process (``--data-dir``), by the same ``CALL forge_sync``."""

from __future__ import annotations

from typing import Any

import click

from forge_sql.migrate.commands import _connect, _emit, _run, _target, _target_options
from forge_sql.migrate.errors import DatabaseError, MigrationError
from forge_sql.sql.quoting import literal

STATUS = (
    "SELECT s.name, s.schedule, st.cursor_value, r.status, r.finished, r.rows_read, "
    "r.rows_inserted, r.rows_updated, r.error "
    "FROM forge_meta.syncs AS s LEFT JOIN forge_meta.sync_state AS st USING (name) "
    "LEFT JOIN (SELECT * FROM forge_meta.sync_runs QUALIFY row_number() OVER "
    "(PARTITION BY name ORDER BY run_id DESC) = 1) AS r USING (name) ORDER BY s.name"
)
STATUS_COLUMNS = ("name", "schedule", "cursor", "last_status", "last_finished", "rows_read",
                  "rows_inserted", "rows_updated", "error")


@click.group()
def sync() -> None:
    """Run the syncs declared by migrations (syncs:), and show their state."""


@sync.command("run")
@click.argument("name")
@click.option("--full-refresh", is_flag=True, help="Read everything and replace the rows.")
@_target_options
@click.pass_context
def run(ctx: click.Context, /, name: str, full_refresh: bool, **given: Any) -> None:
    """Run the sync NAME now (CALL forge_sync('NAME'))."""
    target = _target(ctx, given)
    option = ", full_refresh => true" if full_refresh else ""

    def body() -> int:
        with _connect(target) as conn:
            try:
                rows = conn.execute(f"CALL forge_sync({literal(name)}{option})")
            except DatabaseError as exc:
                raise MigrationError(f"sync {name} failed: {exc.message}") from exc
        _emit(target, [dict(zip(("action", "count", "detail"), r, strict=True)) for r in rows],
              "\n".join(f"{a:<9} {'' if c is None else c:>10}  {d or ''}".rstrip()
                        for a, c, d in rows))
        return 0

    _run(target, body)


@sync.command("status")
@_target_options
@click.pass_context
def status(ctx: click.Context, /, **given: Any) -> None:
    """Each sync: its schedule, cursor and last run."""
    target = _target(ctx, given)

    def body() -> int:
        with _connect(target) as conn:
            rows = conn.execute(STATUS)
        records = [dict(zip(STATUS_COLUMNS, r, strict=True)) for r in rows]
        lines = [
            f"{r['name']}: {r['last_status'] or 'never run'}"
            + (f" at {r['last_finished']}" if r["last_finished"] else "")
            + f", cursor {r['cursor']}" + (f", schedule {r['schedule']}" if r["schedule"] else "")
            + (f", error: {r['error']}" if r["error"] else "")
            for r in records
        ]
        _emit(target, records, "\n".join(lines) or "no syncs declared")
        return 0

    _run(target, body)
