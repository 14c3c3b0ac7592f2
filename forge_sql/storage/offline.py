"""Open a data directory's lake without a server, for the CLI's storage and export commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from forge_sql import errors
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import ducklake, identity, record
from forge_sql.storage.catalogs import Lake

_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


@contextmanager
def open_lake(data_dir: Path, name: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the lake under ``data_dir`` attached as ``name`` (default
    catalog, schema ``public``). A running server holds the lake's lock: that is refused
    with :class:`errors.ObjectInUse`, naming the process; a catalog the lake record does
    not match, with ConfigError (forge_sql.storage.identity)."""
    data_dir = data_dir.resolve()
    if not (data_dir / "catalog.ducklake").exists():
        raise errors.UndefinedObject(
            f"{data_dir} holds no lake (catalog.ducklake): start the server on it once, "
            "or pass the right --data-dir"
        )
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        try:
            lake = Lake(str(data_dir / "catalog.ducklake"), f"{data_dir / 'lake'}/", shared=False)
            ducklake.attach(con, lake, name, inline_rows=0)
        except duckdb.IOException as exc:
            holder = _HOLDER.search(str(exc))
            if holder is None:
                raise
            raise errors.ObjectInUse(
                f"the lake in {data_dir} is in use by process {holder.group(2)} "
                "(a running forge-sql server?)",
                hint="stop the server first, or run the same maintenance over SQL as a "
                "superuser: CALL forge_compact(), forge_expire(), forge_cleanup()",
            ) from exc
        # The same check as the server's start: maintenance or a backup of a catalog that is
        # not the lake's own (older, another lake's) must not go ahead either.
        identity.verify(con, name, data_dir, record.read(data_dir), accept=False)
        con.execute(f"USE {quote_ident(name)}.public")
        yield con
    finally:
        con.close()
