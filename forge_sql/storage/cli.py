"""``forge-sql storage compact|expire|cleanup|snapshots`` and ``forge-sql export``: work on
a data directory's lake without a server (a running server holds the lake's lock)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from forge_sql.errors import ConfigError, ForgeError


def _lake_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="FORGE_SQL_CONFIG",
        help="TOML config file (env FORGE_SQL_CONFIG): data_dir, database, [maintenance].",
    )(command)
    command = click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Data directory of the server [default: ./forge-data].",
    )(command)
    return click.option("--database", default=None, help="Database name [default: forge].")(
        command
    )


@contextmanager
def _lake(config_file: Path | None, data_dir: Path | None, database: str | None) -> Iterator[Any]:
    """Settings and an open lake; errors become one clear command-line message."""
    import duckdb

    from forge_sql.config import load
    from forge_sql.storage.offline import open_lake

    try:
        settings = load(config_file, data_dir=data_dir, database=database)
        with open_lake(settings.data_dir, settings.database) as con:
            yield settings, con
    except (ConfigError, ForgeError, duckdb.Error) as exc:
        hint = getattr(exc, "hint", None)
        raise click.ClickException(str(exc) + (f"\nHINT: {hint}" if hint else "")) from exc


def _older_than(value: str | None) -> timedelta | None:
    from forge_sql.storage.policy import parse_duration

    if value is None:
        return None
    try:
        parsed = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from exc
    assert isinstance(parsed, timedelta)
    return parsed


@click.group()
def storage() -> None:
    """Maintain the lake of a data directory (offline: stop the server first).

    Over SQL, superusers run the same on a running server: CALL forge_compact(),
    CALL forge_expire('7 days'), CALL forge_cleanup('1 hour').
    """


def _maintenance_command(action: str, summary: str, with_age: bool) -> None:
    def command(older_than: str | None = None, **where: Any) -> None:
        from forge_sql.storage import maintenance

        age = _older_than(older_than)
        with _lake(**where) as (settings, con):
            outcomes = maintenance.run(con, settings.database, action, age, settings.maintenance)
        for outcome in outcomes:
            click.echo(outcome.detail)

    command.__doc__ = summary
    command = _lake_options(command)
    if with_age:
        command = click.option(
            "--older-than",
            default=None,
            help="Age, e.g. '7 days', '1h', '0s' [default: from the [maintenance] policy].",
        )(command)
    storage.command(action)(command)


_maintenance_command(
    "compact",
    "Merge small Parquet files and rewrite files with many deleted rows (same data).",
    with_age=False,
)
_maintenance_command(
    "expire",
    "Expire snapshots older than --older-than: time travel no longer reaches them.",
    with_age=True,
)
_maintenance_command(
    "cleanup",
    "Delete files no snapshot needs (expired or never committed) older than --older-than.",
    with_age=True,
)


@storage.command()
@_lake_options
def snapshots(**where: Any) -> None:
    """List the lake's snapshots: id, time, changes."""
    with _lake(**where) as (_, con):
        rows = con.execute(
            "SELECT snapshot_id, snapshot_time::VARCHAR, changes::VARCHAR "
            "FROM ducklake_snapshots(current_database()) ORDER BY snapshot_id"
        ).fetchall()
    for snapshot_id, at, changes in rows:
        click.echo(f"{snapshot_id}\t{at}\t{changes}")


@click.command("export")
@click.argument("table")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--partition-by",
    multiple=True,
    help="Column to partition by (col=value directories); repeat for more levels.",
)
@click.option("--version", "version", type=int, default=None, help="Export as of this snapshot.")
@click.option("--overwrite", is_flag=True, help="Replace what DIRECTORY already holds.")
@_lake_options
def export(
    table: str,
    directory: Path,
    partition_by: tuple[str, ...],
    version: int | None,
    overwrite: bool,
    **where: Any,
) -> None:
    """Write TABLE as hive-partitioned Parquet files under DIRECTORY, for Spark, Trino,
    polars or pyarrow (offline: stop the server first)."""
    from forge_sql.storage.export import export_table

    with _lake(**where) as (_, con):
        done = export_table(
            con, table, directory, partition_by, version=version, overwrite=overwrite
        )
    click.echo(f"exported {done.rows} rows of {table} to {directory} ({done.files} files)")
