"""Predicates that recognise one class of differences each: on the error (SQLSTATE, phase,
message), the announced types and names, or the values of one column."""

from __future__ import annotations

import decimal
import json
import re
from collections.abc import Callable

from .compare import Difference
from .harness import Outcome

ERROR_KINDS = frozenset({"error_only_forge", "error_only_pg", "sqlstate", "phase"})
RESULT_KINDS = frozenset({"values", "row_order", "row_count", "command_tag", "binary_values",
                          "table_after"})
INT_OIDS = frozenset({20, 21, 23})

Match = Callable[[Outcome, Difference], bool]
def forge_error(o: Outcome, pattern: str, state: str | None = None) -> bool:
    error = o.forge.error
    return bool(error and (state is None or error[1] == state) and re.search(pattern, error[2]))


def pg_error(o: Outcome, pattern: str, state: str) -> bool:
    error = o.pg.error
    return bool(error and error[1] == state and re.search(pattern, error[2]))


def column_pair(o: Outcome, d: Difference) -> tuple[tuple[str, int, int], tuple[str, int, int]]:
    assert d.column is not None
    return o.forge.columns[d.column], o.pg.columns[d.column]


def types_differ(forge_oid: int, pg_oids: frozenset[int] | set[int],
                 pg_names: frozenset[str] | None = None) -> Match:
    """A column announced as ``forge_oid`` where PostgreSQL announces one of ``pg_oids``
    (named one of ``pg_names``, when given)."""
    def match(o: Outcome, d: Difference) -> bool:
        if d.kind != "column_types":
            return False
        forge, pg = column_pair(o, d)
        return forge[1] == forge_oid and pg[1] in pg_oids and \
            (pg_names is None or pg[0] in pg_names)
    return match


def errors_when(pattern: str, state: str | None = None) -> Match:
    """forge-sql fails with a message matching ``pattern`` (where PostgreSQL answers or fails
    otherwise)."""
    return lambda o, d: d.kind in ERROR_KINDS and forge_error(o, pattern, state)


def results_differ_with(*tags: str) -> Match:
    """Rows differ in a statement using one of ``tags`` (a generator feature)."""
    wanted = frozenset(tags)
    return lambda o, d: d.kind in RESULT_KINDS and bool(wanted & o.case.tags)


# Functions PostgreSQL has that DuckDB lacks under that name (42883 at Parse).
MISSING_FUNCTIONS = frozenset({"to_number", "scale"})
# Calls whose argument types DuckDB does not accept where PostgreSQL does.
MISSING_OVERLOADS = frozenset({"sum(INTERVAL)", "avg(INTERVAL)"})


def missing_function(o: Outcome, d: Difference) -> bool:
    if d.kind not in ERROR_KINDS or not o.forge.error or o.forge.error[1] != "42883":
        return False
    found = re.search(r"Function with name (\S+) does not exist", o.forge.error[2])
    return bool(found and found.group(1) in MISSING_FUNCTIONS)


def missing_overload(o: Outcome, d: Difference) -> bool:
    if d.kind not in ERROR_KINDS or not o.forge.error or o.forge.error[1] != "42883":
        return False
    found = re.search(r"argument types '([^']*)'", o.forge.error[2])
    return bool(found and found.group(1) in MISSING_OVERLOADS)


def numeric_typmod(o: Outcome, d: Difference) -> bool:
    if d.kind != "typmod":
        return False
    forge, pg = column_pair(o, d)
    return forge[1] == pg[1] == 1700 and pg[2] == -1 and forge[2] != -1


def duplicate_names(o: Outcome, d: Difference) -> bool:
    if d.kind != "column_names" or d.column is None:
        return False
    forge, pg = column_pair(o, d)
    return re.fullmatch(re.escape(pg[0]) + r"_\d+", forge[0]) is not None


def case_names(o: Outcome, d: Difference) -> bool:
    """ORDER BY a name both a CASE (named after its ELSE column) and an input column have:
    PostgreSQL sorts by the CASE, DuckDB by the column."""
    if d.kind not in RESULT_KINDS or "CASE" not in o.case.sql.upper():
        return False
    sql = o.case.sql
    return any(
        re.search(rf"ELSE\s+(\w+\.)?{re.escape(name)}\s+END", sql, re.I) is not None
        and re.search(rf"ORDER BY {re.escape(name)}\b", sql) is not None
        for name, _, _ in o.pg.columns)


def division_not_evaluated(o: Outcome, d: Difference) -> bool:
    """PostgreSQL raises 22012 for a division forge-sql never computes: in an ORDER BY key
    (DuckDB drops constant ones), beside a NULL operand (folded away), or by a parameter."""
    if d.kind != "error_only_pg" or not pg_error(o, "division by zero", "22012"):
        return False
    sql = o.case.sql
    order_by = sql.upper().rpartition("ORDER BY")[2]
    return ("/" in order_by or "%" in order_by or "DIV(" in order_by
            or re.search(r"\bNULL\b", sql, re.I) is not None
            or re.search(r"[/%]\s*\(?\$\d|mod\([^()]*,\s*\$\d+\)", sql) is not None)


def column_values(o: Outcome, d: Difference) -> tuple[list[bytes | None], list[bytes | None]]:
    assert d.column is not None
    return ([row[d.column] for row in o.forge.rows], [row[d.column] for row in o.pg.rows])


def values_in(forge_oid: int | None, pg_oid: int) -> Callable[[Outcome, Difference], bool]:
    """Rows differ in a column of type ``pg_oid`` (announced ``forge_oid`` by forge-sql)."""
    def match(o: Outcome, d: Difference) -> bool:
        if d.kind not in ("values", "binary_values") or d.column is None:
            return False
        forge, pg = column_pair(o, d)
        return pg[1] == pg_oid and (forge_oid is None or forge[1] == forge_oid)
    return match


def _decimals(values: list[bytes | None]) -> list[decimal.Decimal] | None:
    try:
        return sorted(decimal.Decimal(v.decode().strip('"')) for v in values if v is not None)
    except (decimal.InvalidOperation, ArithmeticError):
        return None


NUMERIC_SOURCES = r"numeric|decimal|\bnn?\b"  # a numeric cast or column


def numeric_scale(o: Outcome, d: Difference) -> bool:
    """The same numbers printed with another scale (1.500 for 1.5), also inside json."""
    if d.kind != "values" or d.column is None:
        return False
    forge_column, pg_column = column_pair(o, d)
    if forge_column[1] != pg_column[1]:
        return False
    if pg_column[1] != 1700 and not re.search(NUMERIC_SOURCES, o.case.sql, re.I):
        return False
    forge, pg = column_values(o, d)
    left, right = _decimals(forge), _decimals(pg)
    return left is not None and left == right and \
        [v is None for v in forge].count(True) == [v is None for v in pg].count(True)


def numeric_precision(o: Outcome, d: Difference) -> bool:
    """Other numbers: digits lost to DuckDB's DECIMAL widths (10 decimals when
    unconstrained), also once printed in json or text, or stored in a numeric column."""
    if d.kind == "table_after":
        return _only_numeric_cells_differ(o)
    if d.kind != "values" or d.column is None:
        return False
    forge_column, pg_column = column_pair(o, d)
    if forge_column[1] != pg_column[1]:
        return False
    if pg_column[1] != 1700 and not re.search(NUMERIC_SOURCES, o.case.sql, re.I):
        return False
    forge, pg = column_values(o, d)
    left, right = _decimals(forge), _decimals(pg)
    return left is not None and right is not None and left != right and len(left) == len(right)


SCRATCH_NUMERIC = 2  # the numeric(12,2) column of the scratch table


def _only_numeric_cells_differ(o: Outcome) -> bool:
    forge, pg = o.forge.after or [], o.pg.after or []
    if len(forge) != len(pg):
        return False
    cells = {i for f, p in zip(forge, pg, strict=True) for i, (a, b) in enumerate(zip(f, p,
                                                                                   strict=True))
             if a != b}
    return cells == {SCRATCH_NUMERIC}


def differing_cells(o: Outcome) -> list[tuple[bytes | None, bytes | None]]:
    """Cells that differ, row by row, in the results and in the scratch table after DML."""
    pairs = []
    for forge, pg in ((o.forge.rows, o.pg.rows), (o.forge.after or [], o.pg.after or [])):
        for f_row, p_row in zip(forge, pg, strict=False):
            pairs += [(a, b) for a, b in zip(f_row, p_row, strict=False) if a != b]
    return pairs


def cells_differ_as(test: Callable[[bytes, bytes], bool]) -> Match:
    """Rows differ, and every differing cell pair passes ``test``."""
    def match(o: Outcome, d: Difference) -> bool:
        if d.kind not in ("values", "table_after"):
            return False
        pairs = differing_cells(o)
        return bool(pairs) and all(a is not None and b is not None and test(a, b)
                                   for a, b in pairs)
    return match


def bc_dates(o: Outcome, d: Difference) -> bool:
    if d.kind in RESULT_KINDS and " BC'" in o.case.sql:
        return True
    if d.kind not in ("values", "binary_values") or d.column is None:
        return False
    _, pg = column_values(o, d)
    return any(v is not None and v.endswith(b" BC") for v in pg)


def json_normalised(o: Outcome, d: Difference) -> bool:
    if d.kind == "table_after":
        return cells_differ_as(lambda a, b: _canonical_json(a) == _canonical_json(b))(o, d)
    if d.kind == "values" and d.column is not None and column_pair(o, d)[1][1] != 114:
        # json taken apart (->> of an object) into text: the text of the re-serialised value
        return re.search(r"json", o.case.sql, re.I) is not None and cells_differ_as(
            lambda a, b: a != b and _JSON_SPACES.sub(rb"\1", b) == a)(o, d)
    if d.kind != "values" or d.column is None:
        return False
    forge, pg = column_values(o, d)
    try:
        return sorted(map(_canonical_json, forge)) == sorted(map(_canonical_json, pg))
    except ValueError:
        return False


_JSON_SPACES = re.compile(rb"([:,]) ")


def _canonical_json(value: bytes | None) -> str:
    try:
        return "" if value is None else json.dumps(json.loads(value), sort_keys=True)
    except ValueError:
        return repr(value)


def float_last_digits(o: Outcome, d: Difference) -> bool:
    """Doubles that agree to 9 significant digits (sums and deviations taken in another
    order)."""
    if d.kind != "values" or d.column is None or column_pair(o, d)[1][1] not in (700, 701):
        return False
    forge, pg = column_values(o, d)
    try:
        left = sorted(float(v) for v in forge if v is not None)
        right = sorted(float(v) for v in pg if v is not None)
    except ValueError:
        return False
    return len(left) == len(right) and all(
        a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)) for a, b in zip(left, right,
                                                                             strict=True))


def input_error_phase(o: Outcome, d: Difference) -> bool:
    """PostgreSQL converts a constant while parsing, DuckDB when the statement runs (and
    may meet another error first)."""
    if o.forge.error is None or o.pg.error is None or o.forge.error[0] == o.pg.error[0]:
        return False
    if d.kind == "phase":
        return o.pg.error[1] in ("22P02", "22007", "22008", "22003")
    return d.kind == "sqlstate" and o.pg.error[0] == "parse" and \
        o.forge.error[0] == "execute" and o.pg.error[1] in ("22P02", "22007", "22008")


