"""Settings: flags over environment over config file over defaults, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from forge_sql.cli import main
from forge_sql.config import DEFAULT_PORT, load
from forge_sql.errors import ConfigError
from forge_sql.wire.auth import make_verifier


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("FORGE_SQL_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = load()
    assert settings.host == "127.0.0.1"
    assert settings.port == DEFAULT_PORT
    assert settings.data_dir == Path("forge-data")
    assert settings.database == "forge"
    assert settings.users == {}


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "forge.toml"
    config.write_text('port = 7000\ndatabase = "analytics"\nmax_connections = 5\n')
    monkeypatch.setenv("FORGE_SQL_PORT", "7001")
    monkeypatch.setenv("FORGE_SQL_DATABASE", "fromenv")
    settings = load(config, port=7002, database=None)
    assert settings.port == 7002  # flag beats environment
    assert settings.database == "fromenv"  # environment beats file
    assert settings.max_connections == 5  # file beats default


def test_users_need_verifiers(tmp_path: Path) -> None:
    config = tmp_path / "forge.toml"
    config.write_text('[users.alice]\npassword = "secret"\n')
    with pytest.raises(ConfigError, match="SCRAM-SHA-256 verifier"):
        load(config)
    config.write_text(f'host = "0.0.0.0"\n[users.alice]\npassword = "{make_verifier("pw")}"\n')
    assert "alice" in load(config).users


def test_no_users_off_loopback_is_refused() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        load(host="0.0.0.0")
    assert load(host="::1").loopback_only


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 70000\n", "port"),
        ("no_such_key = 1\n", "no_such_key"),
        ("port = \n", "forge.toml"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "forge.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(config)


def test_serve_help_lists_settings() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--data-dir", "--database", "--config"):
        assert flag in result.output
    assert "0 picks a free port" in " ".join(result.output.split())


def test_hash_password_prints_a_verifier() -> None:
    result = CliRunner().invoke(main, ["hash-password", "--password", "pw"])
    assert result.exit_code == 0
    assert result.output.startswith("SCRAM-SHA-256$4096:")


def test_serve_reports_bad_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "loopback" in result.output


def test_memory_and_connection_limits(tmp_path: Path) -> None:
    settings = load()
    assert settings.batch_bytes == 8 << 20
    assert settings.superuser_reserved_connections == 3  # PostgreSQL's default
    assert settings.authentication_timeout == 60.0
    assert (settings.idle_session_timeout, settings.idle_in_transaction_session_timeout) == (0, 0)
    config = tmp_path / "forge.toml"
    config.write_text("batch_bytes = 1048576\nidle_session_timeout = 60000\n")
    loaded = load(config)
    assert (loaded.batch_bytes, loaded.idle_session_timeout) == (1 << 20, 60000)
    with pytest.raises(ConfigError, match="batch_bytes"):
        load(batch_bytes=100)


def test_serve_help_documents_batch_bytes() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--batch-bytes" in text and "Largest Arrow batch of result rows" in text
