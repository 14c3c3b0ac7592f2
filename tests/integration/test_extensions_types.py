"""The type mapping of forge_sql.ext, property-tested through a real server: an identity
function of every supported Python type returns what it was given, NULL included, in the
extended protocol (text and binary results)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server import RunningServer, start_server

FUNCTIONS = Path(__file__).parent / "extensions_fixture"

# (function, SQL type of the parameter, values)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
CASES: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "id_text": ("text", TEXT),
    "id_bigint": ("bigint", st.integers(-(2**63), 2**63 - 1)),
    "id_double": ("double precision",
                  st.floats(allow_nan=False, allow_infinity=False, width=64)),
    "id_bool": ("boolean", st.booleans()),
    "id_bytes": ("bytea", st.binary(max_size=40)),
    "id_decimal": ("numeric(38,10)", st.decimals(
        min_value=Decimal("-1e27"), max_value=Decimal("1e27"), places=10,
        allow_nan=False, allow_infinity=False)),
    "id_date": ("date", st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31))),
    "id_timestamp": ("timestamp", st.datetimes(datetime.datetime(1, 1, 1),
                                               datetime.datetime(9999, 12, 31))),
    "id_time": ("time", st.times()),
    "id_interval": ("interval", st.timedeltas(datetime.timedelta(days=-10**6),
                                              datetime.timedelta(days=10**6))),
    "id_uuid": ("uuid", st.uuids()),
    "id_bigints": ("bigint[]", st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8)),
    "id_texts": ("text[]", st.lists(TEXT, max_size=8)),
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("types") / "data",
                           config=f"extensions = [{str(FUNCTIONS)!r}]\n")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def conn(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(), autocommit=True) as connection:
        yield connection


def _same(name: str, sent: Any, got: Any) -> bool:
    if name == "id_decimal" and sent is not None:
        return Decimal(got) == sent
    return bool(got == sent)


@pytest.mark.parametrize("name", sorted(CASES))
def test_identity_round_trips(conn: psycopg.Connection, name: str) -> None:
    sql_type, values = CASES[name]

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.none() | values, st.booleans())
    def round_trip(value: Any, binary: bool) -> None:
        row = conn.execute(f"SELECT {name}(%s::{sql_type})", (value,),
                           prepare=True, binary=binary).fetchone()
        assert row is not None
        assert _same(name, value, row[0]), (value, row[0])

    round_trip()


def test_uuid_and_json_in_simple_protocol(conn: psycopg.Connection) -> None:
    value = uuid.uuid4()
    assert conn.execute(f"SELECT id_uuid('{value}')").fetchone() == (value,)
