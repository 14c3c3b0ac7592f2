"""pg_type: the built-in types of forge_sql.seam.oids with PostgreSQL's OIDs and attributes.

Values follow PostgreSQL 16's src/include/catalog/pg_type.dat. Clients read it to map
OIDs to codecs: the ADBC driver keeps the types that have a binary receive function,
asyncpg walks typelem/typbasetype/pg_range for the OIDs it has no codec for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from forge_sql.catalog import SCHEMA, literal
from forge_sql.seam import oids

PG_CATALOG_OID = 11  # pg_namespace OID of pg_catalog in every PostgreSQL cluster
BOOTSTRAP_SUPERUSER = 10
DEFAULT_COLLATION = 100
C_COLLATION = 950
NO_PROC = "-"  # how PostgreSQL prints a zero regproc (no function)


class BaseType(NamedTuple):
    """Columns of a base type's pg_type row that differ between types."""

    category: str
    preferred: bool
    byval: bool
    align: str
    storage: str
    io: str  # prefix of the in/out/recv/send functions: "int4" -> int4in, int4recv
    modin: str = NO_PROC  # typmodin; typmodout is the same name with "out"
    collation: int = 0


def _io(prefix: str) -> tuple[str, str, str, str]:
    """in/out/recv/send names: PostgreSQL spells them "int4in" or, for newer types, "date_in"."""
    return (prefix + "in", prefix + "out", prefix + "recv", prefix + "send")


BASE_TYPES: dict[int, BaseType] = {
    oids.BOOL: BaseType("B", True, True, "c", "p", "bool"),
    oids.BYTEA: BaseType("U", False, False, "i", "x", "bytea"),
    oids.CHAR: BaseType("Z", False, True, "c", "p", "char"),
    oids.NAME: BaseType("S", False, False, "c", "p", "name", collation=C_COLLATION),
    oids.INT8: BaseType("N", False, True, "d", "p", "int8"),
    oids.INT2: BaseType("N", False, True, "s", "p", "int2"),
    oids.INT4: BaseType("N", False, True, "i", "p", "int4"),
    oids.TEXT: BaseType("S", True, False, "i", "x", "text", collation=DEFAULT_COLLATION),
    oids.OID: BaseType("N", True, True, "i", "p", "oid"),
    oids.JSON: BaseType("U", False, False, "i", "x", "json_"),
    oids.FLOAT4: BaseType("N", False, True, "i", "p", "float4"),
    oids.FLOAT8: BaseType("N", True, True, "d", "p", "float8"),
    oids.UNKNOWN: BaseType("X", False, False, "c", "p", "unknown"),
    oids.BPCHAR: BaseType(
        "S", False, False, "i", "x", "bpchar", "bpchartypmodin", DEFAULT_COLLATION
    ),
    oids.VARCHAR: BaseType(
        "S", False, False, "i", "x", "varchar", "varchartypmodin", DEFAULT_COLLATION
    ),
    oids.DATE: BaseType("D", False, True, "i", "p", "date_"),
    oids.TIME: BaseType("D", False, True, "d", "p", "time_", "timetypmodin"),
    oids.TIMESTAMP: BaseType("D", False, True, "d", "p", "timestamp_", "timestamptypmodin"),
    oids.TIMESTAMPTZ: BaseType("D", True, True, "d", "p", "timestamptz_", "timestamptztypmodin"),
    oids.INTERVAL: BaseType("T", True, False, "d", "p", "interval_", "intervaltypmodin"),
    oids.TIMETZ: BaseType("D", False, False, "d", "p", "timetz_", "timetztypmodin"),
    oids.NUMERIC: BaseType("N", False, False, "i", "m", "numeric_", "numerictypmodin"),
    oids.UUID: BaseType("U", False, False, "c", "p", "uuid_"),
    oids.JSONB: BaseType("U", False, False, "i", "x", "jsonb_"),
}

# format_type() / regtype output names (PostgreSQL's format_type.c), where not typname.
SQL_NAMES: dict[int, str] = {
    oids.BOOL: "boolean",
    oids.CHAR: '"char"',
    oids.INT8: "bigint",
    oids.INT2: "smallint",
    oids.INT4: "integer",
    oids.FLOAT4: "real",
    oids.FLOAT8: "double precision",
    oids.BPCHAR: "character",
    oids.VARCHAR: "character varying",
    oids.TIME: "time without time zone",
    oids.TIMESTAMP: "timestamp without time zone",
    oids.TIMESTAMPTZ: "timestamp with time zone",
    oids.TIMETZ: "time with time zone",
}

COLUMNS: dict[str, str] = {
    "oid": "BIGINT",
    "typname": "VARCHAR",
    "typnamespace": "BIGINT",
    "typowner": "BIGINT",
    "typlen": "SMALLINT",
    "typbyval": "BOOLEAN",
    "typtype": "VARCHAR",
    "typcategory": "VARCHAR",
    "typispreferred": "BOOLEAN",
    "typisdefined": "BOOLEAN",
    "typdelim": "VARCHAR",
    "typrelid": "BIGINT",
    "typsubscript": "VARCHAR",
    "typelem": "BIGINT",
    "typarray": "BIGINT",
    "typinput": "VARCHAR",
    "typoutput": "VARCHAR",
    "typreceive": "VARCHAR",
    "typsend": "VARCHAR",
    "typmodin": "VARCHAR",
    "typmodout": "VARCHAR",
    "typanalyze": "VARCHAR",
    "typalign": "VARCHAR",
    "typstorage": "VARCHAR",
    "typnotnull": "BOOLEAN",
    "typbasetype": "BIGINT",
    "typtypmod": "INTEGER",
    "typndims": "INTEGER",
    "typcollation": "BIGINT",
    "typdefaultbin": "VARCHAR",
    "typdefault": "VARCHAR",
    "typacl": "VARCHAR[]",
}
# Pseudo-types clients name in catalog queries (``prorettype <> 'trigger'::regtype``). They
# have no binary I/O here, so drivers that load types by typreceive leave them out.
PSEUDO_TYPES = {2249: "record", 2276: "any", 2277: "anyarray", 2278: "void", 2279: "trigger",
                2283: "anyelement"}

# Not a PostgreSQL column: the pg_type view leaves it out; format_type and regtype read it.
SQL_NAME = "sql_name"


def rows() -> Iterator[dict[str, object]]:
    """One pg_type row per type in forge_sql.seam.oids.TYPES, arrays included."""
    for oid, info in sorted(oids.TYPES.items()):
        element = oids.ELEMENT_OF.get(oid)
        base = BASE_TYPES[oid if element is None else element]
        row: dict[str, object] = dict.fromkeys(COLUMNS)
        row.update(
            oid=oid,
            typname=info.name,
            typnamespace=PG_CATALOG_OID,
            typowner=BOOTSTRAP_SUPERUSER,
            typtype="b",
            typisdefined=True,
            typdelim=",",
            typrelid=0,
            typarray=info.array_oid,
            typmodin=base.modin,
            typmodout=base.modin.replace("typmodin", "typmodout"),
            typnotnull=False,
            typbasetype=0,
            typtypmod=-1,
            typndims=0,
            typcollation=base.collation,
        )
        if element is None:
            typein, typeout, recv, send = _io(base.io)
            row.update(
                typlen=info.size,
                typbyval=base.byval,
                typcategory=base.category,
                typispreferred=base.preferred,
                # name is a fixed-size array of char, as in PostgreSQL.
                typsubscript="raw_array_subscript_handler" if oid == oids.NAME else NO_PROC,
                typelem=oids.CHAR if oid == oids.NAME else 0,
                typinput=typein,
                typoutput=typeout,
                typreceive=recv,
                typsend=send,
                typanalyze=NO_PROC,
                typalign=base.align,
                typstorage=base.storage,
            )
            row[SQL_NAME] = SQL_NAMES.get(oid, info.name)
        else:
            row.update(
                typlen=-1,
                typbyval=False,
                typcategory="A",
                typispreferred=False,
                typsubscript="array_subscript_handler",
                typelem=element,
                typinput="array_in",
                typoutput="array_out",
                typreceive="array_recv",
                typsend="array_send",
                typanalyze="array_typanalyze",
                typalign="d" if base.align == "d" else "i",
                typstorage="x",
            )
            row[SQL_NAME] = SQL_NAMES.get(element, oids.TYPES[element].name) + "[]"
        yield row
    for oid, name in PSEUDO_TYPES.items():
        row = dict.fromkeys(COLUMNS)
        row.update(
            oid=oid, typname=name, typnamespace=PG_CATALOG_OID, typowner=BOOTSTRAP_SUPERUSER,
            typlen=-1 if name in ("record", "anyarray") else 4, typbyval=name not in
            ("record", "anyarray"), typtype="p", typcategory="P", typispreferred=False,
            typisdefined=True, typdelim=",", typrelid=0, typsubscript=NO_PROC, typelem=0,
            typarray=0, typinput=f"{name}_in", typoutput=f"{name}_out", typreceive=NO_PROC,
            typsend=NO_PROC, typmodin=NO_PROC, typmodout=NO_PROC, typanalyze=NO_PROC,
            typalign="d" if name in ("record", "anyarray") else "i", typstorage="p",
            typnotnull=False, typbasetype=0, typtypmod=-1, typndims=0, typcollation=0,
        )
        row[SQL_NAME] = '"any"' if name == "any" else name
        yield row


def definitions() -> Iterator[str]:
    """DDL for server.pgc.pg_type_rows (a table filled once) and the pg_type view of it."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    yield f"CREATE OR REPLACE TABLE {SCHEMA}.pg_type_rows ({columns}, {SQL_NAME} VARCHAR)"
    values = ",\n".join(
        "(" + ", ".join(literal(value) for value in row.values()) + ")" for row in rows()
    )
    yield f"INSERT INTO {SCHEMA}.pg_type_rows VALUES {values}"
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_type AS "
        f"SELECT {', '.join(COLUMNS)} FROM {SCHEMA}.pg_type_rows"
    )
