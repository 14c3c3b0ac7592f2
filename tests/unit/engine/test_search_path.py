"""engine.search_path: the schemas a search_path value names, which exist, and the order
DuckDB and the privilege check search them in."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import relations as rel
from forge_sql.engine import search_path as sp


@pytest.mark.parametrize(("setting", "expected"), [
    (None, ("alice", "public")),
    ('"$user", public', ("alice", "public")),
    ("B, a, b", ("b", "a")),
    ('"My Schema", public', ("My Schema", "public")),
    ('"a,b"', ("a,b",)),
    ('""', ()),
    ("pg_catalog, x", ("pg_catalog", "x")),
])
def test_listed(setting: str | None, expected: tuple[str, ...]) -> None:
    assert sp.listed(setting, "alice") == expected


def test_missing_schemas_are_skipped_and_create_goes_to_the_first() -> None:
    path = sp.resolve("nosuch, b, a", "alice", {"a", "b", "public"})
    assert path.schemas == ("b", "a")
    assert path.creation == "b"
    assert path.current_schemas(True) == ["pg_catalog", "b", "a"]
    assert path.order() == ("b", "pg_catalog", "a", "main")


def test_nothing_to_create_in() -> None:
    path = sp.resolve("nosuch", "alice", {"public"})
    assert path.creation is None and path.current_schemas(False) == []
    with pytest.raises(errors.UndefinedSchema, match="no schema has been selected"):
        path.creation_schema()


def test_pg_catalog_listed_later_is_searched_there() -> None:
    path = sp.resolve("a, b, pg_catalog", "u", {"a", "b"})
    assert path.order() == ("a", "b", "pg_catalog", "main")
    assert path.current_schemas(True) == ["a", "b", "pg_catalog"]


def test_duckdb_value_puts_macros_after_their_schema() -> None:
    path = sp.resolve("a, public", "u", {"a", "public"})
    value = path.duckdb_value("lake", "server.pgc",
                              lambda s: "forge_ext.public" if s == "public" else None)
    assert value == '"lake"."a",server.pgc,"lake"."public",forge_ext.public,"lake"."main"'


def test_qualify_checks_every_namesake_along_the_path() -> None:
    relations = {("a", "t"), ("public", "t"), ("public", "u")}
    order = sp.resolve("a, public", "u", {"a", "public"}).order()
    accesses = [rel.Access(rel.READ, rel.Name("", "", "t")),
                rel.Access(rel.READ, rel.Name("", "", "u")),
                rel.Access(rel.CREATE, rel.Name("", "", "n")),
                rel.Access(rel.READ, rel.Name("", "x", "t"))]
    names = [str(a.name) for a in sp.qualify(accesses, order, relations, frozenset())]
    assert names == ["a.t", "public.t", "public.u", "a.n", "x.t"]
    first = sp.qualify(accesses[:1], order, relations, frozenset(), every=False)
    assert [str(a.name) for a in first] == ["a.t"]


def test_a_schema_of_extension_functions_only_is_on_the_path() -> None:
    """``ml`` exists for extension functions only: listed, its macros are searched where
    it stands, but nothing is created there."""
    path = sp.resolve("ml, public", "u", {"public"}, {"ml", "public"})
    assert path.schemas == ("ml", "public") and path.creation == "public"
    assert path.lake_schemas == ("public",)
    value = path.duckdb_value("lake", "server.pgc",
                              lambda s: f"forge_ext.{s}" if s in ("ml", "public") else None)
    assert value == '"lake"."public",forge_ext.ml,forge_ext.public,server.pgc,"lake"."main"'


def test_session_path_sets_the_cursor_only_when_something_changed() -> None:
    schemas = [("lake", "public")]
    sets: list[str] = []
    generation = [0]
    path = sp.SessionPath("lake", "server.pgc", "forge_ext", lambda sql, params=None: schemas,
                          sets.append, lambda: generation[0])
    assert path.follow("a, public", "u").schemas == ("public",)
    assert path.follow("a, public", "u").schemas == ("public",)
    assert len(sets) == 1 and sets[0].startswith("SET search_path = '\"lake\".\"public\"")
    schemas.append(("lake", "a"))
    generation[0] += 1  # CREATE SCHEMA a, seen from inside a transaction block
    schemas_seen_in_block = path.follow("a, public", "u", in_block=True).schemas
    assert len(sets) == 2
    assert path.follow("a, public", "u", in_block=True).schemas == schemas_seen_in_block
    assert path.follow("a, public", "u").schemas == ("a", "public")  # again, after it
    assert len(sets) == 3
    assert path.follow("a, public", "u").schemas == ("a", "public") and len(sets) == 3
