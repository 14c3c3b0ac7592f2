"""``forge-sql storage compact|expire|cleanup|snapshots|backup|restore`` and ``forge-sql
export``: work on a data directory's lake without a server (a running server holds the
lake's lock); ``storage backup --url`` asks a running server to write the backup."""

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
    def command(older_than: str | None = None, force: bool = False, **where: Any) -> None:
        from forge_sql.storage import catalogs, maintenance, record

        age = _older_than(older_than)
        with _lake(**where) as (settings, con):
            data_dir = settings.data_dir.resolve()
            known = record.read(data_dir)
            outcomes = maintenance.run(
                con,
                settings.database,
                action,
                age,
                settings.maintenance,
                where=catalogs.embedded(data_dir),
                since=known.since if known is not None else None,
                force=force,
            )
        for outcome in outcomes:
            click.echo(outcome.detail)

    command.__doc__ = summary
    command = _lake_options(command)
    if action == "cleanup":
        command = click.option(
            "--force",
            is_flag=True,
            help="Delete orphaned files even when they are more than [maintenance] "
            "orphans_max_share of the lake's files (after checking the catalog is the "
            "right one).",
        )(command)
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


@storage.command()
@click.argument("destination", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--url",
    default=None,
    envvar="FORGE_SQL_BACKUP_URL",
    help="Back up through a running server (superuser): postgresql://user@host:port/db. "
    "DESTINATION is then a directory on the server's machine.",
)
@_lake_options
def backup(destination: Path, url: str | None, **where: Any) -> None:
    """Copy the lake (catalog as of one snapshot, and every file it refers to) into
    DESTINATION, a new or empty directory. With --url the server keeps serving reads and
    writes meanwhile; without, the data directory is opened offline."""
    destination = destination.absolute()
    if url is not None:
        if where.get("data_dir") is not None:
            raise click.UsageError("give either --url or --data-dir, not both")
        click.echo(_backup_online(url, destination))
        return
    from forge_sql.storage import backup as backups
    from forge_sql.storage.catalogs import embedded

    with _lake(**where) as (settings, con):
        data_dir = settings.data_dir.resolve()
        try:
            manifest = backups.take(
                con, settings.database, embedded(data_dir), data_dir / "tmp", destination
            )
        except (ForgeError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {manifest.describe()} to {destination}")


def _backup_online(url: str, destination: Path) -> str:
    import psycopg

    from forge_sql.sql.quoting import literal

    try:
        with psycopg.connect(url, autocommit=True, application_name="forge-sql") as conn:
            rows = conn.execute(f"CALL forge_backup({literal(str(destination))})").fetchall()
    except psycopg.Error as exc:
        raise click.ClickException(f"backup failed: {exc}") from exc
    return "\n".join(f"backed up {row[2]}" for row in rows)


@storage.command()
@click.argument("source", type=click.Path(path_type=Path, file_okay=False, exists=True))
@_lake_options
def restore(source: Path, **where: Any) -> None:
    """Put the backup in SOURCE back as the data directory's lake (stop the server first).
    The current catalog, if any, is kept beside it as catalog.ducklake.before-restore-*;
    no data file is deleted. Start the server afterwards: it serves the backup's snapshot."""
    from forge_sql.config import load
    from forge_sql.storage import backup as backups
    from forge_sql.storage import catalogs

    try:
        settings = load(where["config_file"], data_dir=where["data_dir"],
                        database=where["database"])
        data_dir = settings.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        manifest = backups.restore(source, catalogs.locate(settings, data_dir), data_dir)
    except (ConfigError, ForgeError, OSError) as exc:
        hint = getattr(exc, "hint", None)
        raise click.ClickException(str(exc) + (f"\nHINT: {hint}" if hint else "")) from exc
    click.echo(f"restored {manifest.describe()} into {data_dir}")
