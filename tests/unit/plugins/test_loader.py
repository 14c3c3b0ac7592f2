"""Loading extension directories: specs recorded by the decorators land in the registry;
every broken file is reported as file:line with the reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from forge_sql.plugins.loader import ExtensionLoadError, directories, load


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def test_functions_of_every_file_are_registered(tmp_path: Path) -> None:
    write(tmp_path, "text.py", """
        from forge_sql.ext import scalar, table

        @scalar
        def shout(s: str) -> str:
            "Upper case, with an exclamation mark."
            return s.upper() + "!"

        @scalar(name="shout")
        def shout_n(s: str, n: int = 1) -> str:
            return s.upper() + "!" * n

        @table(columns={"n": "BIGINT"})
        def numbers(count: int):
            yield from ({"n": i} for i in range(count))
    """)
    write(tmp_path, "_private.py", "raise RuntimeError('never imported')\n")
    write(tmp_path, "test_text.py", "raise RuntimeError('never imported')\n")
    registry = load([tmp_path], entry_points=False)
    assert [e.name for e in registry.extensions] == ["text"]
    overloads = registry.scalar("public", "shout")
    assert [f.spec.signature for f in overloads] == [
        "shout(s VARCHAR)", "shout(s VARCHAR, n BIGINT DEFAULT 1)"
    ]
    assert len({f.registered_name for f in overloads}) == 2
    assert overloads[0].spec.doc == "Upper case, with an exclamation mark."
    assert overloads[0].spec.source.line == 4
    (numbers,) = registry.table("public", "numbers")
    assert [(c.name, c.type) for c in numbers.spec.columns] == [("n", "BIGINT")]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("x = (\n", 1, "syntax error"),
        ("import no_such_module_here\n", 1, "ModuleNotFoundError"),
        ("from forge_sql.ext import scalar\n\n@scalar\ndef f(x):\n    return x\n", 3,
         "parameter x has no type"),
        ("from forge_sql.ext import scalar\n\n@scalar\ndef f(x: int):\n    return x\n", 3,
         "no return type"),
        ("from forge_sql.ext import scalar\n\n@scalar\ndef f(x: object) -> int:\n    return 1\n",
         3, "has no SQL type"),
        ("from forge_sql.ext import scalar\n\n@scalar\ndef f(x: int) -> int:\n    return 1\n\n"
         "@scalar(name='f')\ndef g(y: int) -> int:\n    return 2\n", 7, "already declared at"),
        ("from forge_sql.ext import table\n\n@table\ndef f(x: int):\n    return []\n", 3,
         "exactly one of columns"),
    ],
)
def test_a_broken_file_is_reported_with_file_and_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path, "broken.py", text)
    with pytest.raises(ExtensionLoadError) as caught:
        load([tmp_path], entry_points=False)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:{line}:"), problem
    assert reason in problem


def test_default_directory_is_used_only_when_present(tmp_path: Path) -> None:
    assert directories([], tmp_path) == []
    (tmp_path / "extensions").mkdir()
    assert directories([], tmp_path) == [tmp_path / "extensions"]
    assert directories([Path("/x")], tmp_path) == [Path("/x")]


def test_entry_points_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from forge_sql.plugins import loader

    write(tmp_path, "installed_ext.py", """
        from forge_sql.ext import scalar

        @scalar
        def from_package(x: int) -> int:
            return x
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = importlib.metadata.EntryPoint(
        name="installed", value="installed_ext", group=loader.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(loader, "_entry_points", lambda: [point])
    registry = load([], cwd=tmp_path / "nowhere")
    assert [e.name for e in registry.extensions] == ["installed"]
    (function,) = registry.scalar("public", "from_package")
    assert function.extension == "installed"
    # Loaded again (a reload): the module runs again and its functions are found again.
    again = load([], cwd=tmp_path / "nowhere")
    assert again.scalar("public", "from_package")
