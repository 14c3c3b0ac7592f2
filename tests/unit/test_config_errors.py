"""A bad config file or setting is one clear line: where it came from, which setting, what
is wrong and what is accepted; never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forge_sql.config import load
from forge_sql.errors import ConfigError
from forge_sql.wire.auth import make_verifier


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FORGE_SQL_"):
            monkeypatch.delenv(name)


def _error(config: Path, data: bytes) -> str:
    config.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load(config)
    return str(caught.value)


def test_garbage_bytes(tmp_path: Path) -> None:
    config = tmp_path / "forge.toml"
    assert _error(config, b'port = 5433\nname = "\xff\xfe"\n') == (
        f"{config}:2:9: not valid UTF-8 (byte 0xff): the config file is TOML, which is "
        "UTF-8 text")


def test_garbage_toml(tmp_path: Path) -> None:
    config = tmp_path / "forge.toml"
    assert _error(config, b"garbage = [\nport = \n") == (
        f"{config}: not valid TOML: Invalid value (at line 2, column 1)")
    assert "not valid TOML" in _error(config, b"a = " + b"[" * 5000 + b"]" * 5000)


@pytest.mark.parametrize(("verifier", "reason"), [
    ("SCRAM-SHA-256$garbage", "not a SCRAM-SHA-256 verifier"),
    ("SCRAM-SHA-256$4096:c2FsdA==$YWJj:ZGVm", "StoredKey is 3 bytes, not 32"),
    ("SCRAM-SHA-256$4096:c2FsdA==$!!!!:ZGVm", "invalid base64"),
    ("SCRAM-SHA-256$0:" + make_verifier("pw").split(":", 1)[1], "iteration count"),
])
def test_bad_scram_verifier_names_the_user(tmp_path: Path, verifier: str, reason: str) -> None:
    config = tmp_path / "forge.toml"
    message = _error(config, f'[users.bob]\npassword = "{verifier}"\n'.encode())
    assert message.startswith(f"invalid setting users.bob.password ({config}): "), message
    assert reason in message and "forge-sql hash-password" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["lots", "10", "GB", "0GB", "150%", "-1GB", "1 GB extra"])
def test_bad_memory_limit(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(memory_limit=value)
    assert str(caught.value).startswith(
        f"invalid setting memory_limit (--memory-limit): {value!r} is not a memory size: "
        "write a number and a unit (512MB, 4GB, 1.5GiB")


@pytest.mark.parametrize("value", ["512MB", "4GB", "1.5GiB", "75%", "100 %", "1G", "2048 KiB"])
def test_memory_limit_forms_duckdb_accepts(value: str) -> None:
    import duckdb

    from forge_sql.engine.database import memory_limit

    settings = load(memory_limit=value)
    duckdb.connect(config={"memory_limit": memory_limit(settings.memory_limit)}).close()


def test_bad_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORGE_SQL_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        "invalid setting log_level (environment FORGE_SQL_LOG_LEVEL): 'LOUD' is not a log "
        "level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    monkeypatch.setenv("FORGE_SQL_LOG_LEVEL", "debug")
    assert load().log_level == "DEBUG"
