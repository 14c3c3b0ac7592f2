"""node-postgres (``pg`` from npm, the version of tests/clients/node/package-lock.json): the
script tests/clients/node/client.js runs once; each test asserts on one of its checks, with
the JavaScript type pg gave each value (it parses text results by the column's type OID)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from clients.programs import CLIENTS, require_file, require_program, result, run_checks
from server import RunningServer

NODE = CLIENTS / "node"
Checks = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"n_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def checks(server: RunningServer, prefix: str) -> Checks:
    node = require_program("node", "nodejs")
    require_file(NODE / "node_modules" / "pg" / "package.json",
                 "node-postgres (npm ci --prefix tests/clients/node)")
    # pg turns timestamp (without time zone) and date into Dates in the process's zone.
    return run_checks([node, "client.js", server.host, str(server.port), prefix], cwd=NODE,
                      env={"TZ": "UTC"})


def js(type_name: str, value: Any = None) -> dict[str, Any]:
    """A value as client.js describes it: JavaScript type and JSON form."""
    return {"type": type_name} if type_name == "null" else {"type": type_name, "value": value}


def js_array(type_name: str, *values: Any) -> dict[str, Any]:
    return js("Array", [js("null") if v is None else js(type_name, v) for v in values])


def test_installed_version_is_the_locked_one(checks: Checks) -> None:
    lock = json.loads((NODE / "package-lock.json").read_text())
    installed = json.loads((NODE / "node_modules" / "pg" / "package.json").read_text())
    assert installed["version"] == lock["packages"]["node_modules/pg"]["version"]


def test_results_parsed_by_type_oid(checks: Checks) -> None:
    found = result(checks, "types")
    assert found["fields"] == [
        ["int8", 20], ["int4", 23], ["int2", 21], ["float8", 701], ["float4", 700],
        ["num", 1700], ["bool", 16], ["txt", 1043], ["ts", 1114], ["tstz", 1184],
        ["day", 1082], ["js", 114], ["jsb", 114], ["ints", 1007], ["words", 1009],
        ["bigs", 1016], ["id", 2950], ["nothing", 23]]
    assert found["row"] == {
        # int8 and numeric stay strings (they do not fit a JavaScript number).
        "int8": js("string", "9007199254740993"),
        "int4": js("number", 2147483647),
        "int2": js("number", -32768),
        "float8": js("number", 1.5),
        "float4": js("number", 0.25),
        "num": js("string", "12345678901234.56789"),
        "bool": js("boolean", True),
        "txt": js("string", "héllo"),
        "ts": js("Date", "2024-01-02T03:04:05.678Z"),
        "tstz": js("Date", "2024-01-02T01:04:05.678Z"),
        "day": js("Date", "2024-02-29T00:00:00.000Z"),
        "js": js("Object", {"a": [1, "x", None], "b": {"c": True}}),
        "jsb": js("Object", {"k": 1}),
        "ints": js_array("number", 1, None, 3),
        "words": js_array("string", "a", "b c", None, 'd,"e"'),
        "bigs": js_array("string", "10000000000"),
        "id": js("string", "a8d1e230-300f-4f32-8210-c377328aff0d"),
        "nothing": js("null"),
    }


def test_parameterised_queries(checks: Checks) -> None:
    """Numbers, strings, null, Date, arrays, objects (as JSON) and Buffers as $n values."""
    found = result(checks, "parameters")
    assert found["counts"] == [1, 1]
    assert found["fields"] == [
        ["id", 23], ["name", 1043], ["amount", 701], ["at_time", 1184], ["day", 1082],
        ["tags", 1015], ["scores", 1007], ["doc", 114], ["flag", 16], ["raw", 17]]
    assert found["row"] == {
        "id": js("number", 1),
        "name": js("string", "it's"),
        "amount": js("number", 2.5),
        "at_time": js("Date", "2024-01-02T03:04:05.678Z"),
        "day": js("Date", "2024-02-29T00:00:00.000Z"),
        "tags": js_array("string", "x", "y z"),
        "scores": js_array("number", 1, 2, 3),
        "doc": js("Object", {"nested": [1, "two", None]}),
        "flag": js("boolean", True),
        "raw": js("Buffer", "0001ff"),
    }
    assert found["by_name"] == [1]
    assert found["arithmetic"] == {"next": js("number", 42), "echo": js("string", "x")}
    assert found["null_names"] == js("string", "1")  # count(*) is int8


def test_named_prepared_statement(checks: Checks) -> None:
    assert result(checks, "prepared") == {"squares": [1, 4, 9, 16, 25, 36, 49]}


def test_row_mode_array(checks: Checks) -> None:
    assert result(checks, "row_mode_array") == {
        "fields": ["i", "twice", "label", "nothing"],
        "rows": [[1, 2, "n1", None], [2, 4, "n2", None], [3, 6, "n3", None]]}


def test_pool(checks: Checks) -> None:
    """Six concurrent queries on a pool of three connections: three server sessions."""
    assert result(checks, "pool") == {"tenfold": [10, 20, 30, 40, 50, 60], "backends": 3,
                                      "total": 3, "in_transaction": 42}


def test_error_keeps_the_client(checks: Checks, prefix: str) -> None:
    found = result(checks, "errors")
    assert found["error"]["code"] == "42P01"
    assert found["error"]["severity"] == "ERROR"
    assert f"{prefix}_missing" in found["error"]["message"]
    assert found["after"] == 1
