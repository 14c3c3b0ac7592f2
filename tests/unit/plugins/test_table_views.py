"""@table(view=True): the spec records it, and a function the view could not call without
arguments is refused where it is declared."""

from __future__ import annotations

import pytest

from forge_sql.ext import ExtensionDefinitionError, TableSpec, table


def test_view_is_recorded_for_a_function_callable_without_arguments() -> None:
    @table(schema="ml", columns={"n": "BIGINT"}, view=True)
    def listed(limit: int = 10) -> list[dict[str, int]]:
        return [{"n": i} for i in range(limit)]

    spec = listed.__forge_spec__  # type: ignore[attr-defined]
    assert isinstance(spec, TableSpec) and spec.view and spec.schema == "ml"


@pytest.mark.parametrize("declare", [
    lambda: table(name="f", columns={"n": "BIGINT"}, args=["BIGINT"], view=True)(
        lambda limit: []),
    lambda: table(name="f", describe=lambda: {"n": "BIGINT"}, view=True)(lambda: []),
])
def test_view_needs_declared_columns_and_defaults(declare: object) -> None:
    with pytest.raises(ExtensionDefinitionError, match="view=True needs declared columns"):
        declare()  # type: ignore[operator]
