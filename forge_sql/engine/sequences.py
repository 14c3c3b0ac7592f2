"""Sequences: their declarations and state in the lake (forge_meta.sequences), values
handed out by nextval from ranges each server reserves, and each session's currval/lastval.

DuckLake has no sequences. The state lives in the lake so that it survives restarts and
servers sharing a lake agree. As in PostgreSQL, nextval is never rolled back: a range is
reserved in a transaction of its own (on the registry's own cursor), committed before the
value is used. A commit to the lake costs a catalog write, so a server reserves a range of
values at a time (at least CACHE, growing while a sequence is drawn from quickly), hands
them out in order, and gives back what it did not use when it shuts down; values a server
reserved and never handed out are lost if it stops without shutting down (PostgreSQL loses
its cached values the same way). Servers sharing a lake draw from separate ranges, so their
values interleave as those of PostgreSQL sessions with CACHE > 1 do.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import duckdb

from forge_sql import errors
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import conflicts, meta

TYPE_RANGES = {
    "smallint": (-(1 << 15), (1 << 15) - 1),
    "integer": (-(1 << 31), (1 << 31) - 1),
    "bigint": (-(1 << 63), (1 << 63) - 1),
}
_FIRST_RANGE = 32  # values reserved at once at least (PostgreSQL's SEQ_LOG_VALS)
_LARGEST_RANGE = 1 << 16
_QUICK = 1.0  # seconds: a range used up sooner than this makes the next one twice as large

Key = tuple[str, str]  # (schema, sequence name)


@dataclass(frozen=True)
class Definition:
    """One sequence's declaration, as pg_sequence has it."""

    schema: str
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    minimum: int = 1
    maximum: int = TYPE_RANGES["bigint"][1]
    cache: int = 1
    cycle: bool = False
    owned_table: str | None = None
    owned_column: str | None = None
    identity: str = ""  # 'a' GENERATED ALWAYS, 'd' BY DEFAULT, '' not an identity column

    @property
    def key(self) -> Key:
        return (self.schema, self.name)


def declare(
    schema: str, name: str, options: dict[str, object], base: Definition | None = None
) -> Definition:
    """The definition CREATE SEQUENCE (``base`` None) or ALTER SEQUENCE gives, checked as
    PostgreSQL checks it (sequence.c's init_params), with its SQLSTATE 22023 messages."""
    old = base or Definition(schema, name)
    data_type = str(options.get("as", old.data_type))
    low, high = TYPE_RANGES[data_type]
    increment = _int(options.get("increment", old.increment if base else 1))
    if increment == 0:
        raise errors.InvalidParameterValue("INCREMENT must not be zero")
    type_changed = base is not None and data_type != base.data_type

    def bound(key: str, current: int, default: int, type_default: int) -> int:
        if key in options:
            value = options[key]
            return default if value is None else _int(value)
        if base is None:
            return default
        # A new type moves a bound that was the old type's limit to the new one's.
        old_low, old_high = TYPE_RANGES[base.data_type]
        if type_changed and current in (old_low, old_high, -1, 1) and current == type_default:
            return default
        return current

    default_max = high if increment > 0 else -1
    default_min = 1 if increment > 0 else low
    old_default_max = (TYPE_RANGES[old.data_type][1] if old.increment > 0 else -1)
    old_default_min = (1 if old.increment > 0 else TYPE_RANGES[old.data_type][0])
    maximum = bound("maxvalue", old.maximum, default_max, old_default_max)
    minimum = bound("minvalue", old.minimum, default_min, old_default_min)
    for label, value in (("MAXVALUE", maximum), ("MINVALUE", minimum)):
        if not low <= value <= high:
            raise errors.InvalidParameterValue(
                f"{label} ({value}) is out of range for sequence data type {data_type}"
            )
    if minimum >= maximum:
        raise errors.InvalidParameterValue(
            f"MINVALUE ({minimum}) must be less than MAXVALUE ({maximum})"
        )
    if "start" in options:
        start = _int(options["start"])
    elif base is None:
        start = minimum if increment > 0 else maximum
    else:
        start = base.start
    if start < minimum:
        raise errors.InvalidParameterValue(
            f"START value ({start}) cannot be less than MINVALUE ({minimum})"
        )
    if start > maximum:
        raise errors.InvalidParameterValue(
            f"START value ({start}) cannot be greater than MAXVALUE ({maximum})"
        )
    cache = _int(options.get("cache", old.cache))
    if cache < 1:
        raise errors.InvalidParameterValue(f"CACHE ({cache}) must be greater than zero")
    cycle = bool(options.get("cycle", old.cycle))
    return replace(
        old, data_type=data_type, start=start, increment=increment, minimum=minimum,
        maximum=maximum, cache=cache, cycle=cycle,
    )


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


@dataclass
class _Range:
    """Values this server reserved: ``first`` up to ``last`` (inclusive) in steps of
    ``step``; ``next`` is the one nextval hands out next."""

    first: int
    last: int
    step: int
    reserved_at: float
    next: int = 0
    exhausted: bool = False

    def __post_init__(self) -> None:
        self.next = self.first

    @property
    def handed_out(self) -> int:
        """The last value handed out (a range is reserved by the nextval that uses it)."""
        return self.last if self.exhausted else self.next - self.step


class Sequences:
    """The lake's sequences, for all sessions of this server."""

    def __init__(
        self, cursor: Callable[[], duckdb.DuckDBPyConnection], lake: str, retries: int
    ) -> None:
        self._new_cursor = cursor
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._table = f"{quote_ident(lake)}.{meta.SCHEMA}.sequences"
        self._retries = retries
        self._lock = threading.RLock()
        self._ranges: dict[Key, _Range] = {}
        self._sizes: dict[Key, int] = {}
        # Per session token: currval of each sequence it drew from, and the last one.
        self._values: dict[str, dict[Key, int]] = {}
        self._last: dict[str, Key] = {}
        self._known: set[Key] = set()  # found in the lake (nextval resolves names often)
        # (schema, table) -> its GENERATED ALWAYS identity columns; None: to be read again.
        self._always: dict[Key, set[str]] | None = None

    # -- the lake's rows -----------------------------------------------------------------
    def _run(self, action: Callable[[duckdb.DuckDBPyConnection], object]) -> object:
        """``action`` in a transaction of its own on the registry's cursor, committed
        (retried when another server's commit conflicts)."""
        with self._lock:
            if self._cursor is None:
                self._cursor = self._new_cursor()
            cursor = self._cursor

            return conflicts.in_transaction(cursor, action, self._retries)

    def find(self, key: Key) -> Definition | None:
        rows = self._run(lambda c: c.execute(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE schema_name = ? AND sequence_name = ?",
            list(key),
        ).fetchall())
        assert isinstance(rows, list)
        return _definition(rows[0]) if rows else None

    def run_query(self, sql: str, parameters: list[object]) -> list[tuple[object, ...]]:
        """Rows of a query on the lake's committed state (the registry's cursor)."""
        rows = self._run(lambda c: c.execute(sql, parameters).fetchall())
        assert isinstance(rows, list)
        return rows

    def owner(self, key: Key) -> str | None:
        rows = self.run_query(
            f"SELECT owner FROM {self._table} WHERE schema_name = ? AND sequence_name = ?",
            list(key),
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def exists(self, key: Key) -> bool:
        if key in self._known:
            return True
        if self.find(key) is None:
            return False
        self._known.add(key)
        return True

    def by_oid(self, oid: int, catalog: str) -> Key | None:
        """The sequence pg_class numbers ``oid`` (``catalog``: the schema of relation_oid)."""
        rows = self._run(lambda c: c.execute(
            f"SELECT schema_name, sequence_name FROM {self._table} "
            f"WHERE {catalog}.relation_oid(schema_name, sequence_name) = ?", [oid],
        ).fetchall())
        assert isinstance(rows, list)
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def all(self) -> list[Definition]:
        rows = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM {self._table}").fetchall())
        assert isinstance(rows, list)
        return [_definition(row) for row in rows]

    def always(self, schema: str, table: str) -> set[str]:
        """The GENERATED ALWAYS identity columns of a table (as this server last read)."""
        if self._always is None:
            found: dict[Key, set[str]] = {}
            for d in self.all():
                if d.identity == "a" and d.owned_table and d.owned_column:
                    found.setdefault((d.schema, d.owned_table), set()).add(d.owned_column)
            self._always = found
        return self._always.get((schema, table), set())

    def has_always(self) -> bool:
        self.always("", "")
        return bool(self._always)

    def owned_by(self, schema: str, table: str) -> list[Definition]:
        return [d for d in self.all() if d.schema == schema and d.owned_table == table]

    def create(self, definition: Definition, owner: str | None) -> None:
        d = definition

        def insert(c: duckdb.DuckDBPyConnection) -> None:
            c.execute(
                f"INSERT INTO {self._table} (schema_name, sequence_name, data_type, "
                "start_value, increment_by, min_value, max_value, cache_size, cycle, "
                "last_value, is_called, owned_table, owned_column, identity, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, ?, ?, ?)",
                [d.schema, d.name, d.data_type, d.start, d.increment, d.minimum, d.maximum,
                 d.cache, d.cycle, d.start, d.owned_table, d.owned_column, d.identity, owner],
            )

        self._run(insert)
        self._always = None
        self._ranges.pop(d.key, None)

    def drop(self, key: Key) -> None:
        with self._lock:
            self._run(lambda c: c.execute(
                f"DELETE FROM {self._table} WHERE schema_name = ? AND sequence_name = ?",
                list(key),
            ))
            self._ranges.pop(key, None)
            self._known.discard(key)
            self._always = None

    def alter(self, definition: Definition, restart: int | None = None) -> None:
        """Store ``definition``; ``restart``: the value the next nextval returns."""
        d = definition
        with self._lock:
            held = self._ranges.get(d.key)

            def update(c: duckdb.DuckDBPyConnection) -> None:
                c.execute(
                    f"UPDATE {self._table} SET data_type = ?, start_value = ?, "
                    "increment_by = ?, min_value = ?, max_value = ?, cache_size = ?, "
                    "cycle = ?, owned_table = ?, owned_column = ?, identity = ? "
                    "WHERE schema_name = ? AND sequence_name = ?",
                    [d.data_type, d.start, d.increment, d.minimum, d.maximum, d.cache,
                     d.cycle, d.owned_table, d.owned_column, d.identity, d.schema, d.name],
                )
                if restart is not None:
                    c.execute(
                        f"UPDATE {self._table} SET last_value = ?, is_called = false "
                        "WHERE schema_name = ? AND sequence_name = ?",
                        [restart, d.schema, d.name],
                    )
                elif held is not None and not held.exhausted:
                    # The new options apply from the last value handed out (PostgreSQL),
                    # not from the end of this server's reserved range.
                    c.execute(
                        f"UPDATE {self._table} SET last_value = ?, is_called = true "
                        "WHERE schema_name = ? AND sequence_name = ? AND last_value = ?",
                        [held.handed_out, d.schema, d.name, held.last],
                    )

            self._run(update)
            self._always = None
            self._ranges.pop(d.key, None)

    def rename(self, key: Key, schema: str, name: str) -> None:
        with self._lock:
            self._run(lambda c: c.execute(
                f"UPDATE {self._table} SET schema_name = ?, sequence_name = ? "
                "WHERE schema_name = ? AND sequence_name = ?", [schema, name, *key],
            ))
            held = self._ranges.pop(key, None)
            if held is not None:  # the lake row's reservation moves with its name
                self._ranges[(schema, name)] = held
            self._known.discard(key)

    def follow_table(self, schema: str, old: str, new: str) -> None:
        """ALTER TABLE old RENAME TO new: the sequences it owns stay its own."""
        self._always = None
        self._run(lambda c: c.execute(
            f"UPDATE {self._table} SET owned_table = ? WHERE schema_name = ? AND owned_table = ?",
            [new, schema, old],
        ))

    def follow_column(self, schema: str, table: str, old: str, new: str) -> None:
        self._always = None
        self._run(lambda c: c.execute(
            f"UPDATE {self._table} SET owned_column = ? WHERE schema_name = ? "
            "AND owned_table = ? AND owned_column = ?", [new, schema, table, old],
        ))

    # -- values --------------------------------------------------------------------------
    def nextval(self, token: str, key: Key) -> int:
        with self._lock:
            current = self._ranges.get(key)
            if current is None or current.exhausted:
                current = self._reserve(key, current)
            value = current.next
            if value == current.last:
                current.exhausted = True
            else:
                current.next = value + current.step
            self._values.setdefault(token, {})[key] = value
            self._last[token] = key
            return value

    def _reserve(self, key: Key, previous: _Range | None) -> _Range:
        """Reserve the next range in the lake (committed at once: never rolled back)."""
        size = self._sizes.get(key, 0)
        now = time.monotonic()
        if previous is not None and now - previous.reserved_at < _QUICK:
            size = min(max(size * 2, _FIRST_RANGE), _LARGEST_RANGE)
        else:
            size = _FIRST_RANGE

        def reserve(c: duckdb.DuckDBPyConnection) -> tuple[Definition, int, int]:
            rows = c.execute(
                f"SELECT {_COLUMNS}, last_value, is_called FROM {self._table} "
                "WHERE schema_name = ? AND sequence_name = ?", list(key),
            ).fetchall()
            if not rows:
                self._known.discard(key)
                raise errors.UndefinedTable(f'relation "{key[1]}" does not exist')
            d = _definition(rows[0])
            last_value, is_called = rows[0][-2], rows[0][-1]
            first = last_value + d.increment if is_called else last_value
            if not d.minimum <= first <= d.maximum:
                if not d.cycle:
                    limit = d.maximum if d.increment > 0 else d.minimum
                    which = "maximum" if d.increment > 0 else "minimum"
                    raise errors.SequenceGeneratorLimitExceeded(
                        f'nextval: reached {which} value of sequence "{d.name}" ({limit})'
                    )
                first = d.minimum if d.increment > 0 else d.maximum
            count = max(size, d.cache)
            if d.increment > 0:
                last = min(first + d.increment * (count - 1), d.maximum)
                last = first + (last - first) // d.increment * d.increment
            else:
                last = max(first + d.increment * (count - 1), d.minimum)
                last = first - (first - last) // -d.increment * -d.increment
            c.execute(
                f"UPDATE {self._table} SET last_value = ?, is_called = true "
                "WHERE schema_name = ? AND sequence_name = ?", [last, *key],
            )
            return d, first, last

        result = self._run(reserve)
        assert isinstance(result, tuple)
        definition, first, last = result
        self._sizes[key] = size
        reserved = _Range(first, last, definition.increment, now)
        self._ranges[key] = reserved
        return reserved

    def currval(self, token: str, key: Key) -> int:
        value = self._values.get(token, {}).get(key)
        if value is None:
            raise errors.ObjectNotInPrerequisiteState(
                f'currval of sequence "{key[1]}" is not yet defined in this session'
            )
        return value

    def last_key(self, token: str) -> Key | None:
        return self._last.get(token)

    def lastval(self, token: str) -> int:
        key = self._last.get(token)
        if key is None:
            raise errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
        values = self._values.get(token, {})
        if key not in values:
            raise errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
        return values[key]

    def setval(self, token: str, key: Key, value: int, is_called: bool) -> int:
        with self._lock:
            def store(c: duckdb.DuckDBPyConnection) -> None:
                rows = c.execute(
                    f"SELECT {_COLUMNS} FROM {self._table} "
                    "WHERE schema_name = ? AND sequence_name = ?", list(key),
                ).fetchall()
                if not rows:
                    raise errors.UndefinedTable(f'relation "{key[1]}" does not exist')
                d = _definition(rows[0])
                if not d.minimum <= value <= d.maximum:
                    raise errors.NumericValueOutOfRange(
                        f'setval: value {value} is out of bounds for sequence "{d.name}" '
                        f"({d.minimum}..{d.maximum})"
                    )
                c.execute(
                    f"UPDATE {self._table} SET last_value = ?, is_called = ? "
                    "WHERE schema_name = ? AND sequence_name = ?", [value, is_called, *key],
                )

            self._run(store)
            self._ranges.pop(key, None)
            if is_called:
                self._values.setdefault(token, {})[key] = value
            return value

    def put_state(self, key: Key, last_value: int, is_called: bool) -> None:
        """Put (last_value, is_called) back as ``state`` gave them (a rolled-back ALTER
        SEQUENCE ... RESTART)."""
        with self._lock:
            self._run(lambda c: c.execute(
                f"UPDATE {self._table} SET last_value = ?, is_called = ? "
                "WHERE schema_name = ? AND sequence_name = ?", [last_value, is_called, *key],
            ))
            self._ranges.pop(key, None)

    def state(self, key: Key) -> tuple[int, bool] | None:
        """(last_value, is_called) as PostgreSQL would have them: the last value this server
        handed out where it holds the lake's latest range, else the lake's row."""
        rows = self._run(lambda c: c.execute(
            f"SELECT last_value, is_called FROM {self._table} "
            "WHERE schema_name = ? AND sequence_name = ?", list(key),
        ).fetchall())
        assert isinstance(rows, list)
        if not rows:
            return None
        last_value, is_called = int(rows[0][0]), bool(rows[0][1])
        current = self._ranges.get(key)
        if current is not None and current.last == last_value:
            return current.handed_out, True
        return last_value, is_called

    def forget(self, token: str) -> None:
        """The session ended."""
        with self._lock:
            self._values.pop(token, None)
            self._last.pop(token, None)

    def give_back(self) -> None:
        """The server shuts down: values reserved and not handed out go back to the lake
        (unless another server or a setval moved the sequence on meanwhile)."""
        with self._lock:
            for key, current in list(self._ranges.items()):
                if current.exhausted:
                    continue

                def restore(c: duckdb.DuckDBPyConnection, key: Key = key,
                            current: _Range = current) -> None:
                    c.execute(
                        f"UPDATE {self._table} SET last_value = ?, is_called = true "
                        "WHERE schema_name = ? AND sequence_name = ? AND last_value = ?",
                        [current.handed_out, *key, current.last],
                    )

                # On failure the values stay reserved: a gap, as after a crash.
                with contextlib.suppress(duckdb.Error, errors.ForgeError):
                    self._run(restore)
            self._ranges.clear()
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None


_COLUMNS = (
    "schema_name, sequence_name, data_type, start_value, increment_by, min_value, max_value, "
    "cache_size, cycle, owned_table, owned_column, identity"
)


def _definition(row: Iterable[object]) -> Definition:
    values = list(row)[:12]
    schema, name, data_type, start, increment, minimum, maximum, cache, cycle, table, column, \
        identity = values
    return Definition(
        str(schema), str(name), str(data_type), int(start), int(increment),  # type: ignore[call-overload]
        int(minimum), int(maximum), int(cache), bool(cycle),  # type: ignore[call-overload]
        None if table is None else str(table), None if column is None else str(column),
        str(identity or ""),
    )
