"""Differences between forge-sql's answer and PostgreSQL's, one per aspect a client sees."""

from __future__ import annotations

from dataclasses import dataclass

from .runner import Answer, Row
from .statements import Case


@dataclass(frozen=True)
class Difference:
    """``kind`` is one of: ``error_only_forge``, ``error_only_pg``, ``sqlstate``, ``phase``,
    ``param_types``, ``column_names``, ``column_types``, ``typmod``, ``command_tag``,
    ``row_count``, ``values``, ``row_order``, ``binary_values``, ``table_after``.
    ``column`` is the index of the first result column concerned, when there is one."""

    kind: str
    column: int | None = None


def _sort_key(row: Row) -> tuple[tuple[int, bytes], ...]:
    return tuple((0, b"") if value is None else (1, value) for value in row)


def _same_rows(forge: list[Row], pg: list[Row], ordered: bool) -> bool:
    if ordered:
        return forge == pg
    return sorted(forge, key=_sort_key) == sorted(pg, key=_sort_key)


def _first_column(forge: list[Row], pg: list[Row]) -> int | None:
    """The first column whose values differ, rows taken in a canonical order."""
    a, b = sorted(forge, key=_sort_key), sorted(pg, key=_sort_key)
    width = min(len(a[0]) if a else 0, len(b[0]) if b else 0)
    for column in range(width):
        left = sorted((row[column] for row in a), key=lambda v: (v is not None, v or b""))
        right = sorted((row[column] for row in b), key=lambda v: (v is not None, v or b""))
        if left != right:
            return column
    return None


def differences(case: Case, forge: Answer, pg: Answer) -> list[Difference]:
    found: list[Difference] = []
    if pg.error and pg.error[0] == "bind":
        # The driver itself cannot send these values for PostgreSQL's types: a generated
        # value that does not fit, not a server difference. Only Parse and Describe compare.
        if forge.error and forge.error[0] in ("parse", "describe"):
            return [Difference("error_only_forge")]
        return _describe_differences(forge, pg)
    if forge.error or pg.error:
        if forge.error and pg.error:
            if forge.error[1] != pg.error[1]:
                found.append(Difference("sqlstate"))
            elif forge.error[0] != pg.error[0]:
                found.append(Difference("phase"))
        else:
            found.append(Difference("error_only_forge" if forge.error else "error_only_pg"))
        # What was described before the error still counts.
        if not (forge.error and forge.error[0] == "parse") and \
                not (pg.error and pg.error[0] == "parse"):
            found += _describe_differences(forge, pg)
        return found
    found += _describe_differences(forge, pg)
    if forge.tag != pg.tag:
        found.append(Difference("command_tag"))
    if len(forge.rows) != len(pg.rows):
        found.append(Difference("row_count"))
    elif not _same_rows(forge.rows, pg.rows, case.ordered):
        if case.ordered and _same_rows(forge.rows, pg.rows, ordered=False):
            found.append(Difference("row_order"))
        else:
            found.append(Difference("values", _first_column(forge.rows, pg.rows)))
    elif forge.binary_rows is not None and pg.binary_rows is not None and \
            [c[1] for c in forge.columns] == [c[1] for c in pg.columns] and \
            not _same_rows(forge.binary_rows, pg.binary_rows, case.ordered):
        found.append(Difference("binary_values",
                                _first_column(forge.binary_rows, pg.binary_rows)))
    if forge.after != pg.after:
        found.append(Difference("table_after"))
    return found


def _describe_differences(forge: Answer, pg: Answer) -> list[Difference]:
    found = []
    if forge.param_types != pg.param_types:
        found.append(Difference("param_types"))
    if len(forge.columns) != len(pg.columns):
        found.append(Difference("column_names"))
        return found
    for index, (f, p) in enumerate(zip(forge.columns, pg.columns, strict=True)):
        if f[0] != p[0]:
            found.append(Difference("column_names", index))
        if f[1] != p[1]:
            found.append(Difference("column_types", index))
        elif f[2] != p[2]:
            found.append(Difference("typmod", index))
    return found
