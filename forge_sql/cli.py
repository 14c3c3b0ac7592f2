"""The ``forge-sql`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import signal
import socket
import ssl
import sys
from pathlib import Path
from typing import Any

import click

from forge_sql import __version__, storage_cli
from forge_sql.config import DEFAULT_PORT, Settings, load
from forge_sql.errors import ConfigError

log = logging.getLogger("forge_sql")


def _help(name: str) -> str:
    return str(Settings.model_fields[name].description)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forge-sql")
def main() -> None:
    """forge-sql: a PostgreSQL-compatible SQL server over DuckDB, with Parquet storage.

    Settings come from flags, FORGE_SQL_* environment variables (e.g. FORGE_SQL_PORT) and
    an optional TOML config file, in that order of precedence.
    """


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="FORGE_SQL_CONFIG",
    help="TOML config file (env FORGE_SQL_CONFIG).",
)
@click.option("--host", default=None, help=_help("host") + " [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help=_help("port"))
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=_help("data_dir") + " [default: ./forge-data]",
)
@click.option("--database", default=None, help=_help("database") + " [default: forge]")
@click.option("--memory-limit", default=None, help=_help("memory_limit"))
@click.option("--threads", type=int, default=None, help=_help("threads"))
@click.option("--max-connections", type=int, default=None, help=_help("max_connections"))
@click.option("--batch-bytes", type=int, default=None, help=_help("batch_bytes"))
@click.option("--log-level", default=None, help=_help("log_level"))
@click.option(
    "--accept-catalog", is_flag=True, default=None, help=_help("accept_catalog")
)
@click.option(
    "--extensions",
    "extensions",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help=_help("extensions") + " Repeatable.",
)
@click.option("--shipped-extensions", default=None, help=_help("shipped_extensions"))
@click.option(
    "--restart-after-crash/--no-restart-after-crash", default=None,
    help=_help("restart_after_crash"),
)
# Given by the supervisor to the server process it starts (forge_sql.postmaster).
@click.option("--listen-fds", default=None, hidden=True)
@click.option("--ready-fd", type=int, default=None, hidden=True)
def serve(config_file: Path | None, listen_fds: str | None, ready_fd: int | None,
          **flags: Any) -> None:
    """Run the server until interrupted.

    Prints `listening on HOST:PORT` once the socket is bound. Without users in the config
    file, clients are trusted, which is allowed on loopback addresses only.
    """
    flags["extensions"] = list(flags["extensions"]) or None
    try:
        settings = load(config_file, **flags)
        tls = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            from forge_sql.wire.tls import server_context

            tls = server_context(settings.tls_cert, settings.tls_key)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.restart_after_crash and listen_fds is None:
        from forge_sql import postmaster

        backlog = max(128, 2 * settings.max_connections)
        sys.exit(postmaster.serve(
            postmaster.server_command(), settings.host, settings.port, backlog))
    sockets = None
    if listen_fds is not None:
        sockets = [socket.socket(fileno=int(fd)) for fd in listen_fds.split(",")]
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings, tls, sockets, ready_fd))
    except ConfigError as exc:  # e.g. the lake's catalog or data path cannot be opened
        raise click.ClickException(str(exc)) from exc


async def _serve(settings: Settings, tls: ssl.SSLContext | None,
                 sockets: list[socket.socket] | None, ready_fd: int | None) -> None:
    """Run the server; on ``sockets`` (inherited from the supervisor) when given, telling
    it on ``ready_fd`` once clients are served."""
    # Imported here so `forge-sql --help` stays fast.
    from forge_sql.engine.backend import Engine
    from forge_sql.wire.auth import parse_verifier
    from forge_sql.wire.server import Server

    try:
        engine = Engine(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    users = {name: parse_verifier(user.password) for name, user in settings.users.items()}
    # Roles created over the wire log in too: the verifier is looked up at each login.
    passwords = engine.database.verifier if settings.users else None
    server = Server(engine, settings, users, tls, passwords)
    if sockets is not None:
        host, port = await server.start_on(sockets)
    else:
        host, port = await server.start(settings.host, settings.port)
    # Before the line that says the server is up: a SIGTERM sent as soon as it is read
    # shuts down cleanly (inlined rows written out) instead of killing the process.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: loop.run_in_executor(None, _reload_extensions, engine)
    )
    print(f"listening on {host}:{port}", flush=True)
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    log.info("data directory %s, database %r", engine.database.data_dir, settings.database)
    serving = asyncio.create_task(server.serve_forever())
    await stop.wait()
    log.info("shutting down")
    serving.cancel()
    await server.close()
    engine.close()
    log.info("shut down")


def _reload_extensions(engine: Any) -> None:
    """SIGHUP: load the extension files again; a broken one is logged and the running
    functions stay."""
    try:
        count = engine.database.reload_extensions()
    except ConfigError as exc:
        log.error("extensions not reloaded: %s", exc)
    except Exception:
        log.exception("extensions not reloaded")
    else:
        log.info("extensions reloaded: %d functions", count)


@main.command("hash-password")
@click.option(
    "--password",
    envvar="FORGE_SQL_PASSWORD",
    default=None,
    help="Password to hash (default: prompt; env FORGE_SQL_PASSWORD).",
)
def hash_password(password: str | None) -> None:
    """Print the SCRAM-SHA-256 verifier to store for a user in the config file."""
    from forge_sql.wire.auth import make_verifier

    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise click.ClickException("passwords do not match")
    click.echo(make_verifier(password))


main.add_command(storage_cli.storage)
main.add_command(storage_cli.export)


def _add_extensions() -> None:
    from forge_sql.plugins.commands import extensions

    main.add_command(extensions)


_add_extensions()


def _add_migrate() -> None:
    from forge_sql.migrate.commands import migrate

    main.add_command(migrate)


_add_migrate()


def _add_sync() -> None:
    from forge_sql.migrate.sync_commands import sync

    main.add_command(sync)


_add_sync()

__all__ = ["DEFAULT_PORT", "main"]
