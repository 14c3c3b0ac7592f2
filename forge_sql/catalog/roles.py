"""pg_roles, pg_user, pg_auth_members and pg_get_userbyid, and the owners and ACLs that
pg_class and pg_namespace show: rewritten from the server's roles and grants
(forge_sql.storage.acl) whenever they change. Role 10 is PostgreSQL's bootstrap superuser."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import duckdb

from forge_sql.catalog import SCHEMA, fixed_table, literal
from forge_sql.catalog.pg_namespace import BOOTSTRAP_SUPERUSER
from forge_sql.storage.acl import Acl

OWNER = "forge"
_FIRST_ROLE_OID = 16385
# PostgreSQL 14's OIDs of its predefined roles (pg_authid.dat).
_PREDEFINED_OIDS = {"pg_read_all_data": 6181, "pg_write_all_data": 6182}

# In PostgreSQL's column order: pg_roles has its oid last (SELECT r.oid, r.* reads so).
_ROLE = {
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
    "oid": "BIGINT",
}


def definitions(users: Sequence[str]) -> Iterator[str]:
    names = [OWNER, *sorted(set(users) - {OWNER})]
    rows = [
        (
            name,
            True, True, True, True, True, False, -1, "********", None, True, None,
            BOOTSTRAP_SUPERUSER if index == 0 else _FIRST_ROLE_OID + index,
        )
        for index, name in enumerate(names)
    ]
    yield from fixed_table("pg_roles", _ROLE, rows)
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_user AS SELECT rolname AS usename, "
        "oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper, "
        "rolreplication AS userepl, rolbypassrls AS usebypassrls, rolpassword AS passwd, "
        f"rolvaliduntil AS valuntil, rolconfig AS useconfig FROM {SCHEMA}.pg_roles "
        "WHERE rolcanlogin"
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



def acl_tables() -> Iterator[str]:
    """Owners and ACLs by name, which pg_class and pg_namespace read (created first)."""
    yield from fixed_table(
        "relation_acl",
        {"nspname": "VARCHAR", "relname": "VARCHAR", "owner": "BIGINT", "acl": "VARCHAR[]"},
    )
    yield from fixed_table(
        "namespace_acl", {"nspname": "VARCHAR", "owner": "BIGINT", "acl": "VARCHAR[]"}
    )
    # information_schema.table_privileges before its filter on the caller's roles.
    yield from fixed_table("table_grants", {name: "VARCHAR" for name in _GRANT_COLUMNS})


_GRANT_COLUMNS = ("grantor", "grantee", "table_schema", "table_name", "privilege_type",
                  "is_grantable", "with_hierarchy")
_PRIVILEGE_NAMES = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE",
                    "D": "TRUNCATE", "x": "REFERENCES", "t": "TRIGGER"}


def role_oid(name: str) -> int:
    """Stable OIDs: 10 for the bootstrap superuser, PostgreSQL's for predefined roles, and
    one derived from the name for the others (clients join pg_roles by them)."""
    if name == OWNER:
        return BOOTSTRAP_SUPERUSER
    if name in _PREDEFINED_OIDS:
        return _PREDEFINED_OIDS[name]
    return _FIRST_ROLE_OID + zlib.crc32(name.encode()) % (1 << 29)


def refresh(con: duckdb.DuckDBPyConnection, acl: Acl) -> None:
    """Rewrite the role listings and ACL columns from ``acl``, in one transaction."""
    roles = [
        (r.name, r.superuser, r.inherit, r.superuser, r.superuser, r.login,
         False, -1, "********" if r.password else None, None, r.superuser, None, role_oid(r.name))
        for r in sorted(acl.roles.values(), key=lambda r: r.name)
    ]
    members = [
        (index + 1, role_oid(m.role), role_oid(m.member), role_oid(m.grantor), m.admin_option,
         True, True)
        for index, m in enumerate(acl.members)
    ]
    keys = {*acl.owners, *acl.grants}
    relations = [
        (schema, name, role_oid(acl.owner((kind, schema, name))), acl.acl_items(
            (kind, schema, name)))
        for kind, schema, name in keys if kind == "r" and name is not None
    ]
    schemas = [
        (schema, role_oid(acl.owner((kind, schema, None))), acl.acl_items((kind, schema, None)))
        for kind, schema, name in keys if kind == "n"
    ]
    grants = _table_grants(acl)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, rows in (("pg_roles", roles), ("pg_auth_members", members),
                            ("relation_acl", relations), ("namespace_acl", schemas),
                            ("table_grants", grants)):
            con.execute(f"DELETE FROM {SCHEMA}.{table}")
            if rows:
                values = ", ".join(
                    "(" + ", ".join(_value(v) for v in row) + ")" for row in rows
                )
                con.execute(f"INSERT INTO {SCHEMA}.{table} VALUES {values}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _table_grants(acl: Acl) -> list[tuple[str, ...]]:
    """Rows of information_schema.table_privileges: each owner's own privileges (as
    PostgreSQL's acldefault gives them), then what was granted."""
    rows: list[tuple[str, ...]] = []
    for schema, name in sorted(acl.relations):
        if schema == "forge_meta":
            continue
        key = ("r", schema, name)
        owner = acl.owner(key)
        hierarchy = ("YES", "NO")
        for privilege in _PRIVILEGE_NAMES.values():
            rows.append((owner, owner, schema, name, privilege, "YES",
                         hierarchy[privilege != "SELECT"]))
        for grant in acl.grants.get(key, ()):
            if grant.privilege not in _PRIVILEGE_NAMES:
                continue  # USAGE on a sequence: information_schema.usage_privileges' row
            rows.append((grant.grantor, grant.grantee or "PUBLIC", schema, name,
                         _PRIVILEGE_NAMES[grant.privilege], "YES" if grant.grantable else "NO",
                         hierarchy[grant.privilege != "r"]))
    return rows


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]::VARCHAR[]"
    if value is None:
        return "NULL"
    return literal(value)
