"""has_*_privilege and the *_is_visible functions.

forge-sql has no per-role privileges (every user may do everything the server allows), so
the privilege checks answer true; objects other than relations are all visible
(pg_table_is_visible is in pg_class.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

# Each takes (object, privilege) or (role, object, privilege); column ones one more.
_PRIVILEGES = (
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "has_any_column_privilege",
    "has_function_privilege",
    "has_sequence_privilege",
    "has_type_privilege",
    "has_language_privilege",
    "has_tablespace_privilege",
    "has_foreign_data_wrapper_privilege",
    "has_server_privilege",
)
_VISIBLE = (
    "pg_type_is_visible",
    "pg_function_is_visible",
    "pg_operator_is_visible",
    "pg_opclass_is_visible",
    "pg_opfamily_is_visible",
    "pg_collation_is_visible",
    "pg_conversion_is_visible",
    "pg_statistics_obj_is_visible",
    "pg_ts_config_is_visible",
    "pg_ts_dict_is_visible",
    "pg_ts_parser_is_visible",
    "pg_ts_template_is_visible",
)


def definitions() -> Iterator[str]:
    for name in _PRIVILEGES:
        yield (
            f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(a, b) AS true, (a, b, c) AS true"
        )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.has_column_privilege(a, b, c) AS true, "
        "(a, b, c, d) AS true"
    )
    for name in _VISIBLE:
        yield f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(x) AS true"
