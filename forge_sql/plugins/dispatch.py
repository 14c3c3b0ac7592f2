"""The rewrite rule for extension functions called with a schema other than public:
``ml.score(x)`` -> ``forge_ext.ml.score(x)``, the schema holding their dispatching macros
(forge_sql.plugins.scalars). Unqualified and ``public.`` calls need no rewrite: the
session's search_path has forge_ext.public."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from forge_sql.sql.rewrite import Edit, Rule, Source

DATABASE = "forge_ext"  # as forge_sql.plugins.scalars.DATABASE

# (schema, name) of the loaded scalar functions outside public; replaced at each (re)load.
_qualified: frozenset[tuple[str, str]] = frozenset()
_schemas: tuple[str, ...] = ()


def use(keys: Iterable[tuple[str, str]]) -> None:
    """The scalar functions now loaded (start-up, reload)."""
    global _qualified, _schemas
    _qualified = frozenset((s, n) for s, n in keys if s != "public")
    _schemas = tuple(sorted({s for s, _ in _qualified}))


def _wanted(sql: str) -> bool:
    if not _schemas:
        return False
    lowered = sql.lower()
    return any(schema in lowered for schema in _schemas)


def _fold(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index in range(len(tokens) - 3):
        schema, dot, name, bracket = tokens[index : index + 4]
        if dot.text != "." or bracket.text != "(":
            continue
        if index and tokens[index - 1].text == ".":
            continue  # catalog.schema.name(: already qualified
        if (_fold(schema.text), _fold(name.text)) in _qualified:
            yield Edit(schema.start, schema.start, f"{DATABASE}.")


RULE = Rule("extension functions in their schema", _edits, _wanted)
