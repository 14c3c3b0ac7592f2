"""docs/extensions.md runs as written: its Python block is the extension, its TOML block
the config, and each SQL example gives the result its comment says."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from server import start_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "extensions.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_extensions_page_examples_run(tmp_path: Path) -> None:
    (tmp_path / "extensions").mkdir()
    (tmp_path / "extensions" / "text_tools.py").write_text(blocks("python")[0])
    server = start_server(tmp_path / "data", config=blocks("toml")[0], cwd=tmp_path)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            examples = [line for line in blocks("sql")[0].splitlines() if line.strip()]
            for line in examples:
                sql, _, expected = line.partition("--")
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
                got = ", ".join(" | ".join(_text(v) for v in row) for row in rows)
                want = expected.replace("<your user>", "forge")
                assert got == want, (sql, got, want)
            listed = conn.execute(blocks("sql")[1]).fetchall()
            assert {row[0] for row in listed} >= {"initials", "clamp", "discounted"}
    finally:
        log = server.stop()
    assert "b must not be zero" in log  # the traceback went to the server log


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
