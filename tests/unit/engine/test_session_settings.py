"""SET / SHOW / RESET parsing and session setting values."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import session_settings as settings
from forge_sql.sql import configuration


@pytest.mark.parametrize(
    ("sql", "verb", "name", "value"),
    [
        ("SET extra_float_digits = 3", "SET", "extra_float_digits", "3"),
        ("set application_name to 'PostgreSQL JDBC Driver'", "SET", "application_name",
         "PostgreSQL JDBC Driver"),
        ("SET TIME ZONE 'Europe/Paris'", "SET", "timezone", "Europe/Paris"),
        ("SET SESSION TimeZone = 'UTC';", "SET", "TimeZone", "UTC"),
        ("SET search_path TO public, \"My Schema\"", "SET", "search_path",
         "public, \"My Schema\""),  # shown quoted, as PostgreSQL shows it
        ("SET search_path TO DEFAULT", "RESET", "search_path", ""),
        ("SET search_path = 'a,b', \"X\", Y", "SET", "search_path", '"a,b", "X", y'),
        ("SHOW TRANSACTION ISOLATION LEVEL", "SHOW", "TRANSACTION ISOLATION LEVEL", ""),
        ("show DateStyle", "SHOW", "DateStyle", ""),
        ("RESET ALL", "RESET", "ALL", ""),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
         "SET_CHARACTERISTICS", "transaction", "ISOLATION LEVEL READ COMMITTED"),
    ],
)
def test_parse(sql: str, verb: str, name: str, value: str) -> None:
    command = configuration.parse(sql)
    assert command is not None
    assert (command.verb, command.name, command.value) == (verb, name, value)


def test_show_of_a_table_name_is_left_to_duckdb() -> None:
    assert configuration.parse("SHOW TABLES") is None
    assert configuration.parse("SHOW my_table") is None


def test_values_and_reported_changes() -> None:
    session = settings.SessionSettings({"application_name": "psql", "TimeZone": "Asia/Tokyo"})
    assert session.get("application_name") == "psql"
    assert session.timezone == "Asia/Tokyo"
    # Startup values are reported in the ParameterStatus sent on connect.
    assert session.changed == {"application_name": "psql", "TimeZone": "Asia/Tokyo"}
    session.changed.clear()
    session.set("TimeZone", "America/New_York")
    session.set("extra_float_digits", "3")
    assert session.changed == {"TimeZone": "America/New_York"}
    session.reset("all")
    assert session.timezone == "UTC"
    assert session.get("transaction isolation level") == "repeatable read"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("no_such_setting", "1", errors.UndefinedObject),
        ("TimeZone", "Mars/Olympus", errors.InvalidParameterValue),
        ("client_encoding", "LATIN1", errors.FeatureNotSupported),
        ("DateStyle", "German", errors.InvalidParameterValue),
        ("server_version", "9.0", errors.CantChangeRuntimeParam),
    ],
)
def test_refused(name: str, value: str, error: type[errors.ForgeError]) -> None:
    with pytest.raises(error):
        settings.SessionSettings().set(name, value)


def test_table_access_method_as_pg_dump_sets_it() -> None:
    session = settings.SessionSettings()
    assert session.get("default_table_access_method") == "heap"
    session.set("default_table_access_method", "heap")  # every pg_dump script does this
    assert session.get("default_tablespace") == ""


def test_transaction_block_scoping() -> None:
    values = settings.SessionSettings()
    values.set("application_name", "before")
    values.begin("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY")
    assert values.get("transaction_isolation") == "serializable"
    assert values.read_only
    values.set("application_name", "inside")
    values.set("statement_timeout", "5s", local=True)
    point = values.snapshot()
    values.set("extra_float_digits", "3")
    values.restore(point)
    assert values.get("extra_float_digits") == "1"
    values.end(committed=True)
    assert values.get("application_name") == "inside"  # plain SET stays
    assert values.get("statement_timeout") == "0"  # SET LOCAL does not
    assert values.get("transaction_isolation") == "repeatable read"
    assert not values.read_only
    values.begin()
    values.set("application_name", "lost")
    values.end(committed=False)
    assert values.get("application_name") == "inside"


def test_transaction_modes_outside_a_block() -> None:
    values = settings.SessionSettings()
    values.set("statement_timeout", "1s", local=True)  # no effect outside a block
    assert values.get("statement_timeout") == "0"
    values.set_characteristics("ISOLATION LEVEL READ COMMITTED, READ ONLY")
    assert values.get("transaction_isolation") == "read committed"
    assert values.read_only
    values.set("default_transaction_read_only", "false")
    assert not values.read_only
    with pytest.raises(errors.InvalidParameterValue):
        values.set("default_transaction_isolation", "chaotic")
    with pytest.raises(errors.InvalidParameterValue):
        values.set("default_transaction_read_only", "maybe")


def test_custom_dotted_settings() -> None:
    values = settings.SessionSettings()
    with pytest.raises(errors.UndefinedObject):
        values.get("myapp.tenant")
    with pytest.raises(errors.UndefinedObject):
        values.set("tenant", "5")  # without a dot: not a custom setting
    values.set("myapp.tenant", "'5'")
    assert values.get("MyApp.Tenant") == "5"
    values.begin()
    values.set("myapp.tenant", "6", local=True)
    values.end(committed=True)
    assert values.get("myapp.tenant") == "5"
    values.reset("myapp.tenant")
    assert values.get("myapp.tenant") == ""
    assert values.changed == {}  # never reported as ParameterStatus


def test_idle_timeouts_default_to_the_server_configuration() -> None:
    defaults = {"idle_session_timeout": "60000", "idle_in_transaction_session_timeout": "0"}
    values = settings.SessionSettings({}, defaults)
    assert values.get("idle_session_timeout") == "60000"
    values.set("idle_session_timeout", "'5min'")
    assert settings.duration_ms(values.get("idle_session_timeout")) == 300_000
    values.reset("idle_session_timeout")
    assert values.get("idle_session_timeout") == "60000"  # the server's, not PostgreSQL's 0
    assert settings.SessionSettings().get("idle_session_timeout") == "0"
    with pytest.raises(errors.InvalidParameterValue):
        values.set("idle_in_transaction_session_timeout", "forever")
