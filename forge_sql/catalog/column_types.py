"""PostgreSQL 15's types of the pg_catalog columns whose type DuckDB has no counterpart
for: ``oid`` (26), ``name`` (19) and ``"char"`` (18), which the emulation holds as BIGINT or
INTEGER and VARCHAR. Result columns traced to one of them are announced with PostgreSQL's
type (forge_sql.engine.column_types), so that drivers decoding by OID read them as
PostgreSQL's (oid: an unsigned 4-byte integer in binary).

Made from a PostgreSQL 15 cluster with::

    SELECT c.relname, a.attname, a.atttypid::regtype FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'pg_catalog' AND c.relkind IN ('r', 'v') AND a.attnum > 0
    AND a.atttypid IN (18, 19, 26) AND NOT a.attisdropped ORDER BY 1, a.attnum
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from forge_sql.catalog import SCHEMA
from forge_sql.seam import oids


class _Kinds(NamedTuple):
    oid: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    char: tuple[str, ...] = ()


_COLUMNS: dict[str, _Kinds] = {
    "pg_aggregate": _Kinds(oid=('aggsortop', 'aggtranstype', 'aggmtranstype',), char=('aggkind',
        'aggfinalmodify', 'aggmfinalmodify',)),
    "pg_am": _Kinds(oid=('oid',), name=('amname',), char=('amtype',)),
    "pg_amop": _Kinds(oid=('oid', 'amopfamily', 'amoplefttype', 'amoprighttype', 'amopopr',
        'amopmethod', 'amopsortfamily',), char=('amoppurpose',)),
    "pg_amproc": _Kinds(oid=('oid', 'amprocfamily', 'amproclefttype', 'amprocrighttype',)),
    "pg_attrdef": _Kinds(oid=('oid', 'adrelid',)),
    "pg_attribute": _Kinds(oid=('attrelid', 'atttypid', 'attcollation',), name=('attname',),
        char=('attalign', 'attstorage', 'attcompression', 'attidentity', 'attgenerated',)),
    "pg_auth_members": _Kinds(oid=('roleid', 'member', 'grantor',)),
    "pg_authid": _Kinds(oid=('oid',), name=('rolname',)),
    "pg_available_extension_versions": _Kinds(name=('name', 'schema',)),
    "pg_available_extensions": _Kinds(name=('name',)),
    "pg_cast": _Kinds(oid=('oid', 'castsource', 'casttarget', 'castfunc',), char=('castcontext',
        'castmethod',)),
    "pg_class": _Kinds(oid=('oid', 'relnamespace', 'reltype', 'reloftype', 'relowner', 'relam',
        'relfilenode', 'reltablespace', 'reltoastrelid', 'relrewrite',), name=('relname',),
        char=('relpersistence', 'relkind', 'relreplident',)),
    "pg_collation": _Kinds(oid=('oid', 'collnamespace', 'collowner',), name=('collname',),
        char=('collprovider',)),
    "pg_constraint": _Kinds(oid=('oid', 'connamespace', 'conrelid', 'contypid', 'conindid',
        'conparentid', 'confrelid',), name=('conname',), char=('contype', 'confupdtype',
        'confdeltype', 'confmatchtype',)),
    "pg_conversion": _Kinds(oid=('oid', 'connamespace', 'conowner',), name=('conname',)),
    "pg_database": _Kinds(oid=('oid', 'datdba', 'dattablespace',), name=('datname',),
        char=('datlocprovider',)),
    "pg_db_role_setting": _Kinds(oid=('setdatabase', 'setrole',)),
    "pg_default_acl": _Kinds(oid=('oid', 'defaclrole', 'defaclnamespace',),
        char=('defaclobjtype',)),
    "pg_depend": _Kinds(oid=('classid', 'objid', 'refclassid', 'refobjid',), char=('deptype',)),
    "pg_description": _Kinds(oid=('objoid', 'classoid',)),
    "pg_enum": _Kinds(oid=('oid', 'enumtypid',), name=('enumlabel',)),
    "pg_event_trigger": _Kinds(oid=('oid', 'evtowner', 'evtfoid',), name=('evtname', 'evtevent',),
        char=('evtenabled',)),
    "pg_extension": _Kinds(oid=('oid', 'extowner', 'extnamespace',), name=('extname',)),
    "pg_foreign_data_wrapper": _Kinds(oid=('oid', 'fdwowner', 'fdwhandler', 'fdwvalidator',),
        name=('fdwname',)),
    "pg_foreign_server": _Kinds(oid=('oid', 'srvowner', 'srvfdw',), name=('srvname',)),
    "pg_foreign_table": _Kinds(oid=('ftrelid', 'ftserver',)),
    "pg_group": _Kinds(oid=('grosysid',), name=('groname',)),
    "pg_index": _Kinds(oid=('indexrelid', 'indrelid',)),
    "pg_indexes": _Kinds(name=('schemaname', 'tablename', 'indexname', 'tablespace',)),
    "pg_inherits": _Kinds(oid=('inhrelid', 'inhparent',)),
    "pg_init_privs": _Kinds(oid=('objoid', 'classoid',), char=('privtype',)),
    "pg_language": _Kinds(oid=('oid', 'lanowner', 'lanplcallfoid', 'laninline', 'lanvalidator',),
        name=('lanname',)),
    "pg_largeobject": _Kinds(oid=('loid',)),
    "pg_largeobject_metadata": _Kinds(oid=('oid', 'lomowner',)),
    "pg_locks": _Kinds(oid=('database', 'relation', 'classid', 'objid',)),
    "pg_matviews": _Kinds(name=('schemaname', 'matviewname', 'matviewowner', 'tablespace',)),
    "pg_namespace": _Kinds(oid=('oid', 'nspowner',), name=('nspname',)),
    "pg_opclass": _Kinds(oid=('oid', 'opcmethod', 'opcnamespace', 'opcowner', 'opcfamily',
        'opcintype', 'opckeytype',), name=('opcname',)),
    "pg_operator": _Kinds(oid=('oid', 'oprnamespace', 'oprowner', 'oprleft', 'oprright',
        'oprresult', 'oprcom', 'oprnegate',), name=('oprname',), char=('oprkind',)),
    "pg_opfamily": _Kinds(oid=('oid', 'opfmethod', 'opfnamespace', 'opfowner',), name=('opfname',)),
    "pg_parameter_acl": _Kinds(oid=('oid',)),
    "pg_partitioned_table": _Kinds(oid=('partrelid', 'partdefid',), char=('partstrat',)),
    "pg_policies": _Kinds(name=('schemaname', 'tablename', 'policyname',)),
    "pg_policy": _Kinds(oid=('oid', 'polrelid',), name=('polname',), char=('polcmd',)),
    "pg_prepared_xacts": _Kinds(name=('owner', 'database',)),
    "pg_proc": _Kinds(oid=('oid', 'pronamespace', 'proowner', 'prolang', 'provariadic',
        'prorettype',), name=('proname',), char=('prokind', 'provolatile', 'proparallel',)),
    "pg_publication": _Kinds(oid=('oid', 'pubowner',), name=('pubname',)),
    "pg_publication_namespace": _Kinds(oid=('oid', 'pnpubid', 'pnnspid',)),
    "pg_publication_rel": _Kinds(oid=('oid', 'prpubid', 'prrelid',)),
    "pg_publication_tables": _Kinds(name=('pubname', 'schemaname', 'tablename',)),
    "pg_range": _Kinds(oid=('rngtypid', 'rngsubtype', 'rngmultitypid', 'rngcollation',
        'rngsubopc',)),
    "pg_replication_origin": _Kinds(oid=('roident',)),
    "pg_replication_origin_status": _Kinds(oid=('local_id',)),
    "pg_replication_slots": _Kinds(oid=('datoid',), name=('slot_name', 'plugin', 'database',)),
    "pg_rewrite": _Kinds(oid=('oid', 'ev_class',), name=('rulename',), char=('ev_type',
        'ev_enabled',)),
    "pg_roles": _Kinds(oid=('oid',), name=('rolname',)),
    "pg_rules": _Kinds(name=('schemaname', 'tablename', 'rulename',)),
    "pg_seclabel": _Kinds(oid=('objoid', 'classoid',)),
    "pg_seclabels": _Kinds(oid=('objoid', 'classoid', 'objnamespace',)),
    "pg_sequence": _Kinds(oid=('seqrelid', 'seqtypid',)),
    "pg_sequences": _Kinds(name=('schemaname', 'sequencename', 'sequenceowner',)),
    "pg_shadow": _Kinds(oid=('usesysid',), name=('usename',)),
    "pg_shdepend": _Kinds(oid=('dbid', 'classid', 'objid', 'refclassid', 'refobjid',),
        char=('deptype',)),
    "pg_shdescription": _Kinds(oid=('objoid', 'classoid',)),
    "pg_shseclabel": _Kinds(oid=('objoid', 'classoid',)),
    "pg_stat_activity": _Kinds(oid=('datid', 'usesysid',), name=('datname', 'usename',)),
    "pg_stat_all_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_stat_all_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_stat_database": _Kinds(oid=('datid',), name=('datname',)),
    "pg_stat_database_conflicts": _Kinds(oid=('datid',), name=('datname',)),
    "pg_stat_progress_analyze": _Kinds(oid=('datid', 'relid', 'current_child_table_relid',),
        name=('datname',)),
    "pg_stat_progress_cluster": _Kinds(oid=('datid', 'relid', 'cluster_index_relid',),
        name=('datname',)),
    "pg_stat_progress_copy": _Kinds(oid=('datid', 'relid',), name=('datname',)),
    "pg_stat_progress_create_index": _Kinds(oid=('datid', 'relid', 'index_relid',),
        name=('datname',)),
    "pg_stat_progress_vacuum": _Kinds(oid=('datid', 'relid',), name=('datname',)),
    "pg_stat_replication": _Kinds(oid=('usesysid',), name=('usename',)),
    "pg_stat_subscription": _Kinds(oid=('subid', 'relid',), name=('subname',)),
    "pg_stat_subscription_stats": _Kinds(oid=('subid',), name=('subname',)),
    "pg_stat_sys_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_stat_sys_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_stat_user_functions": _Kinds(oid=('funcid',), name=('schemaname', 'funcname',)),
    "pg_stat_user_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_stat_user_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_stat_xact_all_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_stat_xact_sys_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_stat_xact_user_functions": _Kinds(oid=('funcid',), name=('schemaname', 'funcname',)),
    "pg_stat_xact_user_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_all_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_statio_all_sequences": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_all_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_sys_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_statio_sys_sequences": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_sys_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_user_indexes": _Kinds(oid=('relid', 'indexrelid',), name=('schemaname', 'relname',
        'indexrelname',)),
    "pg_statio_user_sequences": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statio_user_tables": _Kinds(oid=('relid',), name=('schemaname', 'relname',)),
    "pg_statistic": _Kinds(oid=('starelid', 'staop1', 'staop2', 'staop3', 'staop4', 'staop5',
        'stacoll1', 'stacoll2', 'stacoll3', 'stacoll4', 'stacoll5',)),
    "pg_statistic_ext": _Kinds(oid=('oid', 'stxrelid', 'stxnamespace', 'stxowner',),
        name=('stxname',)),
    "pg_statistic_ext_data": _Kinds(oid=('stxoid',)),
    "pg_stats": _Kinds(name=('schemaname', 'tablename', 'attname',)),
    "pg_stats_ext": _Kinds(name=('schemaname', 'tablename', 'statistics_schemaname',
        'statistics_name', 'statistics_owner',)),
    "pg_stats_ext_exprs": _Kinds(name=('schemaname', 'tablename', 'statistics_schemaname',
        'statistics_name', 'statistics_owner',)),
    "pg_subscription": _Kinds(oid=('oid', 'subdbid', 'subowner',), name=('subname', 'subslotname',),
        char=('subtwophasestate',)),
    "pg_subscription_rel": _Kinds(oid=('srsubid', 'srrelid',), char=('srsubstate',)),
    "pg_tables": _Kinds(name=('schemaname', 'tablename', 'tableowner', 'tablespace',)),
    "pg_tablespace": _Kinds(oid=('oid', 'spcowner',), name=('spcname',)),
    "pg_transform": _Kinds(oid=('oid', 'trftype', 'trflang',)),
    "pg_trigger": _Kinds(oid=('oid', 'tgrelid', 'tgparentid', 'tgfoid', 'tgconstrrelid',
        'tgconstrindid', 'tgconstraint',), name=('tgname', 'tgoldtable', 'tgnewtable',),
        char=('tgenabled',)),
    "pg_ts_config": _Kinds(oid=('oid', 'cfgnamespace', 'cfgowner', 'cfgparser',),
        name=('cfgname',)),
    "pg_ts_config_map": _Kinds(oid=('mapcfg', 'mapdict',)),
    "pg_ts_dict": _Kinds(oid=('oid', 'dictnamespace', 'dictowner', 'dicttemplate',),
        name=('dictname',)),
    "pg_ts_parser": _Kinds(oid=('oid', 'prsnamespace',), name=('prsname',)),
    "pg_ts_template": _Kinds(oid=('oid', 'tmplnamespace',), name=('tmplname',)),
    "pg_type": _Kinds(oid=('oid', 'typnamespace', 'typowner', 'typrelid', 'typelem', 'typarray',
        'typbasetype', 'typcollation',), name=('typname',), char=('typtype', 'typcategory',
        'typdelim', 'typalign', 'typstorage',)),
    "pg_user": _Kinds(oid=('usesysid',), name=('usename',)),
    "pg_user_mapping": _Kinds(oid=('oid', 'umuser', 'umserver',)),
    "pg_user_mappings": _Kinds(oid=('umid', 'srvid', 'umuser',), name=('srvname', 'usename',)),
    "pg_views": _Kinds(name=('schemaname', 'viewname', 'viewowner',)),
}

# What result_sources records as a catalog column's declared type, and its (OID, typmod).
KINDS = {"PG_OID": (oids.OID, -1), "PG_NAME": (oids.NAME, -1), "PG_CHAR": (oids.CHAR, -1)}


def declared(relation: str, column: str) -> str | None:
    """The kind recorded for ``relation.column`` of pg_catalog (a key of KINDS), or None
    when DuckDB's type is announced as PostgreSQL's."""
    kinds = _COLUMNS.get(relation)
    if kinds is None:
        return None
    for kind, columns in zip(("PG_OID", "PG_NAME", "PG_CHAR"), kinds, strict=True):
        if column in columns:
            return kind
    return None


def result_columns(cursor: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(schema, relation, column, declared type) of the emulation's pg_catalog relations,
    for forge_sql.engine.result_sources, under the schema name the rewrite gives them
    (``pgc``): oid, name and "char" columns as KINDS, other strings as TEXT (pg_catalog has
    no varchar column), other columns their DuckDB type."""
    database, schema = SCHEMA.split(".")
    rows = cursor.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND starts_with(table_name, 'pg_') "
        "ORDER BY table_name, column_index", [database, schema]).fetchall()
    return [(schema, relation, column, declared(relation, column) or (
        "TEXT" if kind == "VARCHAR" else kind)) for relation, column, kind in rows]
