"""A YAML value that tries to be more than one SQL expression is refused by every migrate
command before anything runs; legitimate defaults and checks still apply."""

from __future__ import annotations

import subprocess

import pytest
from migrate_project import Project, offline

__all__ = ["offline"]

PAYLOAD = "1); DROP TABLE victim; --"


def _cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """``forge-sql migrate ARGS`` as a separate process, offline."""
    command = project.command(*args)
    if args[:1] == ("lint",):  # lint reads files only: no database options
        command = command[: command.index("--dir") + 2]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_payload_refused_by_every_command_and_nothing_runs(offline: Project) -> None:
    offline.write("V1__victim.sql", "CREATE TABLE victim (a INTEGER);\n"
                  "INSERT INTO victim VALUES (1);\n")
    offline.run()
    offline.write("V2__t.yaml", f"""
        table: t
        columns:
          - name: a
            type: int
            default: "{PAYLOAD}"
    """)
    expected = ('V2__t.yaml:5:16: columns[0].default: not an SQL expression: syntax error at '
                'or near ")"')
    for command in (("lint",), ("plan",), ("validate",), ("--allow-destructive",)):
        result = _cli(offline, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert expected in result.stderr, (command, result.stderr)
    assert offline.query("SELECT a FROM victim") == [(1,)]
    assert [row[0] for row in offline.history()] == ["1"]


@pytest.mark.parametrize(("yaml", "where", "reason"), [
    ("columns:\n  - {name: a, type: int, default: 1 /* x */; DROP TABLE victim}\n",
     "3:35: columns[0].default", "2 statements"),
    ("columns:\n  - {name: a, type: int, default: (SELECT count(*) FROM victim)}\n",
     "3:35: columns[0].default", "a subquery is not allowed in DEFAULT"),
    ("columns:\n  - {name: a, type: int, default: 1 -- x}\n", "3:35: columns[0].default",
     "a comment"),
    ("columns: [{name: a, type: int}]\nchecks:\n  - {name: c, expression: 'a > 0) OR (true'}\n",
     "4:33: checks[0].expression", "syntax error"),
    ("columns: [{name: a, type: int}]\nsorted_by: [a, 'a; DROP TABLE victim']\n",
     "3:16: sorted_by[1]", "2 statements"),
    ("columns: [{name: a, type: int}]\npartitioned_by: ['a), (SELECT 1']\n",
     "3:20: partitioned_by[0]", "syntax error"),
])
def test_variants_refused_with_file_line_column(offline: Project, yaml: str, where: str,
                                                reason: str) -> None:
    offline.write("V1__t.yaml", "table: t\n" + yaml)
    for command in ("plan", "migrate"):
        result = offline.run(*([command] if command == "plan" else []), code=1)
        assert f"V1__t.yaml:{where}" in result.stderr and reason in result.stderr, result.stderr
    assert not offline.data_dir.exists()  # refused before the database was opened


def test_legitimate_defaults_and_checks_apply(offline: Project) -> None:
    offline.write("V1__t.yaml", """
        table: t
        columns:
          - {name: id, type: int}
          - {name: created, type: timestamptz, default: now()}
          - {name: day, type: date, default: current_date}
          - {name: status, type: varchar, default: "'open'"}
          - {name: note, type: varchar, default: "'a; DROP TABLE t; --'"}
          - {name: n, type: int, default: 0}
          - {name: flag, type: boolean, default: 1 NOT NULL}
        checks:
          - {name: n_positive, expression: n >= 0}
        sorted_by: [id DESC]
    """)
    offline.run()
    offline.query("INSERT INTO t (id) VALUES (1)")
    rows = offline.query("SELECT created IS NOT NULL, day = current_date, status, note, n, flag "
                         "FROM t")
    assert rows == [(True, True, "open", "a; DROP TABLE t; --", 0, True)]
    assert "valid" in offline.run("validate").stdout
