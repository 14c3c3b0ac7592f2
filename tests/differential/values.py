"""Values of every type the README lists, as SQL input text and as the Python value a driver
sends for a parameter (None where no driver type holds it: BC dates, months in intervals)."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

D = decimal.Decimal


def _ts(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


# type -> [(PostgreSQL input text, Python value or None)]
VALUES: dict[str, list[tuple[str, Any]]] = {
    "bool": [("true", True), ("false", False)],
    "int2": [("0", 0), ("1", 1), ("7", 7), ("-5", -5), ("32767", 32767), ("-32768", -32768)],
    "int4": [("0", 0), ("1", 1), ("2", 2), ("7", 7), ("-7", -7), ("100", 100),
             ("2147483647", 2147483647), ("-2147483648", -2147483648)],
    "int8": [("3", 3), ("10000000000", 10000000000), ("9223372036854775807", 2**63 - 1),
             ("-9223372036854775808", -(2**63)), ("0", 0)],
    "float4": [("1.5", 1.5), ("-0.25", -0.25), ("3.4e38", 3.4e38), ("0", 0.0),
               ("Infinity", float("inf")), ("NaN", float("nan"))],
    "float8": [("0.1", 0.1), ("2.5", 2.5), ("1e308", 1e308), ("-1e-300", -1e-300),
               ("0.3333333333333333", 0.3333333333333333), ("Infinity", float("inf")),
               ("-Infinity", float("-inf")), ("NaN", float("nan")), ("0", 0.0)],
    "numeric": [("3.14159", D("3.14159")), ("0.001", D("0.001")), ("-1.5", D("-1.5")),
                ("12345678901234567890.123456789", D("12345678901234567890.123456789")),
                ("0.00000000000000000001", D("1E-20")), ("0", D(0)), ("2.5", D("2.5")),
                ("100", D(100)), ("NaN", D("NaN"))],
    "text": [("", ""), ("abc", "abc"), ("Hello World", "Hello World"), ("it's", "it's"),
             ("ünïcödé", "ünïcödé"), ("a%b_c", "a%b_c"), (" pad ", " pad "), ("123", "123"),
             ("alpha", "alpha"), ("x,y,z", "x,y,z")],
    "bytea": [("\\x", b""), ("\\x0102", b"\x01\x02"), ("\\xdeadbeef", b"\xde\xad\xbe\xef")],
    "date": [("2024-01-15", datetime.date(2024, 1, 15)), ("2000-02-29", datetime.date(2000, 2, 29)),
             ("0001-01-01", datetime.date(1, 1, 1)), ("9999-12-31", datetime.date(9999, 12, 31)),
             ("1999-12-31", datetime.date(1999, 12, 31)), ("0044-03-15 BC", None)],
    "time": [("00:00:00", datetime.time(0)), ("12:34:56.789", datetime.time(12, 34, 56, 789000)),
             ("23:59:59.999999", datetime.time(23, 59, 59, 999999))],
    "timestamp": [("2024-01-15 10:30:00", _ts("2024-01-15 10:30:00")),
                  ("1970-01-01 00:00:00", _ts("1970-01-01 00:00:00")),
                  ("2000-02-29 12:00:00.123456", _ts("2000-02-29 12:00:00.123456")),
                  ("1900-01-01 00:00:00", _ts("1900-01-01 00:00:00"))],
    "timestamptz": [("2024-01-15 10:30:00+00", _ts("2024-01-15 10:30:00+00:00")),
                    ("2024-06-01 12:00:00+02", _ts("2024-06-01 12:00:00+02:00")),
                    ("1969-07-20 20:17:40+00", _ts("1969-07-20 20:17:40+00:00"))],
    "interval": [("1 day", datetime.timedelta(days=1)),
                 ("02:30:00", datetime.timedelta(hours=2, minutes=30)),
                 ("-3 days", datetime.timedelta(days=-3)),
                 ("00:00:01.5", datetime.timedelta(seconds=1.5)),
                 ("1 year 2 months", None), ("1 day -01:00:00", None)],
    "uuid": [("00000000-0000-0000-0000-000000000001", uuid.UUID(int=1)),
             ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
              uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))],
    "json": [('{"a": 1}', {"a": 1}), ("[1, 2, 3]", [1, 2, 3]), ('"s"', "s"), ("null", None),
             ('{"a": {"b": [true, null]}}', {"a": {"b": [True, None]}})],
    "int4[]": [("{1,2,3}", [1, 2, 3]), ("{1,NULL,3}", [1, None, 3]), ("{}", []),
               ("{7}", [7])],
    "text[]": [("{a,b}", ["a", "b"]), ('{"x y",NULL}', ["x y", None]), ("{}", [])],
}
VALUES["varchar"] = VALUES["text"]


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_text(value: Any) -> str:
    return json.dumps(value)
