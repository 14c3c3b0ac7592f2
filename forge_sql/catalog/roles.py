"""pg_roles, pg_user, pg_auth_members and pg_get_userbyid.

Role 10 (PostgreSQL's bootstrap superuser) owns every object; each user of the server's
configuration is a login role. forge-sql has no per-role privileges: all are superusers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forge_sql.catalog import SCHEMA, fixed_table
from forge_sql.catalog.pg_namespace import BOOTSTRAP_SUPERUSER

OWNER = "forge"
_FIRST_ROLE_OID = 16385

_ROLE = {
    "oid": "BIGINT",
    "rolname": "VARCHAR",
    "rolsuper": "BOOLEAN",
    "rolinherit": "BOOLEAN",
    "rolcreaterole": "BOOLEAN",
    "rolcreatedb": "BOOLEAN",
    "rolcanlogin": "BOOLEAN",
    "rolreplication": "BOOLEAN",
    "rolconnlimit": "INTEGER",
    "rolpassword": "VARCHAR",
    "rolvaliduntil": "TIMESTAMPTZ",
    "rolbypassrls": "BOOLEAN",
    "rolconfig": "VARCHAR[]",
}


def definitions(users: Sequence[str]) -> Iterator[str]:
    names = [OWNER, *sorted(set(users) - {OWNER})]
    rows = [
        (
            BOOTSTRAP_SUPERUSER if index == 0 else _FIRST_ROLE_OID + index,
            name,
            True, True, True, True, True, False, -1, "********", None, True, None,
        )
        for index, name in enumerate(names)
    ]
    yield from fixed_table("pg_roles", _ROLE, rows)
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_user AS SELECT rolname AS usename, "
        "oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper, "
        "rolreplication AS userepl, rolbypassrls AS usebypassrls, rolpassword AS passwd, "
        f"rolvaliduntil AS valuntil, rolconfig AS useconfig FROM {SCHEMA}.pg_roles"
    )
    yield from fixed_table(
        "pg_auth_members",
        {
            "oid": "BIGINT",
            "roleid": "BIGINT",
            "member": "BIGINT",
            "grantor": "BIGINT",
            "admin_option": "BOOLEAN",
            "inherit_option": "BOOLEAN",
            "set_option": "BOOLEAN",
        },
    )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.pg_get_userbyid(role_oid) AS coalesce(("
        f"SELECT first(rolname) FROM {SCHEMA}.pg_roles WHERE oid = role_oid), "
        f"'unknown (OID=' || role_oid || ')')"
    )
