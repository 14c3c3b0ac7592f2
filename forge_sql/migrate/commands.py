"""``forge-sql migrate`` and its subcommands (click)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from forge_sql.migrate import datasets, files, lint, scaffold, status, validate
from forge_sql.migrate.apply import Migrator, Options
from forge_sql.migrate.connection import (
    EngineConnection,
    ServerConnection,
    local_user,
    open_offline,
)
from forge_sql.migrate.diff import Risk
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.lease import Lease
from forge_sql.migrate.plan import Model, plan_step
from forge_sql.migrate.progress import Progress

_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
                 default=None, help="Migrations directory [default: ./migrations]."),
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="Work offline on this data directory, as `serve` would open it "
                 "[default: ./forge-data]."),
    click.option("--url", default=None, envvar="FORGE_SQL_MIGRATE_URL",
                 help="Migrate through a running server: postgresql://user@host:port/db "
                 "(env FORGE_SQL_MIGRATE_URL)."),
    click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                 default=None, envvar="FORGE_SQL_CONFIG",
                 help="TOML config file, as for `serve` (offline mode)."),
    click.option("--lock-timeout", type=float, default=None,
                 help="Seconds to wait for another migrate run (or a server holding the data "
                 "directory) before giving up [default: 10]."),
    click.option("--json", "as_json", is_flag=True, default=None,
                 help="Machine-readable output on stdout, no progress lines."),
]
_DEFAULTS: dict[str, Any] = {"directory": Path("migrations"), "lock_timeout": 10.0,
                             "as_json": False}


def _target_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


@dataclass(slots=True)
class Target:
    directory: Path
    data_dir: Path | None
    url: str | None
    config_file: Path | None
    lock_timeout: float
    as_json: bool

    def progress(self) -> Progress:
        return Progress.for_terminal(self.as_json)


def _target(ctx: click.Context, /, given: dict[str, Any]) -> Target:
    """Options given to the subcommand, else to `migrate`, else the defaults."""
    merged = dict(_DEFAULTS)
    parent = ctx.parent.params if ctx.parent is not None and ctx.parent.params else {}
    for name in ("directory", "data_dir", "url", "config_file", "lock_timeout", "as_json"):
        for source in (given, parent):
            if source.get(name) is not None:
                merged[name] = source[name]
                break
        merged.setdefault(name, None)
    if merged["url"] and merged["data_dir"]:
        raise click.UsageError("give either --url or --data-dir, not both")
    return Target(**merged)


@contextlib.contextmanager
def _connect(target: Target,
             progress: Progress | None = None) -> Iterator[EngineConnection | ServerConnection]:
    if target.url:
        conn = ServerConnection(target.url)
        try:
            yield conn
        finally:
            conn.close()
        return
    from forge_sql.config import load
    from forge_sql.errors import ConfigError

    try:
        settings = load(target.config_file, data_dir=target.data_dir)
    except ConfigError as exc:
        raise MigrationError(str(exc)) from exc
    # In this process the operator's own files decide what is readable: the datasets the
    # migrations declare, so that their views can be created (a server started afterwards
    # reads them from forge_meta.external_datasets).
    declared = [d for d in datasets.directories(target.directory)
                if d not in settings.external_directories]
    settings = settings.model_copy(
        update={"external_directories": [*settings.external_directories, *declared],
                "extensions": _extensions(settings.extensions, target.directory)}
    )
    try:
        database = open_offline(settings, target.lock_timeout,
                                progress.note if progress is not None else None)
    except ConfigError as exc:  # e.g. a lost or older catalog (forge_sql.storage.identity)
        raise MigrationError(str(exc)) from exc
    engine_conn = EngineConnection(database, local_user())
    try:
        yield engine_conn
    finally:
        engine_conn.close()
        database.close()


def _extensions(configured: list[Path], migrations: Path) -> list[Path]:
    """The extensions the server loads, so migrations and views can use the functions:
    the configured directories, else the project's extensions/ beside migrations/ (or in
    the current directory)."""
    if configured:
        return configured
    for candidate in (migrations.parent / "extensions", Path("extensions")):
        if candidate.is_dir():
            return [candidate]
    return []


@contextlib.contextmanager
def _locked(conn: EngineConnection | ServerConnection, target: Target,
            progress: Progress) -> Iterator[None]:
    with Lease(conn, conn.sibling, target.lock_timeout, on_wait=progress.note):
        yield


def _fail(exc: MigrationError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": str(exc)}))
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _run(target: Target, body: Callable[[], int | None]) -> None:
    try:
        code = body()
    except MigrationError as exc:
        _fail(exc, target.as_json)
    else:
        sys.exit(code or 0)


def _emit(target: Target, data: object, text: str) -> None:
    if target.as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    elif text:
        click.echo(text)


@click.group(invoke_without_command=True)
@_target_options
@click.option("--allow-destructive", is_flag=True, help="Apply changes that drop data.")
@click.option("--out-of-order", is_flag=True,
              help="Apply pending files whose version is below an applied one.")
@click.pass_context
def migrate(ctx: click.Context, /, allow_destructive: bool, out_of_order: bool,
            **given: Any) -> None:
    """Apply pending migrations from migrations/ (schema as code).

    \b
    Files: V<version>__<name>.sql|.yaml|.py run once, in version order;
    R__<name>.sql runs again whenever its content changes, after them.
    Each migration runs in one transaction with its history row: a failure
    leaves nothing of it applied. Works offline (--data-dir) or through a
    running server (--url), with the same results.

    Without a subcommand, applies what is pending. Refuses to run when an applied
    file was edited (see `repair`), when a pending file has a version below an
    applied one (see --out-of-order) and when a change would drop data (see
    --allow-destructive).
    """
    if ctx.invoked_subcommand is not None:
        return
    target = _target(ctx, given)
    options = Options(allow_destructive, out_of_order)

    def body() -> int:
        validate.declarations(files.discover(target.directory))  # before the database opens
        progress = target.progress()
        with _connect(target, progress) as conn, _locked(conn, target, progress):
            outcome = Migrator(conn, target.directory, options, progress).migrate()
        applied = [
            {"script": f.script, "version": str(f.version) if f.version else None,
             "duration_ms": ms}
            for f, ms in outcome.applied
        ]
        text = "\n".join(f"applied {a['script']} ({a['duration_ms']} ms)" for a in applied)
        _emit(target, {"applied": applied}, text or "nothing to apply: up to date")
        return 0

    _run(target, body)


@migrate.command()
@_target_options
@click.option("--out-of-order", is_flag=True, help="Include out-of-order pending files.")
@click.pass_context
def plan(ctx: click.Context, /, out_of_order: bool, **given: Any) -> None:
    """Dry run: the SQL each pending migration would run. Changes nothing.

    YAML declarations are compared with the live catalog; destructive and
    data-dependent changes are marked.
    """
    target = _target(ctx, given)

    def body() -> int:
        validate.declarations(files.discover(target.directory))  # before the database opens
        with _connect(target) as conn:
            steps = Migrator(conn, target.directory, Options(out_of_order=out_of_order)).plan()
        lines = []
        for step in steps:
            lines.append(f"-- {step.file.script}")
            lines += [f"-- {f.risk.value}: {f.summary}" for f in step.findings]
            lines += [s if s.startswith("--") else s + ";" for s in step.statements]
            lines.append("")
        _emit(target, {"pending": [s.as_json() for s in steps]},
              "\n".join(lines) or "nothing to apply: up to date")
        return 0

    _run(target, body)


@migrate.command("status")
@_target_options
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when migrations are pending, 2 when applied files changed or are "
              "missing, 0 when up to date.")
@click.pass_context
def status_command(ctx: click.Context, /, exit_code: bool, **given: Any) -> None:
    """Applied, pending, changed and missing migrations."""
    target = _target(ctx, given)

    def body() -> int:
        with _connect(target) as conn:
            _, items = Migrator(conn, target.directory, Options()).survey()
        rows = [
            f"{i.state.value:<15} {i.label:<40} "
            + (f"{i.entry.installed_by} {i.entry.installed_at}" if i.entry else "")
            for i in items
        ]
        states = {i.state for i in items}
        _emit(target, {"migrations": [i.as_json() for i in items]},
              "\n".join(r.rstrip() for r in rows) or "no migrations")
        if not exit_code:
            return 0
        if states & {status.State.CHANGED, status.State.MISSING}:
            return 2
        return 1 if states & {status.State.PENDING, status.State.OUT_OF_ORDER} else 0

    _run(target, body)


@migrate.command("validate")
@_target_options
@click.pass_context
def validate_command(ctx: click.Context, /, **given: Any) -> None:
    """Check applied files against their checksums, the catalog against the declared
    tables, and stored rows against declared primary keys, unique keys and checks.
    Exits 1 on any problem."""
    target = _target(ctx, given)

    def body() -> int:
        found = files.discover(target.directory)
        validate.declarations(found)
        with _connect(target) as conn:
            _, items = Migrator(conn, target.directory, Options()).survey()
            problems = validate.history(items) + validate.drift(conn, items)
            problems += validate.violations(conn)
            problems += validate.scheduled(conn, found)
        _emit(target, {"valid": not problems, "problems": [p.as_json() for p in problems]},
              "\n".join(f"{p.kind}: {p.message}" for p in problems) or "valid")
        return 1 if problems else 0

    _run(target, body)


@migrate.command()
@click.argument("name")
@click.option("--sql", "kind", flag_value="sql", default=True, help="A SQL migration (default).")
@click.option("--yaml", "kind", flag_value="yaml", help="A YAML table declaration.")
@click.option("--py", "kind", flag_value="py", help="A Python data migration.")
@click.option("--timestamp", is_flag=True, help="Version with a UTC timestamp.")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Migrations directory [default: ./migrations].")
@click.pass_context
def new(ctx: click.Context, /, name: str, kind: str, timestamp: bool,
        directory: Path | None) -> None:
    """Create the next migration file from a template: `new add_orders --yaml`."""
    parent = ctx.parent.params if ctx.parent is not None else {}
    where = directory or parent.get("directory") or _DEFAULTS["directory"]
    try:
        path = scaffold.create(where, name, kind, timestamp)
    except MigrationError as exc:
        _fail(exc, False)
    click.echo(str(path))


@migrate.command()
@_target_options
@click.option("--version", "version_text", required=True,
              help="Migrations up to this version count as applied.")
@click.option("--name", default="baseline", help="Description of the baseline.")
@click.pass_context
def baseline(ctx: click.Context, /, version_text: str, name: str, **given: Any) -> None:
    """Mark an existing database as being at VERSION: files up to it never run."""
    target = _target(ctx, given)

    def body() -> int:
        version = files.parse_version(version_text)
        progress = target.progress()
        with _connect(target, progress) as conn, _locked(conn, target, progress):
            Migrator(conn, target.directory, Options()).baseline(version, name)
        _emit(target, {"baseline": str(version)}, f"baseline at version {version}")
        return 0

    _run(target, body)


@migrate.command()
@_target_options
@click.option("--to", "to_text", required=True,
              help="Roll back every applied migration above this version (0: all).")
@click.option("--allow-destructive", is_flag=True, help="Allow rollbacks that drop data.")
@click.pass_context
def down(ctx: click.Context, /, to_text: str, allow_destructive: bool, **given: Any) -> None:
    """Roll back applied migrations above VERSION, newest first, each in a transaction.

    SQL files roll back with their `-- migrate:down` section, Python files with
    down(conn), YAML declarations with the reverse changes computed when they
    were applied. Refuses to drop data without --allow-destructive.
    """
    target = _target(ctx, given)

    def body() -> int:
        version = files.parse_version(to_text)
        progress = target.progress()
        with _connect(target, progress) as conn, _locked(conn, target, progress):
            outcome = Migrator(conn, target.directory, Options(allow_destructive),
                               progress).down(version)
        undone = [e.script for e in outcome.undone]
        _emit(target, {"rolled_back": undone},
              "\n".join(f"rolled back {s}" for s in undone) or "nothing to roll back")
        return 0

    _run(target, body)


@migrate.command("lint")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Migrations directory [default: ./migrations].")
@click.option("--since", "since_text", default=None,
              help="Only files with a version above this one (e.g. the deployed version).")
@click.option("--strict", is_flag=True, help="Fail on data-dependent changes too.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def lint_command(ctx: click.Context, /, directory: Path | None, since_text: str | None,
                 strict: bool, as_json: bool) -> None:
    """Flag destructive and data-dependent changes, from the files alone (no database).

    Exits 1 when a destructive change is found (with --strict, any finding).
    """
    parent = ctx.parent.params if ctx.parent is not None else {}
    where = directory or parent.get("directory") or _DEFAULTS["directory"]
    target = Target(where, None, None, None, 0, as_json)

    def body() -> int:
        since = files.parse_version(since_text) if since_text else None
        found = files.discover(where)
        model = Model()
        report = []
        for file in found:
            step = plan_step(None, file, model, simulate=True)
            if since is not None and (file.version is None or not since < file.version):
                continue
            report += [(file, f) for f in step.findings]
        failing = {Risk.DESTRUCTIVE, Risk.DATA} if strict else {Risk.DESTRUCTIVE}
        text = "\n".join(
            f"{file.script}{':' + str(f.line) if f.line else ''}: {f.risk.value}: {f.summary}"
            for file, f in report
        )
        _emit(target, {"findings": [{"script": file.script, **f.as_json()}
                                    for file, f in report]}, text or "no findings")
        return 1 if any(f.risk in failing for _, f in report) else 0

    _run(target, body)


@migrate.command()
@_target_options
@click.pass_context
def repair(ctx: click.Context, /, **given: Any) -> None:
    """Accept the current content of edited applied files and forget history rows
    whose file was deleted. Nothing else changes."""
    target = _target(ctx, given)

    def body() -> int:
        progress = target.progress()
        with _connect(target, progress) as conn, _locked(conn, target, progress):
            done = Migrator(conn, target.directory, Options()).repair()
        _emit(target, {"repaired": done}, "\n".join(done) or "nothing to repair")
        return 0

    _run(target, body)


__all__ = ["lint", "migrate"]
