"""``forge-sql extensions list | check | new NAME``: what the server would load, without
starting it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from forge_sql.config import load as load_settings
from forge_sql.errors import ConfigError
from forge_sql.ext import MISSING, ScalarSpec, TableSpec
from forge_sql.plugins import loader
from forge_sql.plugins.registry import Function, Registry

_CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="FORGE_SQL_CONFIG",
    help="TOML config file (env FORGE_SQL_CONFIG); its `extensions` setting is used.",
)
_DIRECTORIES = click.option(
    "--extensions",
    "directories",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extensions directory (repeatable); default: the setting, else ./extensions.",
)


@click.group()
def extensions() -> None:
    """Python functions usable from SQL (docs/extensions.md)."""


def _registry(config_file: Path | None, directories: tuple[Path, ...]) -> Registry:
    try:
        settings = load_settings(config_file, extensions=list(directories) or None)
        return loader.load(settings.extensions, shipped=settings.shipped_extensions)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def describe(function: Function) -> dict[str, Any]:
    """One function as `extensions list --json` prints it."""
    spec = function.spec
    entry: dict[str, Any] = {
        "schema": spec.schema,
        "name": spec.name,
        "kind": spec.kind,
        "signature": spec.signature,
        "arguments": [
            {"name": a.name, "type": a.type,
             **({"default": repr(a.default)} if a.default is not MISSING else {})}
            for a in spec.arguments
        ],
        "volatility": spec.volatility,
        "superuser_only": spec.superuser_only,
        "extension": function.extension,
        "source": str(spec.source),
        "doc": spec.doc,
    }
    if isinstance(spec, ScalarSpec):
        entry.update(returns=spec.returns, vectorized=spec.vectorized,
                     null_handling=spec.null_handling)
    elif isinstance(spec, TableSpec):
        entry["columns"] = [{"name": c.name, "type": c.type} for c in spec.columns]
    return entry


@extensions.command("list")
@_CONFIG
@_DIRECTORIES
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per function).")
def list_(config_file: Path | None, directories: tuple[Path, ...], as_json: bool) -> None:
    """List the functions the server would load."""
    registry = _registry(config_file, directories)
    functions = [describe(f) for f in registry.functions()]
    if as_json:
        click.echo(json.dumps(functions, indent=2))
        return
    for f in functions:
        result = f.get("returns") or "TABLE(" + ", ".join(
            f"{c['name']} {c['type']}" for c in f.get("columns", [])) + ")"
        flags = [word for word, on in (("vectorized", f.get("vectorized")),
                                       ("superuser only", f["superuser_only"])) if on]
        extra = f" [{', '.join(flags)}]" if flags else ""
        click.echo(f"{f['schema']}.{f['signature']} -> {result}{extra}  ({f['source']})")
    click.echo(f"{len(functions)} functions in {len(registry.extensions)} extensions")
    _say_skipped(registry)


def _say_skipped(registry: Registry) -> None:
    for name, module in registry.skipped.items():
        click.echo(f"skipped shipped extension {name}: module {module!r} is not installed")


@extensions.command()
@_CONFIG
@_DIRECTORIES
def check(config_file: Path | None, directories: tuple[Path, ...]) -> None:
    """Import every extension as the server would and report problems as file:line;
    exit status 1 when there is one."""
    registry = _registry(config_file, directories)
    click.echo(f"ok: {len(registry)} functions in {len(registry.extensions)} extensions")
    _say_skipped(registry)


_TEMPLATE = '''"""{name}: functions usable from SQL (docs/extensions.md).

    SELECT {name}_greet('world');
    SELECT * FROM {name}_numbers(3);
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.ext import scalar, table


@scalar
def {name}_greet(who: str, greeting: str = "hello") -> str:
    """A greeting for who."""
    return f"{{greeting}}, {{who}}"


@table(columns={{"n": "BIGINT", "square": "BIGINT"}})
def {name}_numbers(count: int) -> Iterator[dict[str, int]]:
    """The numbers 1 to count and their squares."""
    for n in range(1, count + 1):
        yield {{"n": n, "square": n * n}}
'''

_TEST_TEMPLATE = '''"""Tests of {name}: plain Python functions, callable without a server."""

from {name} import {name}_greet, {name}_numbers


def test_greet() -> None:
    assert {name}_greet("world") == "hello, world"
    assert {name}_greet("world", greeting="hi") == "hi, world"


def test_numbers() -> None:
    assert list({name}_numbers(2)) == [{{"n": 1, "square": 1}}, {{"n": 2, "square": 4}}]
'''


@extensions.command()
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("extensions"),
    show_default=True,
    help="Where to write the extension and its test.",
)
def new(name: str, directory: Path) -> None:
    """Write NAME.py (a scalar and a table function) and test_NAME.py to start from."""
    if not name.isidentifier() or name != name.lower():
        raise click.ClickException(f"{name!r}: use a lower-case Python identifier")
    directory.mkdir(parents=True, exist_ok=True)
    source, test = directory / f"{name}.py", directory / f"test_{name}.py"
    for path in (source, test):
        if path.exists():
            raise click.ClickException(f"{path} exists: not overwritten")
    source.write_text(_TEMPLATE.format(name=name))
    test.write_text(_TEST_TEMPLATE.format(name=name))
    click.echo(f"wrote {source} and {test}; run `forge-sql extensions check` to try it")
    sys.stdout.flush()
