"""The relations: PostgreSQL 16's columns, the lake's objects with consistent OIDs, and the
server's own bookkeeping schema hidden."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.catalog import PROVIDED
from tests.unit.catalog.conftest import Query

# Column lists of PostgreSQL 16 (catalogs chapter of its documentation).
POSTGRES_COLUMNS = {
    "pg_namespace": "oid nspname nspowner nspacl",
    "pg_class": "oid relname relnamespace reltype reloftype relowner relam relfilenode "
    "reltablespace relpages reltuples relallvisible reltoastrelid relhasindex relisshared "
    "relpersistence relkind relnatts relchecks relhasrules relhastriggers relhassubclass "
    "relrowsecurity relforcerowsecurity relispopulated relreplident relispartition "
    "relrewrite relfrozenxid relminmxid relacl reloptions relpartbound",
    "pg_attrdef": "oid adrelid adnum adbin",
    "pg_index": "indexrelid indrelid indnatts indnkeyatts indisunique indnullsnotdistinct "
    "indisprimary indisexclusion indimmediate indisclustered indisvalid indcheckxmin "
    "indisready indislive indisreplident indkey indcollation indclass indoption indexprs "
    "indpred",
    "pg_constraint": "oid conname connamespace contype condeferrable condeferred "
    "convalidated conrelid contypid conindid conparentid confrelid confupdtype confdeltype "
    "confmatchtype conislocal coninhcount connoinherit conkey confkey conpfeqop conppeqop "
    "conffeqop confdelsetcols conexclop conbin",
    "pg_description": "objoid classoid objsubid description",
    "pg_database": "oid datname datdba encoding datlocprovider datistemplate datallowconn "
    "datconnlimit datfrozenxid datminmxid dattablespace datcollate datctype daticulocale "
    "daticurules datcollversion datacl",
    "pg_roles": "rolname rolsuper rolinherit rolcreaterole rolcreatedb rolcanlogin "
    "rolreplication rolconnlimit rolpassword rolvaliduntil rolbypassrls rolconfig oid",
    "pg_user": "usename usesysid usecreatedb usesuper userepl usebypassrls passwd valuntil "
    "useconfig",
    "pg_am": "oid amname amhandler amtype",
    "pg_proc": "oid proname pronamespace proowner prolang procost prorows provariadic "
    "prosupport prokind prosecdef proleakproof proisstrict proretset provolatile "
    "proparallel pronargs pronargdefaults prorettype proargtypes proallargtypes "
    "proargmodes proargnames proargdefaults protrftypes prosrc probin prosqlbody proconfig "
    "proacl",
    "pg_tables": "schemaname tablename tableowner tablespace hasindexes hasrules hastriggers "
    "rowsecurity",
    "pg_views": "schemaname viewname viewowner definition",
    "pg_settings": "name setting unit category short_desc extra_desc context vartype source "
    "min_val max_val enumvals boot_val reset_val sourcefile sourceline pending_restart",
    "pg_collation": "oid collname collnamespace collowner collprovider collisdeterministic "
    "collencoding collcollate collctype colliculocale collicurules collversion",
    "pg_extension": "oid extname extowner extnamespace extrelocatable extversion extconfig "
    "extcondition",
}


@pytest.mark.parametrize("relation", sorted(POSTGRES_COLUMNS))
def test_postgres_columns(lake: duckdb.DuckDBPyConnection, relation: str) -> None:
    description = lake.execute(f"SELECT * FROM server.pgc.{relation} LIMIT 0").description
    columns = [d[0] for d in description]
    assert columns == POSTGRES_COLUMNS[relation].split()


# Reached through pg_catalog too, but functions, and pg_stat_activity and pg_locks list live
# sessions (tests/integration/test_session_activity, test_lock_waits and friends cover those).
SESSION_OBJECTS = {"pg_stat_activity", "pg_locks", "version", "current_setting", "set_config"} | {
    name for name in PROVIDED if name.startswith(("pg_advisory", "pg_try_advisory"))
} | {"pg_backend_pid", "pg_cancel_backend", "pg_terminate_backend"}


@pytest.mark.parametrize("relation", sorted(PROVIDED - SESSION_OBJECTS))
def test_every_relation_answers(query: Query, relation: str) -> None:
    """Qualified and unqualified names both reach the emulation."""
    qualified = query(f"SELECT count(*) FROM pg_catalog.{relation}")
    assert qualified == query(f"SELECT count(*) FROM {relation}")


def test_namespaces_hide_bookkeeping(query: Query) -> None:
    names = dict(query("SELECT nspname, oid FROM pg_catalog.pg_namespace"))
    assert {"pg_catalog": 11, "public": 2200}.items() <= names.items()
    assert "sales" in names and "forge_meta" not in names
    assert query("SELECT count(*) FROM pg_class WHERE relname = 'constraints'") == [(0,)]
    assert query("SELECT count(*) FROM information_schema.tables "
                 "WHERE table_schema = 'forge_meta'") == [(0,)]


def test_joins_are_consistent(query: Query) -> None:
    rows = query(
        "SELECT n.nspname, c.relname, a.attnum, a.attname, t.typname, a.attnotnull "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE c.relname IN ('items', 'orders') ORDER BY c.relname, a.attnum"
    )
    assert rows == [
        ("public", "items", 1, "id", "int8", True),
        ("public", "items", 2, "name", "varchar", False),
        ("public", "items", 3, "price", "numeric", False),
        ("public", "items", 4, "team", "int8", False),
        ("sales", "orders", 1, "n", "int4", False),
    ]
    assert query("SELECT n.oid, n.* FROM pg_namespace n WHERE nspname = 'public'") == [
        (2200, 2200, "public", 10, None)]


def test_classes(query: Query) -> None:
    rows = query(
        "SELECT relname, relkind, relnatts, relhasindex, relchecks, relhastriggers, relam "
        "FROM pg_class WHERE relnamespace = 2200 ORDER BY relname"
    )
    assert rows == [
        ("cheap", "v", 2, False, 0, False, 0),
        ("items", "r", 4, True, 1, True, 2),
        ("items_lower_idx", "i", 2, False, 0, False, 403),
        ("items_name_key", "i", 1, False, 0, False, 403),
        ("items_pkey", "i", 1, False, 0, False, 403),
        ("teams", "r", 2, True, 0, True, 2),
        ("teams_pkey", "i", 1, False, 0, False, 403),
    ]
    assert query("SELECT relname FROM pg_class WHERE oid = 'pg_class'::regclass") == [
        ("pg_class",)]


def test_defaults_and_comments(query: Query) -> None:
    assert query(
        "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
    ) == [("name", "'x'::character varying")]
    assert query("SELECT obj_description('items'::regclass, 'pg_class'), "
                 "col_description('items'::regclass, 3), col_description('items'::regclass, 1)"
                 ) == [("things we sell", "in euros", None)]


def test_keys_and_indexes(query: Query) -> None:
    constraints = query(
        "SELECT conname, contype, conkey, confkey, confdeltype, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conrelid = 'items'::regclass ORDER BY conname"
    )
    assert constraints == [
        ("items_name_key", "u", [2], None, " ", "UNIQUE (name)"),
        ("items_pkey", "p", [1], None, " ", "PRIMARY KEY (id)"),
        ("items_price_check", "c", [3], None, " ", "CHECK ((price > 0))"),
        ("items_team_fkey", "f", [4], [1], "n",
         "FOREIGN KEY (team) REFERENCES teams(id) ON DELETE SET NULL"),
    ]
    assert query("SELECT confrelid = 'teams'::regclass FROM pg_constraint "
                 "WHERE contype = 'f'") == [(True,)]
    indexes = query(
        "SELECT c.relname, i.indisprimary, i.indisunique, i.indkey, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'items'::regclass ORDER BY 1"
    )
    assert indexes == [
        ("items_lower_idx", False, True, [0, 3],
         "CREATE UNIQUE INDEX items_lower_idx ON public.items USING btree "
         "(lower(name), price DESC)"),
        ("items_name_key", False, True, [2],
         "CREATE UNIQUE INDEX items_name_key ON public.items USING btree (name)"),
        ("items_pkey", True, True, [1],
         "CREATE UNIQUE INDEX items_pkey ON public.items USING btree (id)"),
    ]


def test_information_schema(query: Query) -> None:
    assert query(
        "SELECT column_name, data_type, udt_name, is_nullable, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position"
    ) == [
        ("id", "bigint", "int8", "NO", 64, 0),
        ("name", "character varying", "varchar", "YES", None, None),
        ("price", "numeric", "numeric", "YES", 10, 2),
        ("team", "bigint", "int8", "YES", 64, 0),
    ]
    assert query("SELECT table_name, table_type FROM information_schema.tables "
                 "WHERE table_schema = 'public' ORDER BY 1") == [
        ("cheap", "VIEW"), ("items", "BASE TABLE"), ("teams", "BASE TABLE")]
    assert query(
        "SELECT constraint_name, constraint_type FROM information_schema.table_constraints "
        "WHERE table_name = 'items' ORDER BY 1"
    ) == [("items_name_key", "UNIQUE"), ("items_pkey", "PRIMARY KEY"),
          ("items_price_check", "CHECK"), ("items_team_fkey", "FOREIGN KEY")]
    assert query(
        "SELECT constraint_name, column_name, ordinal_position "
        "FROM information_schema.key_column_usage WHERE table_name = 'items' ORDER BY 1"
    ) == [("items_name_key", "name", 1), ("items_pkey", "id", 1), ("items_team_fkey", "team", 1)]
    schemas = {name for (name,) in query("SELECT schema_name FROM information_schema.schemata")}
    assert {"public", "sales", "pg_catalog", "information_schema"} <= schemas
    assert "forge_meta" not in schemas
    assert query("SELECT table_name FROM information_schema.views") == [("cheap",)]


def test_listings(query: Query) -> None:
    assert query("SELECT tablename, hasindexes FROM pg_tables WHERE schemaname = 'public' "
                 "ORDER BY 1") == [("items", True), ("teams", True)]
    assert query("SELECT viewname, definition FROM pg_views") == [
        ("cheap", 'SELECT id, "name" FROM items WHERE (price < 10);')]
    assert query("SELECT indexname FROM pg_indexes WHERE tablename = 'teams'") == [
        ("teams_pkey",)]
    assert query("SELECT relname FROM pg_stat_user_tables ORDER BY 1") == [
        ("items",), ("orders",), ("teams",)]


def test_cluster_and_roles(query: Query) -> None:
    assert query("SELECT datname, pg_encoding_to_char(encoding), datallowconn "
                 "FROM pg_database") == [("forge", "UTF8", True)]
    assert query("SELECT rolname, oid FROM pg_roles ORDER BY oid")[0] == ("forge", 10)
    assert [name for (name,) in query("SELECT usename FROM pg_user")] == ["forge", "alice"]
    assert query("SELECT pg_get_userbyid(10), pg_get_userbyid(1)") == [
        ("forge", "unknown (OID=1)")]
    assert query("SELECT amname FROM pg_am WHERE oid = 403") == [("btree",)]
    assert query("SELECT extname FROM pg_extension") == [("plpgsql",)]


def test_proc(query: Query, lake: duckdb.DuckDBPyConnection) -> None:
    assert query("SELECT oid FROM pg_proc WHERE proname = 'array_recv'") == [(2400,)]
    lake.execute("CREATE MACRO twice(a) AS a * 2")
    assert query("SELECT n.nspname, p.proargnames, pg_get_function_arguments(p.oid) "
                 "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                 "WHERE p.proname = 'twice'") == [("public", ["a"], "a")]
