"""docs/sources.md runs as written against a JSON API on loopback: its Python block is
the source, its TOML block the config (the API's address and token put in), its YAML block
the migration, and each SQL example gives the result its comment says."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from click.testing import CliRunner
from http_api import TOKEN, running_api
from server import start_server

from forge_sql.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_sources_page_examples_run(tmp_path: Path) -> None:
    with running_api() as api:
        api.set_items(25)
        api.token_required = True
        (tmp_path / "extensions").mkdir()
        (tmp_path / "extensions" / "shop.py").write_text(blocks("python")[0])
        (tmp_path / "migrations").mkdir()
        (tmp_path / "migrations" / "V1__shop.yaml").write_text(blocks("yaml")[0])
        config = blocks("toml")[0].replace('"replace me"', f'"{TOKEN}"').replace(
            '"https://shop.example.com/api"', f'"{api.base}"')
        server = start_server(tmp_path / "data", config=config, cwd=tmp_path)
        try:
            applied = CliRunner().invoke(main, ["migrate", "--dir", str(tmp_path / "migrations"),
                                                "--url", server.url()])
            assert applied.exit_code == 0, applied.output
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                for line in [s for s in blocks("sql")[1].splitlines() if s.strip()]:
                    sql, _, expected = line.partition("  -- ")
                    expected = expected.strip()
                    if expected.startswith("ERROR"):
                        code = expected.split()[1].rstrip(":")
                        try:
                            conn.execute(sql)
                        except psycopg.Error as exc:
                            assert exc.sqlstate == code, (sql, exc)
                            assert expected.split(": ", 1)[1] in str(exc)
                        else:
                            raise AssertionError(f"{sql} did not fail")
                        continue
                    rows = conn.execute(sql).fetchall()
                    if expected:
                        got = ", ".join(" | ".join(str(v) for v in row) for row in rows)
                        assert got == expected, (sql, got, expected)
        finally:
            server.stop()
