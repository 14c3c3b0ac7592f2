"""has_table_privilege, has_schema_privilege and has_any_column_privilege answered from the
server's grants (forge_sql.engine.privilege_functions); the other has_*_privilege (objects
forge-sql has no privileges on) and the *_is_visible functions other than
pg_table_is_visible (pg_class.py) are true."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA
from forge_sql.catalog.session_functions import TOKEN

# name -> object kind of forge_privilege ('r' relation, 'n' schema).
_GRANTED = {
    "has_table_privilege": "r",
    "has_any_column_privilege": "r",
    "has_schema_privilege": "n",
}

# Each takes (object, privilege) or (role, object, privilege); column ones one more.
_PRIVILEGES = (
    "has_database_privilege",
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
    for name, kind in _GRANTED.items():
        yield (
            f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(a, b) AS "
            f"forge_privilege({TOKEN}, NULL, '{kind}', a::VARCHAR, b), "
            f"(a, b, c) AS forge_privilege({TOKEN}, a::VARCHAR, '{kind}', b::VARCHAR, c)"
        )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.has_column_privilege(a, b, c) AS "
        f"forge_privilege({TOKEN}, NULL, 'r', a::VARCHAR, c), "
        f"(a, b, c, d) AS forge_privilege({TOKEN}, a::VARCHAR, 'r', b::VARCHAR, d)"
    )
    for name in _VISIBLE:
        yield f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(x) AS true"
