"""Roles, memberships, owners and granted privileges as one immutable snapshot (``Acl``),
read from the lake's ``forge_meta`` tables and the configuration, and the questions
PostgreSQL's aclchk.c answers on it: may this role do that to this object?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import meta

BOOTSTRAP = "forge"  # PostgreSQL's bootstrap superuser (OID 10): owns what has no owner row
PUBLIC = ""  # grantee of GRANT ... TO PUBLIC, as aclitem text writes it ("=r/alice")
READ_ALL = "pg_read_all_data"
WRITE_ALL = "pg_write_all_data"
PREDEFINED = (READ_ALL, WRITE_ALL)

# aclitem letters (PostgreSQL docs 5.8, Table 5.1), in the order aclitem text lists them.
TABLE_PRIVILEGES = {
    "SELECT": "r",
    "INSERT": "a",
    "UPDATE": "w",
    "DELETE": "d",
    "TRUNCATE": "D",
    "REFERENCES": "x",
    "TRIGGER": "t",
}
SCHEMA_PRIVILEGES = {"USAGE": "U", "CREATE": "C"}
ALL_TABLE = "arwdDxt"
ALL_SCHEMA = "UC"
LETTER_NAMES = {v: k for k, v in (TABLE_PRIVILEGES | SCHEMA_PRIVILEGES).items()}
_ORDER = "arwdDxtUC"

RELATION = "r"  # object kinds of forge_meta.privileges / owners
SCHEMA = "n"
ObjectKey = tuple[str, str, str | None]  # (kind, schema, relation name or None)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    login: bool
    superuser: bool
    inherit: bool = True
    password: str | None = None  # SCRAM-SHA-256 verifier
    configured: bool = False  # from the config file (wins over the lake's row)


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: str
    privilege: str  # one aclitem letter
    grantor: str
    grantable: bool


@dataclass(frozen=True, slots=True)
class Membership:
    role: str
    member: str
    grantor: str
    admin_option: bool


@dataclass(frozen=True, slots=True)
class DefaultGrant:
    creator: str
    schema: str | None
    grantee: str
    privilege: str
    grantable: bool


@dataclass(slots=True)
class Acl:
    """Everything privilege checks consult; replaced whole when the lake changes."""

    roles: dict[str, Role] = field(default_factory=dict)
    members: list[Membership] = field(default_factory=list)
    grants: dict[ObjectKey, list[Grant]] = field(default_factory=dict)
    owners: dict[ObjectKey, str] = field(default_factory=dict)
    defaults: list[DefaultGrant] = field(default_factory=list)
    relations: dict[tuple[str, str], str | None] = field(default_factory=dict)  # view: SQL
    schemas: frozenset[str] = frozenset()
    public_relations: frozenset[tuple[str, str]] = frozenset()  # external datasets
    oids: dict[int, tuple[str, str]] = field(default_factory=dict)  # pg_class OIDs
    schema_oids: dict[int, str] = field(default_factory=dict)  # pg_namespace OIDs
    catalog_names: frozenset[str] = frozenset()  # the catalog emulation's objects
    view_reads: dict[str, list[Any]] = field(default_factory=dict)  # grants.view_reads
    _closure: dict[str, frozenset[str]] = field(default_factory=dict)

    # -- roles ------------------------------------------------------------------------
    def is_superuser(self, role: str) -> bool:
        found = self.roles.get(role)
        return found is not None and found.superuser

    def member_of(self, role: str) -> list[str]:
        return sorted(m.role for m in self.members if m.member == role)

    def effective(self, role: str) -> frozenset[str]:
        """The roles whose privileges ``role`` uses: itself, PUBLIC, and the roles it is a
        member of through roles that inherit (PostgreSQL's roles_is_member_of)."""
        cached = self._closure.get(role)
        if cached is not None:
            return cached
        seen = {role}
        todo = [role]
        while todo:
            current = todo.pop()
            found = self.roles.get(current)
            if found is not None and not found.inherit:
                continue  # NOINHERIT: its memberships give no privileges (PostgreSQL 15)
            for m in self.members:
                if m.member == current and m.role not in seen:
                    seen.add(m.role)
                    todo.append(m.role)
        seen.add(PUBLIC)
        result = frozenset(seen)
        self._closure[role] = result
        return result

    def is_member(self, role: str, of: str) -> bool:
        """pg_has_role(role, of, 'MEMBER'): membership whatever the inherit flags."""
        seen, todo = {role}, [role]
        while todo:
            current = todo.pop()
            if current == of:
                return True
            for m in self.members:
                if m.member == current and m.role not in seen:
                    seen.add(m.role)
                    todo.append(m.role)
        return False

    # -- objects ----------------------------------------------------------------------
    def owner(self, key: ObjectKey) -> str:
        return self.owners.get(key, BOOTSTRAP)

    def owns(self, role: str, key: ObjectKey) -> bool:
        return self.is_superuser(role) or self.owner(key) in self.effective(role)

    def has(self, role: str, key: ObjectKey, letter: str) -> bool:
        """Whether ``role`` holds ``letter`` on the object (superuser, owner, grant)."""
        if self.owns(role, key):
            return True
        roles = self.effective(role)
        kind, schema, name = key
        if kind == RELATION and name is not None:
            if letter == "r" and (READ_ALL in roles or (schema, name) in self.public_relations):
                return True
            if letter in "awd" and WRITE_ALL in roles:
                return True
        if kind == SCHEMA and letter == "U" and (READ_ALL in roles or WRITE_ALL in roles):
            return True
        return any(g.privilege == letter and g.grantee in roles for g in self.grants.get(key, ()))

    def can_grant(self, role: str, key: ObjectKey, letter: str) -> bool:
        """Owner, superuser, or a holder of the privilege WITH GRANT OPTION."""
        if self.owns(role, key):
            return True
        roles = self.effective(role)
        return any(
            g.privilege == letter and g.grantable and g.grantee in roles
            for g in self.grants.get(key, ())
        )

    def any_privilege(self, role: str, key: ObjectKey) -> bool:
        letters = ALL_TABLE if key[0] == RELATION else ALL_SCHEMA
        return any(self.has(role, key, letter) for letter in letters)

    def acl_items(self, key: ObjectKey) -> list[str] | None:
        """relacl / nspacl: aclitem texts, or None when nothing was ever granted (the
        owner's implicit rights, which psql shows as an empty cell)."""
        grants = self.grants.get(key)
        if not grants:
            return None
        owner = self.owner(key)
        everything = ALL_TABLE if key[0] == RELATION else ALL_SCHEMA
        items: dict[tuple[str, str], str] = {(owner, owner): everything}
        for g in sorted(grants, key=lambda g: _ORDER.index(g.privilege)):
            letters = items.get((g.grantee, g.grantor), "")
            if g.privilege not in letters:
                items[(g.grantee, g.grantor)] = letters + g.privilege + ("*" if g.grantable else "")
        return [f"{_aclname(grantee)}={letters}/{_aclname(grantor)}"
                for (grantee, grantor), letters in items.items()]


def _aclname(role: str) -> str:
    """aclitem text quotes names that are not plain lower-case identifiers."""
    if role == PUBLIC or (role.replace("_", "a").isalnum() and role == role.lower()):
        return role
    return '"' + role.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class ConfiguredUser:
    """What the acl needs of a ``[users.NAME]`` entry of the configuration."""

    password: str
    superuser: bool
    roles: tuple[str, ...] = ()


def load(
    con: duckdb.DuckDBPyConnection,
    lake: str,
    configured: Mapping[str, ConfiguredUser],
    public_relations: Iterable[tuple[str, str]] = (),
) -> Acl:
    """Read the lake's role tables (committed state) and merge the configured users."""
    q = f"{quote_ident(lake)}.{meta.SCHEMA}"
    acl = Acl()
    acl.roles[BOOTSTRAP] = Role(BOOTSTRAP, True, True, configured=True)
    for name in PREDEFINED:
        acl.roles[name] = Role(name, False, False, configured=True)
    for name, login, superuser, inherit, password in con.execute(
        f"SELECT name, login, superuser, inherit, password FROM {q}.roles"
    ).fetchall():
        if name not in acl.roles:
            acl.roles[name] = Role(name, login, superuser, inherit, password)
    for name, user in configured.items():
        acl.roles[name] = Role(name, True, user.superuser, True, user.password, configured=True)
    members = {
        (role, member): Membership(role, member, grantor, admin)
        for role, member, grantor, admin in con.execute(
            f"SELECT role, member, grantor, admin_option FROM {q}.role_members"
        ).fetchall()
    }
    for name, user in configured.items():
        for role in user.roles:
            members.setdefault((role, name), Membership(role, name, BOOTSTRAP, False))
    acl.members = [m for m in members.values() if m.role in acl.roles]
    grants: dict[ObjectKey, list[Grant]] = defaultdict(list)
    for kind, schema, name, grantee, privilege, grantor, grantable in con.execute(
        f"SELECT object_kind, schema_name, object_name, grantee, privilege, grantor, "
        f"grantable FROM {q}.privileges"
    ).fetchall():
        grants[(kind, schema, name)].append(Grant(grantee, privilege, grantor, grantable))
    acl.grants = dict(grants)
    acl.owners = {
        (kind, schema, name): owner
        for kind, schema, name, owner in con.execute(
            f"SELECT object_kind, schema_name, object_name, owner FROM {q}.owners"
        ).fetchall()
    }
    acl.defaults = [
        DefaultGrant(*row)
        for row in con.execute(
            f"SELECT creator, schema_name, grantee, privilege, grantable "
            f"FROM {q}.default_privileges"
        ).fetchall()
    ]
    relations: dict[tuple[str, str], str | None] = {}
    # duckdb_columns(), not duckdb_tables(), which asks DuckLake for every table's
    # statistics; it lists views too, which the next query marks as views.
    for schema, name in con.execute(
        "SELECT DISTINCT lower(schema_name), lower(table_name) FROM duckdb_columns() "
        "WHERE database_name = ?",
        [lake],
    ).fetchall():
        relations[(schema, name)] = None
    for schema, name, sql in con.execute(
        "SELECT lower(schema_name), lower(view_name), sql FROM duckdb_views() "
        "WHERE database_name = ? AND NOT internal AND NOT temporary",
        [lake],
    ).fetchall():
        relations[(schema, name)] = sql or ""
    # Sequences take privileges as relations do (USAGE, SELECT, UPDATE), and their creator
    # owns them (forge_sql.engine.sequence_commands records it with the sequence).
    for schema, name, owner in con.execute(
        f"SELECT lower(schema_name), lower(sequence_name), owner FROM {q}.sequences"
    ).fetchall():
        relations[(schema, name)] = None
        if owner is not None:
            acl.owners.setdefault((RELATION, schema, name), owner)
    acl.relations = relations
    acl.schemas = frozenset(
        name.lower()
        for (name,) in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [lake]
        ).fetchall()
    )
    # External datasets are the declared sources every client may read (DESIGN.md).
    recorded = con.execute(f"SELECT schema_name, view_name FROM {q}.external_datasets").fetchall()
    acl.public_relations = frozenset(
        (s.lower(), n.lower()) for s, n in [*public_relations, *recorded]
    )
    if (SCHEMA, "public", None) not in acl.owners:
        # Until its ACL first changes, schema public has PostgreSQL 14's: USAGE and CREATE
        # for PUBLIC (docs/security.md says why CREATE stays).
        acl.grants[(SCHEMA, "public", None)] = [
            Grant(PUBLIC, "U", BOOTSTRAP, False),
            Grant(PUBLIC, "C", BOOTSTRAP, False),
        ]
    return acl
