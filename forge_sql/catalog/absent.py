"""Relations of PostgreSQL features forge-sql does not have (inheritance, partitions,
policies, publications, triggers, rules, enums, foreign data, extended
statistics): empty, with PostgreSQL 16's columns, so the queries clients send succeed."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import fixed_table

# PostgreSQL column types as the emulation stores them: oids as BIGINT, names as VARCHAR,
# int2vector/oidvector as lists.
_TYPES = {
    "oid": "BIGINT",
    "name": "VARCHAR",
    "text": "VARCHAR",
    "char": "VARCHAR",
    "regproc": "VARCHAR",
    "node": "VARCHAR",  # pg_node_tree
    "bool": "BOOLEAN",
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "REAL",
    "bytea": "BLOB",
    "tstz": "TIMESTAMPTZ",
    "int2[]": "SMALLINT[]",
    "oid[]": "BIGINT[]",
    "char[]": "VARCHAR[]",
    "text[]": "VARCHAR[]",
}

RELATIONS = {
    "pg_inherits": "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool",
    "pg_depend": "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, "
    "refobjsubid int4, deptype char",
    "pg_policy": "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, "
    "polroles oid[], polqual node, polwithcheck node",
    "pg_statistic_ext": "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, "
    "stxstattarget int4, stxkeys int2[], stxkind char[], stxexprs node",
    "pg_publication": "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, "
    "pubupdate bool, pubdelete bool, pubtruncate bool, pubviaroot bool",
    "pg_publication_rel": "oid oid, prpubid oid, prrelid oid, prqual node, prattrs int2[]",
    "pg_publication_namespace": "oid oid, pnpubid oid, pnnspid oid",
    "pg_partitioned_table": "partrelid oid, partstrat char, partnatts int2, partdefid oid, "
    "partattrs int2[], partclass oid[], partcollation oid[], partexprs node",
    "pg_enum": "oid oid, enumtypid oid, enumsortorder float4, enumlabel name",
    "pg_trigger": "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, "
    "tgenabled char, tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, "
    "tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2, tgattr int2[], "
    "tgargs bytea, tgqual node, tgoldtable name, tgnewtable name",
    "pg_rewrite": "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, "
    "is_instead bool, ev_qual node, ev_action node",
    "pg_rules": "schemaname name, tablename name, rulename name, definition text",
    "pg_opclass": "oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, "
    "opcfamily oid, opcintype oid, opcdefault bool, opckeytype oid",
    "pg_conversion": "oid oid, conname name, connamespace oid, conowner oid, "
    "conforencoding int4, contoencoding int4, conproc regproc, condefault bool",
    "pg_foreign_server": "oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, "
    "srvversion text, srvacl text[], srvoptions text[]",
    "pg_foreign_data_wrapper": "oid oid, fdwname name, fdwowner oid, fdwhandler oid, "
    "fdwvalidator oid, fdwacl text[], fdwoptions text[]",
    "pg_foreign_table": "ftrelid oid, ftserver oid, ftoptions text[]",
    "pg_event_trigger": "oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, "
    "evtenabled char, evttags text[]",
    "pg_shdescription": "objoid oid, classoid oid, description text",
    "pg_replication_slots": "slot_name name, plugin name, slot_type text, datoid oid, "
    "database name, temporary bool, active bool, active_pid int4, xmin int8, "
    "catalog_xmin int8, restart_lsn text, confirmed_flush_lsn text, wal_status text, "
    "safe_wal_size int8, two_phase bool, conflicting bool",
}


def columns(spec: str) -> dict[str, str]:
    """``"name type, ..."`` in PostgreSQL's words -> DuckDB column types."""
    pairs = (item.split() for item in spec.split(","))
    return {name: _TYPES[kind] for name, kind in pairs}


def definitions() -> Iterator[str]:
    for name, spec in RELATIONS.items():
        yield from fixed_table(name, columns(spec))
