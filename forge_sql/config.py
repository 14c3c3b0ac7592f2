"""Server settings: one model fed by a TOML file, ``FORGE_SQL_*`` variables and CLI flags.

Precedence, highest first: command-line flags, environment, config file, defaults.
Every field's description is the help text the CLI and the docs show.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from forge_sql.errors import ConfigError, utf8_position
from forge_sql.storage.external import ExternalDataset
from forge_sql.storage.policy import MaintenancePolicy

DEFAULT_PORT = 5433  # 5432 is left to a PostgreSQL that may run on the same machine

# DuckDB's memory_limit units (checked on DuckDB 1.5.5), or a share of physical memory.
_MEMORY = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>%|[KMGT]i?B|[KMGT]|B|bytes)\s*$", re.IGNORECASE
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class User(BaseModel):
    """A user allowed to connect; the password is stored only as a SCRAM verifier."""

    model_config = {"extra": "forbid"}

    password: str = Field(
        description="SCRAM-SHA-256 verifier, as printed by `forge-sql hash-password`."
    )
    superuser: bool = Field(
        False,
        description="Bypasses privilege checks: may read and change every table, manage "
        "roles and grants, see every session's query in pg_stat_activity and cancel or "
        "terminate any session (pg_cancel_backend, pg_terminate_backend).",
    )
    roles: list[str] = Field(
        default_factory=list,
        description="Roles this user is a member of, whose privileges it has (e.g. "
        '["pg_read_all_data"] for a read-only user); as GRANT role TO user.',
    )

    @field_validator("password")
    @classmethod
    def _is_verifier(cls, value: str) -> str:
        from forge_sql.scram import parse_verifier

        if not value.startswith("SCRAM-SHA-256$"):
            raise ValueError(
                "store a SCRAM-SHA-256 verifier (run `forge-sql hash-password`), "
                "not a clear-text password"
            )
        try:
            parse_verifier(value)
        except ValueError as exc:
            raise ValueError(
                f"{exc}: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> "
                "(base64), as `forge-sql hash-password` prints it"
            ) from None
        return value


class ExternalConnection(BaseModel):
    """One external database ([connections.NAME]): PostgreSQL through DuckDB's scanner."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["postgres"] = Field("postgres", description="Only postgres for now.")
    dsn: str = Field(description="libpq connection string, without the password.")
    password_secret: str | None = Field(
        None, description="The secret under [secrets] that holds the password."
    )
    readers: list[str] = Field(
        default_factory=list,
        description="Roles besides superusers that may read the connection's tables (members "
        "of a listed role too; 'public' for every role). Default: superusers only, as a "
        "PostgreSQL foreign table is readable only by those granted SELECT on it.",
    )

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, value: str) -> str:
        if re.search(r"(^|\s)password\s*=", value) or re.search(r"://[^/@]*:[^/@]*@", value):
            raise ValueError("put the password under [secrets] and name it in password_secret")
        return value


class Settings(BaseSettings):
    """Everything the server reads at start-up."""

    model_config = SettingsConfigDict(env_prefix="FORGE_SQL_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(
        DEFAULT_PORT,
        ge=0,
        le=65535,
        description=f"TCP port to listen on (default {DEFAULT_PORT}); 0 picks a free port.",
    )
    data_dir: Path = Field(
        Path("forge-data"),
        description="Directory holding the database, the DuckLake catalog and Parquet files; "
        "created on first start.",
    )
    database: str = Field("forge", description="Database name clients must connect to.")
    users: dict[str, User] = Field(
        default_factory=dict,
        description="Users and their SCRAM verifiers. Empty: trust authentication, "
        "allowed only when listening on loopback.",
    )
    memory_limit: str = Field("75%", description="DuckDB memory limit for the whole process.")
    threads: int = Field(0, ge=0, description="DuckDB worker threads (0: one per core).")
    max_connections: int = Field(
        100,
        ge=1,
        description="Concurrent client connections, superuser_reserved_connections included.",
    )
    superuser_reserved_connections: int = Field(
        3,
        ge=0,
        description="Connection slots kept for superusers: once max_connections minus these "
        "are in use, only superusers may connect (as in PostgreSQL).",
    )
    authentication_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds a client has to complete the startup and authentication before "
        "the connection is closed.",
    )
    idle_session_timeout: int = Field(
        0,
        ge=0,
        description="Milliseconds a session may stay idle outside a transaction before it is "
        "closed with FATAL 57P05 (0: never). Sessions may SET their own.",
    )
    idle_in_transaction_session_timeout: int = Field(
        0,
        ge=0,
        description="Milliseconds a session may stay idle inside an open transaction before "
        "it is closed with FATAL 25P03 (0: never). Sessions may SET their own.",
    )
    semantics: Literal["postgres", "duckdb"] = Field(
        "postgres",
        description="Value semantics of client statements: postgres (PostgreSQL's integer "
        "division, NULL ordering, format() and SIMILAR TO) or duckdb (DuckDB's own). "
        "Sessions may SET forge.semantics to their own.",
    )
    max_message_size: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest Query, Parse, Bind, CopyData or FunctionCall message accepted "
        "from a client, in bytes; other messages are limited to 10000 bytes (startup, "
        "Describe, Execute, Sync, ...) or 65535 (authentication), as in PostgreSQL.",
    )
    batch_rows: int = Field(65536, ge=1024, description="Rows per Arrow batch streamed to clients.")
    batch_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest Arrow batch of result rows, in bytes (SELECT, FETCH, COPY TO "
        "STDOUT): rows are sent in batches of at most batch_rows rows and batch_bytes bytes, "
        "a single wider row alone. It also bounds the encoded rows a session holds.",
    )
    inline_rows: int = Field(
        1000,
        ge=0,
        description="Inserts of at most this many rows are kept in the catalog instead of a "
        "new Parquet file each, and written out as Parquet at start-up and shutdown "
        "(0: always write Parquet).",
    )
    shutdown_flush_seconds: float = Field(
        5.0,
        ge=0,
        description="At shutdown, inlined rows are written out as Parquet for at most this "
        "many seconds, table by table; the tables not reached keep their committed rows in "
        "the catalog until the next start writes them out.",
    )
    job_history_days: float = Field(
        30.0,
        gt=0,
        description="Rows of cron.job_run_details older than this many days are deleted "
        "(history retention of scheduled jobs).",
    )
    jobs_enabled: bool = Field(
        True,
        description="Run the scheduled jobs of cron.job in this server (servers sharing a "
        "lake agree on who runs each tick).",
    )
    tls_cert: Path | None = Field(
        None,
        description="PEM certificate (chain) file. With tls_key, clients can connect over "
        "TLS (sslmode=require or verify-full); without, SSLRequest is declined.",
    )
    tls_key: Path | None = Field(
        None, description="PEM private key of tls_cert (readable by the server's user only)."
    )
    tls_required: bool = Field(
        False,
        description="Refuse connections without TLS, except from loopback addresses "
        "(needs tls_cert and tls_key).",
    )
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    restart_after_crash: bool = Field(
        True,
        description="As PostgreSQL's restart_after_crash: serve runs a small supervisor "
        "that holds the listening sockets and starts the server process again on them when "
        "it dies by a signal or a fatal exit (clients connecting meanwhile wait); off, the "
        "server runs in the serve process itself and a crash ends the service.",
    )
    # -- shared lake: catalog in PostgreSQL, data on object storage (docs/scale-out.md) --
    catalog: str | None = Field(
        None,
        description="PostgreSQL connection string (libpq 'host=... dbname=...' or "
        "postgresql:// URL) of the database holding the DuckLake catalog, so that several "
        "servers share one lake. Unset: the embedded catalog file in data_dir. libpq's "
        "PGPASSWORD and ~/.pgpass apply.",
    )
    data_path: str | None = Field(
        None,
        description="Where table data files are written: a local directory or "
        "s3://bucket/prefix/ (unset: data_dir/lake/). Servers sharing a catalog must use "
        "the same data_path.",
    )
    s3_endpoint: str | None = Field(
        None, description="S3 endpoint host[:port] (unset: AWS). For S3-compatible stores."
    )
    s3_region: str | None = Field(None, description="S3 region, e.g. us-east-1.")
    s3_url_style: str | None = Field(
        None,
        pattern="^(vhost|path)$",
        description="S3 URL style: 'vhost' (AWS default) or 'path' (most S3-compatible stores).",
    )
    s3_use_ssl: bool = Field(True, description="Use HTTPS to reach the S3 endpoint.")
    s3_access_key_id: str | None = Field(None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(
        None,
        description="S3 secret access key; prefer the FORGE_SQL_S3_SECRET_ACCESS_KEY "
        "environment variable to a file.",
    )
    s3_session_token: SecretStr | None = Field(
        None, description="S3 session token, for temporary credentials."
    )
    commit_retries: int = Field(
        10,
        ge=0,
        description="Times a statement outside BEGIN ... COMMIT is run again when its commit "
        "conflicts with another server's (0: report 40001 at once).",
    )
    accept_catalog: bool = Field(
        False,
        description="Start even when the lake's catalog is missing, another lake's, or "
        "older than the data directory's lake record (docs/storage.md, recovery); give it "
        "for one start only (serve --accept-catalog), never in a config file you keep.",
    )
    maintenance: MaintenancePolicy = Field(
        default_factory=MaintenancePolicy,
        description="Storage maintenance policy ([maintenance] in the config file).",
    )
    external: dict[str, ExternalDataset] = Field(
        default_factory=dict,
        description="External datasets ([external.NAME] in the config file): views over "
        "local Parquet, CSV or JSON files that clients may read.",
    )
    external_directories: list[Path] = Field(
        default_factory=list,
        description="Further directories clients may read files from (for views that SQL "
        "migrations create, or YAML migrations applied through this server before it "
        "restarts); the data directory and recorded datasets' directories always are.",
    )

    # -- extensions (docs/extensions.md) --
    extensions: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Directories of extension files (Python functions usable from SQL); "
        "unset: ./extensions when present. FORGE_SQL_EXTENSIONS separates several with "
        f"{os.pathsep!r}. Installed packages' forge_sql.extensions entry points load too.",
    )
    shipped_extensions: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Which shipped extensions (forge-sql's own extensions/ folder) load: "
        "'all' (every one whose optional modules are installed; one that lacks them is "
        "skipped with a log line), 'none', or a comma-separated list of names (each must "
        "load). The example loads only when named. [default: all]",
    )
    extension_settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Each extension's own settings ([extension_settings.NAME] in the config "
        "file), given to its functions as ctx.settings.",
    )
    secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Secrets extensions look up by name (ctx.secret(NAME)); never shown in "
        "SQL text or logs.",
    )
    connections: dict[str, ExternalConnection] = Field(
        default_factory=dict,
        description="External databases ([connections.NAME]), attached read-only: clients "
        "read NAME.schema.table (docs/sources.md).",
    )

    @field_validator("connections")
    @classmethod
    def _connection_names(
        cls, value: dict[str, ExternalConnection]
    ) -> dict[str, ExternalConnection]:
        for name in value:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in (
                "memory", "system", "temp", "server", "main", "pgc", "forge_ext"
            ):
                raise ValueError(f"connection name {name!r}: lower case letters, digits and _, "
                                 "not a name the server uses")
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        match = _MEMORY.match(value)
        number = float(match["number"]) if match else 0.0
        if match is None or number <= 0 or (match["unit"] == "%" and number > 100):
            raise ValueError(
                f"{value!r} is not a memory size: write a number and a unit (512MB, 4GB, "
                "1.5GiB; KB, MB, GB, TB count in 1000s, KiB, MiB, GiB, TiB in 1024s) or a "
                "share of physical memory (75%)"
            )
        return value.strip()

    @field_validator("extensions", mode="before")
    @classmethod
    def _path_list(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return [p for p in str(value).split(os.pathsep) if p]
        return value

    @field_validator("shipped_extensions", mode="before")
    @classmethod
    def _shipped_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list) and all(isinstance(w, str) for w in value):
            words = [w.strip() for w in value if w.strip()]
            if [w.lower() for w in words] == ["all"]:
                return None
            if [w.lower() for w in words] in ([], ["none"]):
                return []
            return words
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level: use one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        if not value:
            raise ValueError("host must not be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags arrive as init values; the file's values are merged below them by `load`.
        return (init_settings, env_settings)

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(config_file: Path | None = None, **flags: Any) -> Settings:
    """Build the settings from a TOML file, the environment and flags (None = not given)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_read_toml(config_file))
    env_overrides = _from_environment()
    from_file = {k for k in values if k not in env_overrides}
    values = {k: v for k, v in values.items() if k not in env_overrides}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        given = {k for k, v in flags.items() if v is not None}
        raise ConfigError(_describe(exc, config_file, from_file - given, given)) from exc
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError("TLS needs both tls_cert and tls_key")
    if settings.tls_required and settings.tls_cert is None:
        raise ConfigError("tls_required needs tls_cert and tls_key")
    if not settings.users and not settings.loopback_only:
        raise ConfigError(
            f"refusing to listen on {settings.host} without users: trust authentication is "
            "allowed on loopback only. Add [users.NAME] password = '<verifier from "
            "`forge-sql hash-password`>' to the config file, or listen on 127.0.0.1."
        )
    return settings


def _read_toml(config_file: Path) -> dict[str, Any]:
    """The file's settings; bytes that are not UTF-8 or not TOML are reported with the
    line and column."""
    try:
        data = config_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = utf8_position(data, exc)
        raise ConfigError(
            f"{config_file}:{line}:{column}: not valid UTF-8 (byte 0x{data[exc.start]:02x}): "
            "the config file is TOML, which is UTF-8 text"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{config_file}: not valid TOML: nested too deeply") from None


def _from_environment() -> set[str]:
    import os

    prefix = "FORGE_SQL_"
    return {k[len(prefix) :].lower() for k in os.environ if k.startswith(prefix)}


def _describe(exc: ValidationError, config_file: Path | None, from_file: set[str],
              flags: set[str]) -> str:
    """One line per invalid setting: where it came from, which one, what is wrong."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        top = str(err["loc"][0]) if err["loc"] else ""
        if top in flags:
            where = f"--{top.replace('_', '-')}"
        elif top in from_file and config_file is not None:
            where = str(config_file)
        else:
            where = f"environment FORGE_SQL_{top.upper()}"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid setting {loc} ({where}): {message}")
    return "\n".join(lines)
