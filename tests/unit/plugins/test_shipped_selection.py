"""Which shipped extensions load: the shipped_extensions setting (all by default, the
example only when named), and the one-line skip of a shipped extension whose optional
module is missing (a project's own extension still stops the start with file:line)."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from forge_sql.cli import main
from forge_sql.config import load as load_settings
from forge_sql.plugins.loader import ExtensionLoadError, load

MISSING = "forge_sql_test_not_installed"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    directory = tmp_path / "shipped"
    write(directory, "good.py", """
        from forge_sql.ext import scalar

        @scalar
        def good_one(x: int) -> int:
            return x + 1
    """)
    write(directory, "imports_missing.py", f"""
        import {MISSING}
        from forge_sql.ext import scalar

        @scalar
        def never_registered(x: int) -> int:
            return x
    """)
    write(directory, "declares_missing/__init__.py", f"""
        from forge_sql.ext import requires, scalar

        requires("json", "{MISSING}_too.sub")

        @scalar(schema="declared")
        def also_never(x: int) -> int:
            return x
    """)
    write(directory, "example.py", """
        from forge_sql.ext import scalar

        @scalar
        def example_fn(x: int) -> int:
            return x
    """)
    return directory


def names(registry: object) -> list[str]:
    return [e.name for e in registry.extensions]  # type: ignore[attr-defined]


def test_all_loads_every_shipped_extension_that_imports_and_skips_the_rest_in_one_line(
    shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="forge_sql.plugins"):
        registry = load([], shipped=None, entry_points=False, cwd=tmp_path,
                         shipped_directory=shipped)
    assert names(registry) == ["good"]  # the example is off unless named
    assert registry.scalar("public", "good_one")
    assert not registry.scalar("public", "never_registered")
    assert not registry.scalar("declared", "also_never")
    assert registry.skipped == {"imports_missing": MISSING,
                                "declares_missing": f"{MISSING}_too"}
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 2
    assert any("imports_missing" in line and repr(MISSING) in line for line in lines)
    assert any("declares_missing" in line and repr(f"{MISSING}_too") in line
               for line in lines)


def test_a_named_shipped_extension_must_load(shipped: Path, tmp_path: Path) -> None:
    registry = load([], shipped=["good", "example"], entry_points=False, cwd=tmp_path,
                    shipped_directory=shipped)
    assert names(registry) == ["good", "example"]
    with pytest.raises(ExtensionLoadError) as caught:
        load([], shipped=["imports_missing"], entry_points=False, cwd=tmp_path,
             shipped_directory=shipped)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{shipped / 'imports_missing.py'}:2: ModuleNotFoundError")
    assert MISSING in problem


def test_an_unknown_name_is_refused_with_the_shipped_names(shipped: Path,
                                                          tmp_path: Path) -> None:
    with pytest.raises(ExtensionLoadError, match="no shipped extension 'nope'") as caught:
        load([], shipped=["nope"], entry_points=False, cwd=tmp_path,
             shipped_directory=shipped)
    assert "good" in str(caught.value) and "example" in str(caught.value)


def test_none_loads_no_shipped_extension(shipped: Path, tmp_path: Path) -> None:
    registry = load([], shipped=[], entry_points=False, cwd=tmp_path,
                    shipped_directory=shipped)
    assert len(registry) == 0 and registry.skipped == {}


def test_a_projects_copy_of_a_shipped_extension_takes_its_place(
    shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own = tmp_path / "own"
    write(own, "good.py", """
        from forge_sql.ext import scalar

        @scalar
        def good_one(x: int) -> int:
            return x + 2
    """)
    with caplog.at_level(logging.INFO, logger="forge_sql.plugins"):
        registry = load([own], shipped=None, entry_points=False,
                        shipped_directory=shipped)
    assert [e.origin for e in registry.extensions] == [str(own / "good.py")]
    assert any("replaces" in r.getMessage() for r in caplog.records)
    with pytest.raises(ExtensionLoadError, match="already loaded"):  # named: a clash
        load([own], shipped=["good"], entry_points=False, shipped_directory=shipped)


def test_a_projects_own_extension_missing_a_module_still_stops(shipped: Path,
                                                               tmp_path: Path) -> None:
    own = tmp_path / "own"
    path = write(own, "mine.py", f"""
        from forge_sql.ext import requires

        requires("{MISSING}")
    """)
    with pytest.raises(ExtensionLoadError) as caught:
        load([own], shipped=None, entry_points=False, shipped_directory=shipped)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:4: ModuleNotFoundError") and MISSING in problem


def test_the_shipped_folder_as_the_project_folder_loads_once_with_the_example(
    shipped: Path,
) -> None:
    # The source tree used as a project: ./extensions is the shipped folder.
    registry = load([shipped], shipped=None, entry_points=False, shipped_directory=shipped)
    assert sorted(names(registry)) == ["example", "good"]
    assert set(registry.skipped) == {"imports_missing", "declares_missing"}


@pytest.mark.parametrize(("value", "expected"), [
    ("all", None), ("ALL", None), ("none", []), ("", []),
    ("ml, http_json", ["ml", "http_json"]), (["good"], ["good"]), ([], []),
])
def test_the_setting(value: object, expected: object, monkeypatch: pytest.MonkeyPatch,
                     tmp_path: Path) -> None:
    monkeypatch.delenv("FORGE_SQL_SHIPPED_EXTENSIONS", raising=False)
    assert load_settings(shipped_extensions=value).shipped_extensions == expected
    config = tmp_path / "forge.toml"
    config.write_text(f"shipped_extensions = {value!r}\n".replace("'", '"'))
    assert load_settings(config).shipped_extensions == expected
    if isinstance(value, str):
        monkeypatch.setenv("FORGE_SQL_SHIPPED_EXTENSIONS", value)
        assert load_settings().shipped_extensions == expected


def test_the_default_is_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORGE_SQL_SHIPPED_EXTENSIONS", raising=False)
    assert load_settings().shipped_extensions is None


def test_serve_help_documents_the_setting() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert "--shipped-extensions" in result.output
    assert "[default: all]" in " ".join(result.output.split())
