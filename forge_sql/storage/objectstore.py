"""Object storage for the lake's data files: S3 and S3-compatible stores through httpfs.

Credentials become one DuckDB secret created at start-up, in memory only (never written
to the database file); clients see it redacted and cannot create their own.
"""

from __future__ import annotations

from typing import Protocol

import duckdb
from pydantic import SecretStr

from forge_sql.sql.quoting import literal

SECRET = "forge_s3"


def is_url(path: str) -> bool:
    """True for ``s3://bucket/...`` and other URLs, False for local paths."""
    return "://" in path


class ObjectStoreSettings(Protocol):
    """The server configuration's S3 settings (forge_sql.config.Settings)."""

    @property
    def s3_endpoint(self) -> str | None: ...
    @property
    def s3_region(self) -> str | None: ...
    @property
    def s3_url_style(self) -> str | None: ...
    @property
    def s3_use_ssl(self) -> bool: ...
    @property
    def s3_access_key_id(self) -> str | None: ...
    @property
    def s3_secret_access_key(self) -> SecretStr | None: ...
    @property
    def s3_session_token(self) -> SecretStr | None: ...


def secret_sql(settings: ObjectStoreSettings) -> str | None:
    """``CREATE SECRET`` for the S3 settings given, or None when none is set."""
    options: list[tuple[str, str | bool]] = []
    if settings.s3_access_key_id is not None:
        options.append(("KEY_ID", settings.s3_access_key_id))
    if settings.s3_secret_access_key is not None:
        options.append(("SECRET", settings.s3_secret_access_key.get_secret_value()))
    if settings.s3_session_token is not None:
        options.append(("SESSION_TOKEN", settings.s3_session_token.get_secret_value()))
    if settings.s3_endpoint is not None:
        options.append(("ENDPOINT", settings.s3_endpoint))
    if settings.s3_region is not None:
        options.append(("REGION", settings.s3_region))
    if settings.s3_url_style is not None:
        options.append(("URL_STYLE", settings.s3_url_style))
    if not options and settings.s3_use_ssl:
        return None
    options.append(("USE_SSL", settings.s3_use_ssl))
    body = ", ".join(f"{key} {literal(value)}" for key, value in options)
    return f"CREATE OR REPLACE TEMPORARY SECRET {SECRET} (TYPE s3, {body})"


def configure(con: duckdb.DuckDBPyConnection, settings: ObjectStoreSettings) -> None:
    """Create the S3 secret when S3 settings are given (httpfs must be loaded)."""
    sql = secret_sql(settings)
    if sql is not None:
        con.execute(sql)
