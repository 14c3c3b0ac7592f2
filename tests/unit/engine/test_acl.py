"""Privilege decisions on an Acl: inherited roles, owners, grant options, aclitem text."""

from __future__ import annotations

from forge_sql.storage.acl import Acl, Grant, Membership, Role


def _acl() -> Acl:
    acl = Acl()
    for name, superuser, inherit in (("forge", True, True), ("admin", True, True),
                                     ("alice", False, True), ("bob", False, True),
                                     ("team", False, True), ("loner", False, False),
                                     ("pg_read_all_data", False, True),
                                     ("pg_write_all_data", False, True)):
        acl.roles[name] = Role(name, True, superuser, inherit)
    acl.members = [Membership("team", "bob", "admin", False),
                   Membership("team", "loner", "admin", False),
                   Membership("pg_read_all_data", "alice", "admin", False)]
    acl.relations = {("public", "t"): None, ("s", "u"): None}
    acl.schemas = frozenset({"public", "s"})
    acl.owners = {("r", "public", "t"): "team"}
    acl.grants = {("r", "s", "u"): [Grant("bob", "r", "forge", True), Grant("", "a", "forge",
                                                                            False)]}
    return acl


def test_members_of_the_owning_role_own_the_table() -> None:
    acl = _acl()
    assert acl.owns("bob", ("r", "public", "t"))
    assert not acl.owns("alice", ("r", "public", "t"))
    assert acl.owns("admin", ("r", "public", "t"))  # superuser
    # NOINHERIT: a member, but without the role's privileges (PostgreSQL 15).
    assert acl.is_member("loner", "team") and not acl.owns("loner", ("r", "public", "t"))


def test_grants_public_and_predefined_roles() -> None:
    acl = _acl()
    key = ("r", "s", "u")
    assert acl.has("bob", key, "r") and acl.can_grant("bob", key, "r")
    assert acl.has("carol", key, "a") and not acl.has("carol", key, "r")  # PUBLIC's insert
    assert acl.has("alice", key, "r") and not acl.has("alice", key, "w")  # pg_read_all_data
    assert acl.has("alice", ("n", "s", None), "U")
    assert not acl.has("bob", ("n", "s", None), "U")
    assert not acl.can_grant("carol", key, "a")


def test_aclitem_text() -> None:
    acl = _acl()
    assert acl.acl_items(("r", "public", "t")) is None  # never granted: owner's defaults
    assert acl.acl_items(("r", "s", "u")) == ["forge=arwdDxt/forge", "=a/forge", "bob=r*/forge"]
    acl.grants[("r", "public", "t")] = [Grant("Odd Name", "w", "team", False)]
    assert acl.acl_items(("r", "public", "t")) == ["team=arwdDxt/team", '"Odd Name"=w/team']
