"""CREATE/ALTER/DROP ROLE, GRANT and REVOKE (of roles and of privileges) and ALTER DEFAULT
PRIVILEGES, which DuckDB's parser does not know: parsed from the token stream and written
to the lake's ``forge_meta`` role tables in the session's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from forge_sql import errors
from forge_sql.engine.connection import Connection
from forge_sql.engine.grants import DEFAULT_PATH, Checker
from forge_sql.engine.relations import Name
from forge_sql.engine.result import TagResult
from forge_sql.scram import make_verifier, parse_verifier
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement, Token, identifier
from forge_sql.storage import acl as acls
from forge_sql.storage import meta
from forge_sql.storage.acl import RELATION, SCHEMA, Acl

_ROLE_OBJECTS = ("ROLE", "USER", "GROUP")
# Role attributes forge-sql has no use for, accepted in their negative form only.
_NEGATIVE_ONLY = {
    "NOCREATEDB": "CREATEDB",
    "NOCREATEROLE": "CREATEROLE",
    "NOREPLICATION": "REPLICATION",
    "NOBYPASSRLS": "BYPASSRLS",
}


@dataclass(slots=True)
class _Words:
    """A cursor over a statement's tokens."""

    statement: Statement
    i: int = 0

    @property
    def tokens(self) -> tuple[Token, ...]:
        return self.statement.tokens

    def peek(self, ahead: int = 0) -> str:
        index = self.i + ahead
        return self.tokens[index].upper if index < len(self.tokens) else ""

    def take(self, *words: str) -> bool:
        if self.peek() in words:
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> str:
        word = self.peek()
        if word not in words:
            raise self.error()
        self.i += 1
        return word

    def name(self) -> str:
        if self.i >= len(self.tokens) or self.tokens[self.i].kind not in ("identifier", "keyword"):
            raise self.error()
        token = self.tokens[self.i]
        self.i += 1
        return identifier(self.statement, token)

    def qualified(self) -> Name:
        parts = [self.name().lower()]
        while self.peek() == ".":
            self.i += 1
            parts.append(self.name().lower())
        return Name(*["", "", *parts][-3:])

    def string(self) -> str:
        if self.i >= len(self.tokens) or self.tokens[self.i].kind != "string_const":
            raise self.error()
        token = self.tokens[self.i]
        self.i += 1
        return _literal(token.text)

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def error(self) -> errors.SyntaxError_:
        near = self.tokens[self.i].text if self.i < len(self.tokens) else "end of input"
        where = self.tokens[self.i].start if self.i < len(self.tokens) else len(
            self.statement.sql)
        return errors.SyntaxError_(f'syntax error at or near "{near}"', position=where + 1)


def _literal(text: str) -> str:
    if text.startswith("$"):
        tag = text[: text.index("$", 1) + 1]
        return text[len(tag) : -len(tag)]
    if text[:1] in ("E", "e"):
        body = text[2:-1]
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape").replace(
            "''", "'")
    return text[1:-1].replace("''", "'")


@dataclass(slots=True)
class _RoleOptions:
    login: bool | None = None
    superuser: bool | None = None
    inherit: bool | None = None
    password: str | None = None
    password_given: bool = False
    in_roles: list[str] = field(default_factory=list)


class RoleCommands:
    """Runs role and privilege commands for ``user`` over the session's cursor."""

    def __init__(
        self, connection: Connection, lake: str, checker: Checker,
        path: Callable[[], Sequence[str]] = lambda: DEFAULT_PATH,
    ) -> None:
        self._connection = connection
        self._path = path  # the session's search order (engine.search_path)
        self._meta = f"{quote_ident(lake)}.{meta.SCHEMA}"
        self._checker = checker

    def run(self, statement: Statement, acl: Acl, user: str) -> TagResult:
        words = _Words(statement)
        first = words.peek()
        if first in ("CREATE", "ALTER", "DROP") and words.peek(1) in _ROLE_OBJECTS:
            words.i = 2
            if first == "ALTER":
                return self._alter_role(words, acl, user)
            self._superuser_only(acl, user, "roles")
            if first == "CREATE":
                return self._create_role(words, acl, statement.words[1] == "USER")
            return self._drop_role(words, acl)
        if first == "ALTER":  # ALTER DEFAULT PRIVILEGES
            words.i = 3
            return self._default_privileges(words, acl, user)
        return self._grant(words, acl, user)

    # -- roles ------------------------------------------------------------------------
    @staticmethod
    def _superuser_only(acl: Acl, user: str, what: str) -> None:
        if not acl.is_superuser(user):
            raise errors.InsufficientPrivilege(
                f"permission denied to manage {what}",
                detail="Only superusers may create, alter or drop roles and grant them.",
            )

    def _options(self, words: _Words) -> _RoleOptions:
        options = _RoleOptions()
        words.take("WITH")
        while not words.at_end():
            word = words.expect(
                "LOGIN", "NOLOGIN", "SUPERUSER", "NOSUPERUSER", "INHERIT", "NOINHERIT",
                "PASSWORD", "ENCRYPTED", "IN", "CONNECTION", "VALID",
                *_NEGATIVE_ONLY, *_NEGATIVE_ONLY.values(),
            )
            if word in ("LOGIN", "NOLOGIN"):
                options.login = word == "LOGIN"
            elif word in ("SUPERUSER", "NOSUPERUSER"):
                options.superuser = word == "SUPERUSER"
            elif word in ("INHERIT", "NOINHERIT"):
                options.inherit = word == "INHERIT"
            elif word in ("PASSWORD", "ENCRYPTED"):
                if word == "ENCRYPTED":
                    words.expect("PASSWORD")
                options.password_given = True
                options.password = None if words.take("NULL") else _verifier(words.string())
            elif word == "IN":
                words.expect("ROLE", "GROUP")
                options.in_roles.append(words.name())
                while words.take(","):
                    options.in_roles.append(words.name())
            elif word in _NEGATIVE_ONLY:
                pass  # what forge-sql roles are anyway
            else:
                raise errors.FeatureNotSupported(f"role option {word} is not supported")
        return options

    def _create_role(self, words: _Words, acl: Acl, user: bool) -> TagResult:
        name = words.name()
        if name.lower().startswith("pg_"):
            raise errors.ReservedName(
                f'role name "{name}" is reserved',
                detail='Role names starting with "pg_" are reserved.',
            )
        if name in acl.roles:
            raise errors.DuplicateObject(f'role "{name}" already exists')
        options = self._options(words)
        for role in options.in_roles:
            _existing(acl, role)
        self._connection.execute(
            f"INSERT INTO {self._meta}.roles (name, login, superuser, inherit, password) "
            "VALUES (?, ?, ?, ?, ?)",
            [name, options.login if options.login is not None else user,
             bool(options.superuser), options.inherit is not False, options.password],
        )
        for role in options.in_roles:
            self._add_member(role, name, acls.BOOTSTRAP)
        return TagResult("CREATE ROLE")

    def _alter_role(self, words: _Words, acl: Acl, user: str) -> TagResult:
        itself = words.take("CURRENT_USER", "SESSION_USER", "CURRENT_ROLE")
        name = user if itself else words.name()
        role = _existing(acl, name)
        if role.configured:
            raise errors.InsufficientPrivilege(
                f'role "{name}" is defined in the server configuration',
                hint="Change it in the configuration file ([users.NAME]) and restart.",
            )
        if words.take("RENAME"):
            raise errors.FeatureNotSupported("ALTER ROLE ... RENAME is not supported")
        options = self._options(words)
        if options.in_roles:
            raise words.error()
        changes_only_password = (options.login, options.superuser, options.inherit) == (
            None, None, None)
        if not (name == user and changes_only_password):
            # PostgreSQL lets a role change its own password (psql's \password).
            self._superuser_only(acl, user, "roles")
        changes: list[str] = []
        values: list[object] = []
        for column, value in (("login", options.login), ("superuser", options.superuser),
                              ("inherit", options.inherit)):
            if value is not None:
                changes.append(f"{column} = ?")
                values.append(value)
        if options.password_given:
            changes.append("password = ?")
            values.append(options.password)
        if changes:
            self._connection.execute(
                f"UPDATE {self._meta}.roles SET {', '.join(changes)} WHERE name = ?",
                [*values, name],
            )
        return TagResult("ALTER ROLE")

    def _drop_role(self, words: _Words, acl: Acl) -> TagResult:
        if_exists = words.take("IF")
        if if_exists:
            words.expect("EXISTS")
        names = [words.name()]
        while words.take(","):
            names.append(words.name())
        for name in names:
            role = acl.roles.get(name)
            if role is None:
                if if_exists:
                    continue
                raise errors.UndefinedObject(f'role "{name}" does not exist')
            if role.configured:
                raise errors.InsufficientPrivilege(
                    f'role "{name}" is defined in the server configuration'
                    if name not in acls.PREDEFINED and name != acls.BOOTSTRAP
                    else f'cannot drop role "{name}"'
                )
            owned = [k for k, owner in acl.owners.items() if owner == name]
            granted = [k for k, gs in acl.grants.items()
                       if any(name in (g.grantee, g.grantor) for g in gs)]
            if owned or granted:
                details = [f"owner of {_describe(k)}" for k in owned]
                details += [f"privileges for {_describe(k)}" for k in granted]
                raise errors.DependentObjectsStillExist(
                    f'role "{name}" cannot be dropped because some objects depend on it',
                    detail="\n".join(sorted(set(details))),
                )
            self._connection.execute(f"DELETE FROM {self._meta}.roles WHERE name = ?", [name])
            self._connection.execute(
                f"DELETE FROM {self._meta}.role_members WHERE role = ? OR member = ?",
                [name, name],
            )
            self._connection.execute(
                f"DELETE FROM {self._meta}.default_privileges WHERE creator = ? OR grantee = ?",
                [name, name],
            )
        return TagResult("DROP ROLE")

    def _add_member(self, role: str, member: str, grantor: str, admin: bool = False) -> None:
        self._connection.execute(
            f"DELETE FROM {self._meta}.role_members WHERE role = ? AND member = ?",
            [role, member],
        )
        self._connection.execute(
            f"INSERT INTO {self._meta}.role_members VALUES (?, ?, ?, ?)",
            [role, member, grantor, admin],
        )

    # -- GRANT / REVOKE -----------------------------------------------------------------
    def _grant(self, words: _Words, acl: Acl, user: str) -> TagResult:
        verb = words.expect("GRANT", "REVOKE")
        revoke = verb == "REVOKE"
        option_only = False
        if revoke and words.peek() in ("GRANT", "ADMIN") and words.peek(1) == "OPTION":
            option_only = True
            words.i += 3  # GRANT OPTION FOR / ADMIN OPTION FOR
        start = words.i
        depth = 0
        on = None
        for index in range(start, len(words.tokens)):
            token = words.tokens[index]
            depth += token.text.count("(") - token.text.count(")")
            if depth == 0 and token.upper in ("TO", "FROM"):
                break
            if depth == 0 and token.upper == "ON":
                on = index
                break
        if on is None:
            return self._grant_roles(words, acl, user, revoke, option_only)
        letters, kind = _privileges(words, on)
        words.i = on + 1
        if words.peek() == "SEQUENCE":  # USAGE, SELECT, UPDATE on a relation: a sequence
            words.i += 1
            kind = RELATION
            if letters == acls.ALL_TABLE:
                letters = "rwU"  # ALL on a sequence: PostgreSQL's rwU
        keys = self._objects(words, acl, kind)
        grantees, grantable = _recipients(words, acl, user, revoke, "GRANT")
        for key in keys:
            self._change(acl, user, key, letters, grantees, revoke, grantable, option_only)
        return TagResult(verb)

    def _grant_roles(
        self, words: _Words, acl: Acl, user: str, revoke: bool, admin_only: bool
    ) -> TagResult:
        self._superuser_only(acl, user, "role memberships")
        roles = [words.name()]
        while words.take(","):
            roles.append(words.name())
        members, admin = _recipients(words, acl, user, revoke, "ADMIN", public=False)
        for role in roles:
            _existing(acl, role)
            for member in members:
                if revoke:
                    if admin_only:
                        self._connection.execute(
                            f"UPDATE {self._meta}.role_members SET admin_option = false "
                            "WHERE role = ? AND member = ?", [role, member])
                    else:
                        self._connection.execute(
                            f"DELETE FROM {self._meta}.role_members WHERE role = ? AND member = ?",
                            [role, member])
                    continue
                if member == role or acl.is_member(role, member):
                    raise errors.InvalidGrantOperation(
                        f'role "{member}" is a member of role "{role}"'
                        if member != role else f'role "{role}" cannot be a member of itself'
                    )
                self._add_member(role, member, user, admin)
        return TagResult("REVOKE ROLE" if revoke else "GRANT ROLE")

    def _objects(self, words: _Words, acl: Acl, kind: str) -> list[acls.ObjectKey]:
        """The objects after ON: [TABLE] names, ALL TABLES IN SCHEMA s, or SCHEMA s."""
        if words.take("SCHEMA"):
            if kind == RELATION:
                raise errors.InvalidGrantOperation("invalid privilege type for schema")
            names = [words.name().lower()]
            while words.take(","):
                names.append(words.name().lower())
            for name in names:
                if name not in acl.schemas or name == meta.SCHEMA:
                    raise errors.UndefinedSchema(f'schema "{name}" does not exist')
            return [(SCHEMA, name, None) for name in names]
        if kind == SCHEMA:
            raise errors.InvalidGrantOperation("invalid privilege type for relation")
        if words.take("ALL"):
            words.expect("TABLES")
            words.expect("IN")
            words.expect("SCHEMA")
            schemas = [words.name().lower()]
            while words.take(","):
                schemas.append(words.name().lower())
            keys: list[acls.ObjectKey] = []
            for schema in schemas:
                if schema not in acl.schemas or schema == meta.SCHEMA:
                    raise errors.UndefinedSchema(f'schema "{schema}" does not exist')
                keys += [(RELATION, s, n) for s, n in sorted(acl.relations) if s == schema]
            return keys
        words.take("TABLE")
        keys = []
        while True:
            relation = words.qualified()
            found = self._checker.resolve(acl, relation, self._path())
            if not isinstance(found, tuple) or found not in acl.relations or (
                found[0] == meta.SCHEMA
            ):
                raise errors.UndefinedTable(f'relation "{relation}" does not exist')
            keys.append((RELATION, *found))
            if not words.take(","):
                return keys

    def _change(
        self,
        acl: Acl,
        user: str,
        key: acls.ObjectKey,
        letters: str,
        grantees: list[str],
        revoke: bool,
        grantable: bool,
        option_only: bool,
    ) -> None:
        granting = [letter for letter in letters if acl.can_grant(user, key, letter)]
        if not granting:
            kind, schema, name = key
            what = f"schema {schema}" if kind == SCHEMA else (
                f"{'view' if acl.relations.get((schema, name or '')) else 'table'} {name}")
            raise errors.InsufficientPrivilege(f"permission denied for {what}")
        self._materialize(acl, key)
        # PostgreSQL records the owner as grantor when a superuser or member of the owning
        # role grants (aclchk.c select_best_grantor).
        grantor = acl.owner(key) if acl.owns(user, key) else user
        where = "object_kind = ? AND schema_name = ? AND object_name IS NOT DISTINCT FROM ?"
        for grantee in grantees:
            for letter in granting:
                args = [*key, grantee, letter]
                if revoke:
                    by = "" if acl.owns(user, key) else " AND grantor = ?"
                    extra = [] if acl.owns(user, key) else [user]
                    if option_only:
                        sql = (f"UPDATE {self._meta}.privileges SET grantable = false WHERE "
                               f"{where} AND grantee = ? AND privilege = ?{by}")
                    else:
                        sql = (f"DELETE FROM {self._meta}.privileges WHERE {where} "
                               f"AND grantee = ? AND privilege = ?{by}")
                    self._connection.execute(sql, [*args, *extra])
                    continue
                self._connection.execute(
                    f"DELETE FROM {self._meta}.privileges WHERE {where} AND grantee = ? "
                    "AND privilege = ? AND grantor = ? AND NOT grantable AND ?",
                    [*args, grantor, grantable],
                )
                self._connection.execute(
                    f"INSERT INTO {self._meta}.privileges SELECT ?, ?, ?, ?, ?, ?, ? "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {self._meta}.privileges WHERE {where} "
                    "AND grantee = ? AND privilege = ? AND grantor = ?)",
                    [*args, grantor, grantable, *args, grantor],
                )

    def _materialize(self, acl: Acl, key: acls.ObjectKey) -> None:
        """Schema public's implicit ACL becomes rows before it first changes."""
        if key != (SCHEMA, "public", None) or key in acl.owners:
            return
        self._connection.execute(
            f"INSERT INTO {self._meta}.owners VALUES ('n', 'public', NULL, ?)", [acls.BOOTSTRAP]
        )
        for grant in acl.grants.get(key, ()):
            self._connection.execute(
                f"INSERT INTO {self._meta}.privileges VALUES ('n', 'public', NULL, ?, ?, ?, ?)",
                [grant.grantee, grant.privilege, grant.grantor, grant.grantable],
            )

    # -- ALTER DEFAULT PRIVILEGES -------------------------------------------------------
    def _default_privileges(self, words: _Words, acl: Acl, user: str) -> TagResult:
        creators = [user]
        schemas: list[str | None] = [None]
        if words.take("FOR"):
            words.expect("ROLE", "USER")
            creators = [words.name()]
            while words.take(","):
                creators.append(words.name())
        if words.take("IN"):
            words.expect("SCHEMA")
            schemas = [words.name().lower()]
            while words.take(","):
                schemas.append(words.name().lower())
        for creator in creators:
            _existing(acl, creator)
            if creator != user and not acl.is_superuser(user) and not acl.is_member(
                    user, creator):
                raise errors.InsufficientPrivilege(
                    f'permission denied to change default privileges of role "{creator}"')
        verb = words.expect("GRANT", "REVOKE")
        revoke = verb == "REVOKE"
        if revoke and words.peek() == "GRANT" and words.peek(1) == "OPTION":
            raise errors.FeatureNotSupported("REVOKE GRANT OPTION FOR in default privileges")
        on = next((i for i in range(words.i, len(words.tokens))
                   if words.tokens[i].upper == "ON"), None)
        if on is None:
            raise words.error()
        letters, kind = _privileges(words, on)
        words.i = on + 1
        words.expect("TABLES")
        if kind == SCHEMA:
            raise errors.InvalidGrantOperation("invalid privilege type for relation")
        grantees, grantable = _recipients(words, acl, user, revoke, "GRANT")
        for creator in creators:
            for schema in schemas:
                for grantee in grantees:
                    for letter in letters:
                        self._connection.execute(
                            f"DELETE FROM {self._meta}.default_privileges WHERE creator = ? "
                            "AND schema_name IS NOT DISTINCT FROM ? AND grantee = ? "
                            "AND privilege = ?",
                            [creator, schema, grantee, letter],
                        )
                        if not revoke:
                            self._connection.execute(
                                f"INSERT INTO {self._meta}.default_privileges "
                                "VALUES (?, ?, ?, ?, ?)",
                                [creator, schema, grantee, letter, grantable],
                            )
        return TagResult("ALTER DEFAULT PRIVILEGES")


def _verifier(password: str) -> str:
    """What PostgreSQL stores with password_encryption = scram-sha-256: a given verifier
    as is, clear text hashed."""
    if password.startswith("SCRAM-SHA-256$"):
        try:
            parse_verifier(password)
        except ValueError as exc:
            raise errors.InvalidParameterValue(f"invalid SCRAM secret: {exc}") from None
        return password
    if not password:
        raise errors.InvalidParameterValue("empty password")
    return make_verifier(password)


def _existing(acl: Acl, name: str) -> acls.Role:
    role = acl.roles.get(name)
    if role is None:
        raise errors.UndefinedObject(f'role "{name}" does not exist')
    return role


def _privileges(words: _Words, on: int) -> tuple[str, str]:
    """The aclitem letters of the privilege list before ``on``, and the object kind they
    fit ('' for ALL, which fits both)."""
    letters = ""
    kind = ""
    while words.i < on:
        word = words.name().upper()
        if word == "ALL":
            words.take("PRIVILEGES")
            letters, kind = "*", ""
        elif word in acls.TABLE_PRIVILEGES:
            letters += acls.TABLE_PRIVILEGES[word]
            kind = RELATION
        elif word in acls.SCHEMA_PRIVILEGES:
            letters += acls.SCHEMA_PRIVILEGES[word]
            kind = SCHEMA
        else:
            raise errors.SyntaxError_(f'unrecognized privilege type "{word.lower()}"')
        if words.peek() == "(":
            raise errors.FeatureNotSupported("column privileges are not supported")
        if words.i < on:
            words.expect(",")
    if letters == "*":
        on_schema = words.tokens[on + 1].upper == "SCHEMA" if on + 1 < len(words.tokens) else False
        return (acls.ALL_SCHEMA, SCHEMA) if on_schema else (acls.ALL_TABLE, RELATION)
    return letters, kind


def _recipients(
    words: _Words, acl: Acl, user: str, revoke: bool, option: str, public: bool = True
) -> tuple[list[str], bool]:
    """``TO|FROM role [, ...] [WITH GRANT|ADMIN OPTION] [CASCADE|RESTRICT]``, the end of
    every GRANT and REVOKE: the roles, and whether the option was given."""
    words.expect("FROM" if revoke else "TO")
    roles = _grantees(words, acl, user, public=public)
    with_option = False
    if not revoke and words.take("WITH"):
        words.expect(option)
        words.expect("OPTION")
        with_option = True
    words.take("CASCADE", "RESTRICT")
    if words.peek() == "GRANTED":
        raise errors.FeatureNotSupported("GRANTED BY is not supported")
    if not words.at_end():
        raise words.error()
    return roles, with_option


def _grantees(words: _Words, acl: Acl, user: str, public: bool = True) -> list[str]:
    names: list[str] = []
    while True:
        words.take("GROUP")
        if public and words.peek() == "PUBLIC":
            words.i += 1
            names.append(acls.PUBLIC)
        elif words.peek() in ("CURRENT_USER", "CURRENT_ROLE", "SESSION_USER"):
            words.i += 1
            names.append(user)
        else:
            name = words.name()
            _existing(acl, name)
            names.append(name)
        if not words.take(","):
            return names


def _describe(key: acls.ObjectKey) -> str:
    kind, schema, name = key
    return f"schema {schema}" if kind == SCHEMA else f"table {schema}.{name}"
