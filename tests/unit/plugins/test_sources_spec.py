"""@source records a SourceSpec (a table function with key, cursor and secret) and refuses
bad declarations with the file and line."""

from __future__ import annotations

import pytest

from forge_sql.ext import Column, Context, ExtensionDefinitionError, SourceSpec, TableSpec, source
from forge_sql.plugins.registry import Extension, Registry


def test_a_source_is_a_table_function_with_key_and_cursor() -> None:
    @source(columns={"id": int, "at": "TIMESTAMP"}, primary_key="id", cursor="at",
            secret="api", rate_limit=5, concurrency=2)
    def changes(since: str | None = None, *, ctx: Context) -> None:
        """Changed rows."""

    spec = changes.__forge_spec__  # type: ignore[attr-defined]
    assert isinstance(spec, SourceSpec) and isinstance(spec, TableSpec)
    assert spec.columns == (Column("id", "BIGINT"), Column("at", "TIMESTAMP"))
    assert (spec.primary_key, spec.cursor, spec.secret) == (("id",), "at", "api")
    assert (spec.rate_limit, spec.concurrency, spec.context_argument) == (5, 2, "ctx")
    assert spec.signature == "changes(since VARCHAR DEFAULT None)"
    registry = Registry()
    registry.add(Extension("x", "x.py"), spec)
    assert registry.table("public", "changes")[0].spec is spec


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": {"id": int}, "primary_key": "key"}, "'key' is not a declared column"),
        ({"columns": {"id": int}, "cursor": "at"}, "'at' is not a declared column"),
        ({"columns": {}}, "at least one column"),
        ({}, "needs columns"),
        ({"columns": {"id": int}, "rate_limit": 0}, "rate_limit"),
        ({"columns": {"id": int}, "concurrency": 0}, "concurrency"),
        ({"columns": {"id": int}, "secret": "Bad Name"}, "secret"),
    ],
)
def test_bad_declarations_name_the_line(options: dict[str, object], message: str) -> None:
    with pytest.raises(ExtensionDefinitionError, match=message) as caught:
        @source(**options)  # type: ignore[call-overload]
        def bad() -> None: ...
    assert caught.value.source is not None and caught.value.source.line > 0
