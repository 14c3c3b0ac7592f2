"""The tables both servers hold before any statement runs: same DDL, same rows, NULLs and
extreme values included."""

from __future__ import annotations

# Columns of t1 by PostgreSQL type. The unconstrained numeric holds at most three decimals so
# that both servers store the same rows: rounding on input is found by generated literals.
T1_COLUMNS: dict[str, str] = {
    "id": "int4", "b": "bool", "i2": "int2", "i4": "int4", "i8": "int8", "f4": "float4",
    "f8": "float8", "n": "numeric", "nn": "numeric(12,2)", "s": "text", "v": "varchar(20)",
    "bt": "bytea", "d": "date", "tm": "time", "ts": "timestamp", "tz": "timestamptz",
    "iv": "interval", "u": "uuid", "j": "json", "ai": "int4[]", "ta": "text[]",
}

T1_ROWS: list[str] = [
    "1, true, 1, 10, 100, 1.5, 2.25, 1.5, 10.25, 'alpha', 'a', '\\x0102'::bytea, "
    "DATE '2024-01-15', TIME '10:30:00', TIMESTAMP '2024-01-15 10:30:00', "
    "TIMESTAMPTZ '2024-01-15 10:30:00+00', INTERVAL '1 day', "
    "'00000000-0000-0000-0000-000000000001', '{\"a\": 1, \"b\": [1, 2]}', ARRAY[1, 2, 3], "
    "ARRAY['x', 'y']",
    "2, false, -5, -7, -100000, -0.5, 1e10, -2.125, -3.50, 'Beta', 'bb', '\\x'::bytea, "
    "DATE '1999-12-31', TIME '23:59:59.5', TIMESTAMP '1999-12-31 23:59:59.5', "
    "TIMESTAMPTZ '1999-12-31 23:00:00+00', INTERVAL '2 hours 30 minutes', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[1, \"two\", null]', ARRAY[4, NULL], "
    "ARRAY['z', NULL]",
    "3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL",
    "4, true, 32767, 2147483647, 9223372036854775807, 3.4e38, 1.7976931348623157e308, "
    "99999999999.999, 9999999999.99, '', 'zz', '\\xff'::bytea, DATE '0001-01-01', "
    "TIME '00:00:00', TIMESTAMP '2000-02-29 00:00:00', TIMESTAMPTZ '2038-01-19 03:14:07+00', "
    "INTERVAL '-3 days', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{}', ARRAY[]::int4[], "
    "ARRAY[]::text[]",
    "5, false, -32768, -2147483648, -9223372036854775808, -1e-30, -0.001, 0, 0.01, "
    "'it''s %s_x', 'Alpha', '\\x00ff00'::bytea, DATE '9999-12-31', TIME '12:00:00', "
    "TIMESTAMP '1970-01-01 00:00:00', TIMESTAMPTZ '1970-01-01 00:00:00+00', "
    "INTERVAL '1 year 2 months 3 days 04:05:06', '12345678-1234-5678-1234-567812345678', "
    "'{\"a\": null, \"c\": \"x\"}', ARRAY[7, 7, 7], ARRAY['alpha', 'beta']",
    "6, true, 7, 7, 7, 7, 7, 7, 7, 'alpha', 'alpha', '\\x61'::bytea, DATE '2024-02-29', "
    "TIME '07:07:07', TIMESTAMP '2024-02-29 07:07:07', TIMESTAMPTZ '2024-02-29 07:07:07+00', "
    "INTERVAL '7 minutes', '00000000-0000-0000-0000-000000000007', '7', ARRAY[7], ARRAY['7']",
]

# t2 joins to t1 on t1_id (one t1 row without partner, one t2 row without partner).
T2_COLUMNS: dict[str, str] = {"id": "int4", "t1_id": "int4", "k": "text", "q": "int8"}

T2_ROWS: list[str] = [
    "1, 1, 'x', 5", "2, 1, 'y', NULL", "3, 2, 'x', -1", "4, 4, NULL, 10", "5, 9, 'z', 3",
    "6, NULL, 'x', 0",
]

TABLES: dict[str, tuple[dict[str, str], list[str]]] = {
    "t1": (T1_COLUMNS, T1_ROWS),
    "t2": (T2_COLUMNS, T2_ROWS),
}


def create_statements() -> list[str]:
    """DDL and INSERTs that build the tables from nothing (dropping what was there)."""
    statements = []
    for name, (columns, rows) in TABLES.items():
        statements.append(f"DROP TABLE IF EXISTS {name}")
        body = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        statements.append(f"CREATE TABLE {name} ({body})")
        statements.extend(f"INSERT INTO {name} VALUES ({row})" for row in rows)
    return statements
