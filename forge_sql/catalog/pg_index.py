"""pg_index: one row per declared primary key, unique constraint and index.

indkey is an int2vector in PostgreSQL; here a SMALLINT list of the key columns' attnums,
which clients unnest; indoption, which clients read, is the int2vector's text.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_index AS SELECT d.index_oid AS indexrelid, "
        "d.relid AS indrelid, len(d.columns)::SMALLINT AS indnatts, "
        "len(d.columns)::SMALLINT AS indnkeyatts, "
        "d.kind IN ('p', 'u') OR starts_with(d.definition, 'UNIQUE') AS indisunique, "
        "false AS indnullsnotdistinct, d.kind = 'p' AS indisprimary, "
        "false AS indisexclusion, true AS indimmediate, false AS indisclustered, "
        "true AS indisvalid, false AS indcheckxmin, true AS indisready, true AS indislive, "
        "false AS indisreplident, d.attnums AS indkey, "
        "list_transform(d.attnums, a -> 0::BIGINT) AS indcollation, "
        "list_transform(d.attnums, a -> 0::BIGINT) AS indclass, "
        # int2vector as PostgreSQL prints it: SQLAlchemy splits indoption's text.
        "array_to_string(list_transform(d.attnums, a -> '0'), ' ') AS indoption, "
        "NULL::VARCHAR AS indexprs, NULL::VARCHAR AS indpred "
        f"FROM {SCHEMA}.declared_keys AS d WHERE d.kind IN ('p', 'u', 'i')"
    )
