"""The functions the loaded extensions declare, by (schema, name), overloads together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from forge_sql.ext import ScalarSpec, SourceLocation, Spec, TableSpec


@dataclass(frozen=True)
class Function:
    """One declared function (an overload) of one extension, and the unique name its
    implementation is registered under in DuckDB (calls are rewritten to it)."""

    spec: Spec
    extension: str
    registered_name: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.spec.schema, self.spec.name)


@dataclass
class Extension:
    """One extension: a file of an extensions directory or an installed entry point."""

    name: str
    origin: str  # the file, or "entry point NAME = module"
    functions: list[Function] = field(default_factory=list)


class DuplicateFunction(Exception):
    def __init__(self, spec: Spec, other: Function) -> None:
        super().__init__(
            f"{spec.source}: function {spec.schema}.{spec.signature} is already declared at "
            f"{other.spec.source} ({other.extension})"
        )
        self.source = spec.source


@dataclass
class Registry:
    """Scalar and table functions by (schema, name); each key holds its overloads."""

    generation: int = 0
    extensions: list[Extension] = field(default_factory=list)
    scalars: dict[tuple[str, str], list[Function]] = field(default_factory=dict)
    tables: dict[tuple[str, str], list[Function]] = field(default_factory=dict)
    # Shipped extensions left out for a missing optional module: name -> module.
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, extension: Extension, spec: Spec) -> Function:
        key = (spec.schema, spec.name)
        if isinstance(spec, ScalarSpec):
            same, other_kind = self.scalars, self.tables
        else:
            same, other_kind = self.tables, self.scalars
        if key in other_kind:
            raise DuplicateFunction(spec, other_kind[key][0])
        overloads = same.setdefault(key, [])
        types = tuple(a.type.upper() for a in spec.arguments)
        for other in overloads:
            if tuple(a.type.upper() for a in other.spec.arguments) == types:
                raise DuplicateFunction(spec, other)
        name = _registered_name(spec, len(overloads), self.generation)
        function = Function(spec, extension.name, name)
        overloads.append(function)
        extension.functions.append(function)
        return function

    def functions(self) -> Iterator[Function]:
        for overloads in (*self.scalars.values(), *self.tables.values()):
            yield from overloads

    def scalar(self, schema: str, name: str) -> list[Function]:
        return self.scalars.get((schema, name), [])

    def table(self, schema: str, name: str) -> list[Function]:
        return self.tables.get((schema, name), [])

    def __len__(self) -> int:
        return sum(len(o) for o in (*self.scalars.values(), *self.tables.values()))


def _registered_name(spec: Spec, overload: int, generation: int) -> str:
    kind = "s" if isinstance(spec, ScalarSpec) else "t"
    return f"forge_ext_{kind}{generation}_{spec.schema}__{spec.name}__{overload}"


__all__ = ["DuplicateFunction", "Extension", "Function", "Registry", "ScalarSpec",
           "SourceLocation", "TableSpec"]
