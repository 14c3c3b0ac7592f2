"""forge.semantics as a session setting: PostgreSQL's by default, the server's configured
default for RESET, validated, and undone by ROLLBACK like PostgreSQL's own settings."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.config import Settings
from forge_sql.engine import rules
from forge_sql.engine.session_settings import SessionSettings, server_defaults
from forge_sql.sql import semantics


def test_postgres_by_default() -> None:
    settings = SessionSettings()
    assert settings.get("forge.semantics") == "postgres"
    assert ("forge.semantics", "postgres") in {(n, v) for n, v, _ in settings.all_rows()}


def test_server_default_is_what_reset_restores() -> None:
    config = Settings(semantics="duckdb")
    settings = SessionSettings(defaults=server_defaults(config))
    assert settings.get("forge.semantics") == "duckdb"
    settings.set("forge.semantics", "'POSTGRES'")
    assert settings.get("forge.semantics") == "postgres"
    settings.reset("forge.semantics")
    assert settings.get("forge.semantics") == "duckdb"


def test_rollback_undoes_it() -> None:
    settings = SessionSettings()
    settings.begin()
    settings.set("forge.semantics", "duckdb")
    assert settings.get("forge.semantics") == "duckdb"
    settings.end(committed=False)
    assert settings.get("forge.semantics") == "postgres"


def test_unknown_value_refused() -> None:
    with pytest.raises(errors.InvalidParameterValue, match=r"forge\.semantics"):
        SessionSettings().set("forge.semantics", "oracle")


def test_rules_follow_the_setting() -> None:
    assert all(rule in rules.for_semantics("postgres") for rule in semantics.RULES)
    assert not any(rule in rules.for_semantics("duckdb") for rule in semantics.RULES)
