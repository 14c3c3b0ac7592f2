"""External databases declared in the config (``[connections.NAME]``): attached read-only
through DuckDB's postgres scanner at start-up, before the sandbox closes external access,
so that clients read ``NAME.schema.table`` and cannot write, attach or detach."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb

from forge_sql.config import ExternalConnection
from forge_sql.errors import ConfigError
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage.ducklake import load_extension


def conninfo(name: str, connection: ExternalConnection, secrets: Mapping[str, str]) -> str:
    """The libpq connection string; the password is in a passfile of a private directory
    outside the sandbox's reach (in the string, duckdb_databases() would show it)."""
    if connection.password_secret is None:
        return connection.dsn
    try:
        password = secrets[connection.password_secret]
    except KeyError:
        raise ConfigError(
            f"connection {name!r}: password_secret {connection.password_secret!r} is not "
            "under [secrets]"
        ) from None
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    path = _private_directory() / f"{name}.pgpass"
    path.touch(mode=0o600)
    path.write_text(f"*:*:*:*:{escaped}\n")
    return f"{connection.dsn} passfile={path}"


_directory: Path | None = None


def _private_directory() -> Path:
    global _directory
    if _directory is None:
        _directory = Path(tempfile.mkdtemp(prefix="forge-sql-connections-"))
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


def attach(con: duckdb.DuckDBPyConnection, connections: Mapping[str, ExternalConnection],
           secrets: Mapping[str, str]) -> None:
    if not connections:
        return
    load_extension(con, "postgres_scanner")
    for name, connection in connections.items():
        text = conninfo(name, connection, secrets)
        try:
            con.execute(f"ATTACH {literal(text)} AS {quote_ident(name)} "
                        "(TYPE postgres, READ_ONLY)")
        except duckdb.Error as exc:
            message = str(exc)
            for secret in secrets.values():
                if secret:
                    message = message.replace(secret, "********")
            raise ConfigError(f"cannot attach connection {name!r}: {message}") from None
