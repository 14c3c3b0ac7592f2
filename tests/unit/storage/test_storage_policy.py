"""Durations and the [maintenance] policy as the config file writes them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from forge_sql.config import load
from forge_sql.errors import ConfigError
from forge_sql.storage.policy import MaintenancePolicy, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("30 seconds", 30),
        ("10 min", 600),
        ("10 minutes", 600),
        ("1h", 3600),
        ("2 hours", 7200),
        ("7 days", 7 * 86400),
        ("1 week", 7 * 86400),
        ("0s", 0),
        ("90", 90),
        (45, 45),
        (1.5, 1.5),
    ],
)
def test_durations(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "3 fortnights", "-1 day", "1 day 2 hours"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_default_policy() -> None:
    policy = MaintenancePolicy()
    assert policy.expire_older_than == timedelta(days=7)
    assert policy.delete_older_than == timedelta(hours=1)
    assert policy.interval == timedelta(minutes=10)
    assert policy.at_startup is True


def test_policy_from_config_file(tmp_path: Path) -> None:
    config = tmp_path / "forge.toml"
    config.write_text('[maintenance]\nexpire_older_than = "2 days"\ninterval = 0\n')
    settings = load(config)
    assert settings.maintenance.expire_older_than == timedelta(days=2)
    assert settings.maintenance.interval == timedelta(0)
    assert settings.maintenance.delete_older_than == timedelta(hours=1)
    config.write_text('[maintenance]\nexpire_older_than = "someday"\n')
    with pytest.raises(ConfigError, match=r"maintenance\.expire_older_than"):
        load(config)
    config.write_text('[maintenance]\nexpire_after = "1 day"\n')
    with pytest.raises(ConfigError, match="expire_after"):
        load(config)

