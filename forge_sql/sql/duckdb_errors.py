"""DuckDB exceptions translated into ForgeErrors with the SQLSTATE PostgreSQL would send."""

from __future__ import annotations

import re

import duckdb

from forge_sql import errors as e
from forge_sql.seam.numeric import DUCKDB_TYPE

_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")
_LINE = re.compile(r"^LINE (\d+): (.*)$")

# A data file that is not the Parquet it should be (checked on DuckDB 1.5.5 with a lake
# file cut short, emptied, its footer or its pages overwritten): the reader's own words.
# Messages without a file name come from the Thrift decoder of footers and page headers.
_CORRUPT = re.compile(
    r"No magic bytes found at end of file|too small to be a Parquet file|Footer length error"
    r"|TProtocolException|don't know what type|Corrupt database file"
)
_FILE = re.compile(r"""(?:file|File) ['"](?P<path>[^'"]+)['"]""")

# DuckDB's words for a value PostgreSQL rejects with another SQLSTATE, as (exception class
# name, message pattern, error class, PostgreSQL's message from the pattern's groups).
# DuckDB says "time field value out of range" for any bad time: PostgreSQL tells a field
# out of range (22008) from text that is no time (22007), so the time rules look at it.
_TIME_SHAPE = r"\s*(\d{4}-\d{1,2}-\d{1,2}[ T])?\d{1,2}:\d{1,2}(:\d{1,2}(\.\d*)?)?\s*"
_CASTING = r"(?:, expected format is .*?)?(?: when casting from source column .*)?$"
_REWORDED: list[tuple[str, re.Pattern[str], type[e.ForgeError], str]] = [
    # A write to a read-only external connection ([connections.NAME]).
    ("InvalidInputException", re.compile(r'^Cannot execute statement of type "(\w+)" on '
                                         r'database "[^"]*" which is attached in read-only mode'),
     e.ReadOnlySqlTransaction, "cannot execute {0} in a read-only transaction"),
    ("OutOfRangeException", re.compile(r"^cannot take logarithm of (zero|a negative number)$"),
     e.InvalidArgumentForLogarithm, "cannot take logarithm of {0}"),
    ("OutOfRangeException", re.compile(r"^cannot take square root of a negative number$"),
     e.InvalidArgumentForPowerFunction, "cannot take square root of a negative number"),
    ("ConversionException", re.compile(r'^invalid (date|timestamp) field format: "(.*)"'
                                       + _CASTING),
     e.InvalidDatetimeFormat, 'invalid input syntax for type {0}: "{1}"'),
    ("ConversionException", re.compile(r'^(?:date|timestamp) field value out of range: "(.*)"'
                                       + _CASTING),
     e.DatetimeFieldOverflow, 'date/time field value out of range: "{0}"'),
    ("ConversionException", re.compile(r'^time field value out of range: "(' + _TIME_SHAPE
                                       + r')"' + _CASTING),
     e.DatetimeFieldOverflow, 'date/time field value out of range: "{0}"'),
    ("ConversionException", re.compile(r'^time field value out of range: "(.*)"' + _CASTING),
     e.InvalidDatetimeFormat, 'invalid input syntax for type time: "{0}"'),
    ("ConversionException", re.compile(r"^Could not convert string '(.*)' to INTERVAL"
                                       + _CASTING),
     e.InvalidDatetimeFormat, 'invalid input syntax for type interval: "{0}"'),
    ("ConversionException", re.compile(r"^Failed to cast decimal value \S+ to type INT16"),
     e.NumericValueOutOfRange, "smallint out of range"),
    ("ConversionException", re.compile(r"^Failed to cast decimal value \S+ to type INT32"),
     e.NumericValueOutOfRange, "integer out of range"),
    ("ConversionException", re.compile(r"^Failed to cast decimal value \S+ to type INT64"),
     e.NumericValueOutOfRange, "bigint out of range"),
    ("ConversionException", re.compile(r"^Epoch seconds out of range for TIMESTAMP"),
     e.DatetimeFieldOverflow, "timestamp out of range"),
    # A float's NaN (to any numeric) or infinity (to the unconstrained one: numeric(p,s)
    # refuses it with 22003 in PostgreSQL too) cast to numeric: PostgreSQL's numeric holds
    # them, DuckDB's DECIMAL cannot; refused as a constant NaN is (sql.numeric.NOT_STORED).
    ("ConversionException", re.compile(r"^Could not cast value (nan to DECIMAL|-?inf to "
                                       + re.escape(DUCKDB_TYPE) + ")"),
     e.FeatureNotSupported, "numeric NaN and Infinity cannot be stored"),
]
# Text that is no value of a type, named as PostgreSQL names the type; a whole number out
# of an integer type's range is 22003 there, not 22P02.
_INPUT_TYPES = {"INT16": "smallint", "INT32": "integer", "INT64": "bigint", "BOOL": "boolean",
                "DOUBLE": "double precision", "FLOAT": "real"}
for _duckdb_name, _postgres_name in _INPUT_TYPES.items():
    if _duckdb_name.startswith("INT"):
        _REWORDED.append((
            "ConversionException",
            re.compile(rf"^Could not convert string '(\s*[-+]?\d+\s*)' to {_duckdb_name}"
                       + _CASTING),
            e.NumericValueOutOfRange, f'value "{{0}}" is out of range for type {_postgres_name}',
        ))
    _REWORDED.append((
        "ConversionException",
        re.compile(rf"^Could not convert string '(.*)' to {_duckdb_name}" + _CASTING),
        e.InvalidTextRepresentation, f'invalid input syntax for type {_postgres_name}: "{{0}}"',
    ))

# (exception class name, message pattern, error class), first match wins.
_RULES: list[tuple[str | None, re.Pattern[str] | None, type[e.ForgeError]]] = [
    (None, re.compile(r"[Dd]ivision by zero"), e.DivisionByZero),
    # substr / substring with a negative length (forge_sql.catalog.builtins)
    (None, re.compile(r"^negative substring length not allowed"), e.SubstringError),
    # DuckDB's Arrow export of one vector (2048 rows) whose strings pass 2 GiB.
    (None, re.compile(r"maximum total string size"), e.ProgramLimitExceeded),
    ("InterruptException", None, e.QueryCanceled),
    ("PermissionException", None, e.InsufficientPrivilege),
    ("ParserException", None, e.SyntaxError_),
    ("CatalogException", re.compile(r"Table with name .* does not exist"), e.UndefinedTable),
    ("CatalogException", re.compile(r"Table .* does not exist"), e.UndefinedTable),
    ("CatalogException", re.compile(r"View with name .* does not exist"), e.UndefinedTable),
    ("CatalogException", re.compile(r"Schema with name .* does not exist"), e.UndefinedSchema),
    ("CatalogException", re.compile(r"Function with name .* does not exist"), e.UndefinedFunction),
    ("CatalogException", re.compile(r"Schema with name .* already exists"), e.DuplicateSchema),
    ("CatalogException", re.compile(r"(Table|View) with name .* already exists"), e.DuplicateTable),
    ("CatalogException", re.compile(r"already exists"), e.DuplicateObject),
    ("CatalogException", None, e.UndefinedObject),
    ("BinderException", re.compile(r"Referenced column .* not found"), e.UndefinedColumn),
    ("BinderException", re.compile(r"Referenced table .* not found"), e.UndefinedTable),
    ("BinderException", re.compile(r"[Aa]mbiguous"), e.AmbiguousColumn),
    ("BinderException", re.compile(r"GROUP BY"), e.GroupingError),
    ("BinderException", re.compile(r"No function matches"), e.UndefinedFunction),
    ("BinderException", re.compile(r"Cannot compare|Cannot mix"), e.DatatypeMismatch),
    # "RETURNING clause not yet supported for insertion into DuckLake table"
    ("BinderException", re.compile(r"not (yet )?supported"), e.FeatureNotSupported),
    ("BinderException", None, e.SyntaxError_),
    # A number too wide for DECIMAL(p,s): PostgreSQL's "numeric field overflow".
    ("ConversionException", re.compile(
        r'Could not convert string "\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*" to DECIMAL'
        r"|Could not cast value (-?[\d.]+(e[-+]?\d+)?|-?inf) to DECIMAL"),
     e.NumericValueOutOfRange),
    ("ConversionException", re.compile(r"out of range|Overflow", re.I), e.NumericValueOutOfRange),
    ("ConversionException", None, e.InvalidTextRepresentation),
    ("OutOfRangeException", None, e.NumericValueOutOfRange),
    ("ConstraintException", re.compile(r"NOT NULL"), e.NotNullViolation),
    ("ConstraintException", re.compile(r"FOREIGN KEY|foreign key"), e.ForeignKeyViolation),
    ("ConstraintException", re.compile(r"CHECK"), e.CheckViolation),
    ("ConstraintException", None, e.UniqueViolation),
    ("TransactionException", re.compile(r"within a transaction"), e.ActiveSqlTransaction),
    ("TransactionException", re.compile(r"[Cc]onflict"), e.SerializationFailure),
    (
        "TransactionException",
        re.compile(r"no transaction|not in a transaction"),
        e.NoActiveSqlTransaction,
    ),
    ("TransactionException", re.compile(r"aborted"), e.InFailedSqlTransaction),
    ("TransactionException", None, e.SerializationFailure),
    (
        "InvalidInputException",
        re.compile(r"configuration has been locked"),
        e.InsufficientPrivilege,
    ),
    # forge_sql.sql.numeric's refusals, raised with error() inside DuckDB (COPY).
    ("InvalidInputException", re.compile(r"^numeric field overflow"), e.NumericValueOutOfRange),
    ("InvalidInputException", re.compile(r"^numeric NaN"), e.FeatureNotSupported),
    # forge_sql.engine.lengths' string_fit: a value longer than varchar(n) / char(n).
    ("InvalidInputException", re.compile(r"^value too long for type"),
     e.StringDataRightTruncation),
    (
        "InvalidInputException",
        re.compile(r"Malformed JSON|Could not convert|Could not parse"),
        e.InvalidTextRepresentation,
    ),
    ("InvalidInputException", re.compile(r"[Aa]borted"), e.InFailedSqlTransaction),
    # The catalog's reg* casts raise these through error() (forge_sql.catalog.regtypes).
    ("InvalidInputException", re.compile(r'relation ".*" does not exist'), e.UndefinedTable),
    ("InvalidInputException", re.compile(r'function ".*" does not exist'), e.UndefinedFunction),
    ("InvalidInputException", re.compile(r'type ".*" does not exist'), e.UndefinedObject),
    ("InvalidInputException", re.compile(r'schema ".*" does not exist'), e.UndefinedSchema),
    # format('%I', NULL), translated by forge_sql.sql.semantics
    ("InvalidInputException", re.compile(r"null values cannot be formatted"),
     e.NullValueNotAllowed),
    ("InvalidInputException", None, e.InvalidParameterValue),
    ("NotImplementedException", None, e.FeatureNotSupported),
    ("TypeMismatchException", None, e.DatatypeMismatch),
    ("OutOfMemoryException", None, e.OutOfMemory),
    ("IOException", None, e.IoError),
    ("DependencyException", None, e.FeatureNotSupported),
    ("SequenceException", None, e.InvalidParameterValue),
]


# What DuckLake tables cannot do, reported as 0A000 with what to do instead.
_LAKE_LIMITS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"only widening type promotions are allowed"),
        "DuckLake changes a column's type only to a wider one (INTEGER to BIGINT, FLOAT to "
        "DOUBLE); otherwise add a new column, fill it with UPDATE and drop the old one.",
    ),
    (
        re.compile(r"RETURNING clause not yet supported"),
        "DuckLake tables do not support RETURNING: read the rows with a SELECT.",
    ),
    (
        re.compile(r"Adding columns with constraints not yet supported"),
        "Add the column without the constraint, fill it with UPDATE, then "
        "ALTER TABLE ... ALTER COLUMN ... SET NOT NULL.",
    ),
    (
        re.compile(r"Type with name (SMALL|BIG)?SERIAL does not exist", re.I),
        "DuckLake tables have no sequences: use BIGINT (or UUID with gen_random_uuid()) "
        "and generate the values in the INSERT.",
    ),
    (
        re.compile(r"^Constraint not implemented"),
        "DuckLake tables have no identity or generated columns: compute the values in the "
        "INSERT (BIGINT ids, or UUID with gen_random_uuid()).",
    ),
]


# DuckDB's words once a FATAL error has invalidated the database instance.
INVALIDATED = "database has been invalidated"


def crash(reason: str) -> e.CrashShutdown:
    """What a session gets once DuckDB has invalidated the database (PostgreSQL's words
    after another backend crashed)."""
    return e.CrashShutdown(
        "terminating connection because the database engine failed",
        detail=reason,
        hint="Reconnect: the server opens the database again once its sessions have ended.",
    )


def translate(exc: BaseException, sql: str | None = None) -> e.ForgeError:
    """A ForgeError for a DuckDB exception, with PostgreSQL's code and the error position."""
    if isinstance(exc, e.ForgeError):
        return exc
    text = str(exc)
    message, hint, position = _split(text, sql)
    if isinstance(exc, duckdb.InterruptException):
        return e.QueryCanceled("canceling statement due to user request")
    if isinstance(exc, duckdb.FatalException) or INVALIDATED in text:
        return crash(message)
    kind = type(exc).__name__
    if kind in ("Error", "InvalidInputException", "IOException", "InternalException") and (
            _CORRUPT.search(message)):
        return corrupted(message)
    for limit, lake_hint in _LAKE_LIMITS:
        if limit.search(message):
            return e.FeatureNotSupported(message, hint=lake_hint, position=position)
    overload = _NO_OVERLOAD.match(message) if kind == "BinderException" else None
    if overload is not None:
        return _no_overload(overload.group(1), hint, position)
    implementation = _IMPLEMENTATION.search(message) if kind == "BinderException" else None
    if implementation is not None:
        return _wrong_types(implementation, hint, position)
    for reworded_kind, reworded, reworded_cls, words in _REWORDED:
        found = reworded.search(message) if reworded_kind == kind else None
        if found is not None:
            return reworded_cls(words.format(*found.groups()), hint=hint, position=position)
    for exc_name, pattern, error_cls in _RULES:
        if exc_name is not None and exc_name != kind:
            continue
        if pattern is not None and not pattern.search(message):
            continue
        return error_cls(message, hint=hint, position=position)
    return e.InternalError(message, hint=hint, position=position)


# A typed macro (an extension function's dispatch, forge_sql.plugins.scalars) given
# arguments none of its overloads takes; DuckDB lists them after "Candidate macros:".
_NO_OVERLOAD = re.compile(r"Macro (\S+)\(\) does not support the supplied arguments")


def _no_overload(name: str, hint: str | None, position: int | None) -> e.ForgeError:
    """42883 with the candidate signatures, as PostgreSQL's "function f(integer) does
    not exist" (parse_func.c), whose hint it gives."""
    candidates = [
        line.strip().replace(" := ", " DEFAULT ")
        for line in (hint or "").splitlines()
        if line.strip() and not line.startswith("Candidate")
    ]
    return e.UndefinedFunction(
        f"function {name} does not exist for the given argument types",
        detail="Candidates: " + "; ".join(candidates) if candidates else None,
        hint="No function matches the given name and argument types. "
        "You might need to add explicit type casts.",
        position=position,
    )


# An extension function's implementation (forge_sql.plugins.registry names them) given
# arguments it cannot take: 'forge_ext_s0_public__f__0(INTEGER_LITERAL)'.
_IMPLEMENTATION = re.compile(
    r"No function matches the given name and argument types "
    r"'forge_ext_s\d+_(?P<schema>\w+?)__(?P<name>\w+)__\d+\((?P<types>[^)]*)\)'"
)
_LITERAL_TYPES = {"INTEGER_LITERAL": "integer", "STRING_LITERAL": "unknown"}


def _wrong_types(found: re.Match[str], hint: str | None, position: int | None
                 ) -> e.ForgeError:
    """42883 for an extension function called with arguments of the wrong types."""
    types = ", ".join(
        _LITERAL_TYPES.get(t.strip(), t.strip().lower())
        for t in found["types"].split(",") if t.strip()
    )
    return e.UndefinedFunction(
        f"function {found['name']}({types}) does not exist",
        hint="No function matches the given name and argument types. "
        "You might need to add explicit type casts.",
        position=position,
    )


def corrupted(reason: str) -> e.DataCorrupted:
    """XX001 (data_corrupted) for a data file that cannot be read; the file, when the
    reader names it, in the message and the DETAIL."""
    reason = "".join(c if c.isprintable() else "?" for c in reason).strip()
    found = _FILE.search(reason)
    hint = ("The file is damaged or was changed outside forge-sql: restore it from a "
            "backup (docs/storage.md). Other tables are not affected.")
    if found is None:
        return e.DataCorrupted(f"could not read a data file of the lake: {reason}", hint=hint)
    path = found["path"]
    reason = reason.replace(f" '{path}'", "").replace(f"'{path}' ", "")
    return e.DataCorrupted(f'could not read data file "{path}": {reason}',
                           detail=f"File: {path}", hint=hint)


def _split(text: str, sql: str | None) -> tuple[str, str | None, int | None]:
    """Message, hint and 1-based character position from DuckDB's multi-line error text."""
    lines = text.split("\n")
    message = _PREFIX.sub("", lines[0], count=1).strip()
    hints: list[str] = []
    position: int | None = None
    index = 1
    while index < len(lines):
        line = lines[index]
        match = _LINE.match(line)
        if match and index + 1 < len(lines) and lines[index + 1].rstrip().endswith("^"):
            caret = lines[index + 1].index("^") - (len(line) - len(match.group(2)))
            position = _position(sql, int(match.group(1)), match.group(2), caret)
            index += 2
            continue
        if line.strip():
            hints.append(line.strip())
        index += 1
    return message, "\n".join(hints) or None, position


def _position(sql: str | None, line_no: int, shown: str, caret: int) -> int | None:
    """Map DuckDB's ``LINE n:`` excerpt and caret column back to an offset in ``sql``."""
    if sql is None or caret < 0:
        return None
    sql_lines = sql.split("\n")
    if not 1 <= line_no <= len(sql_lines):
        return None
    line_start = sum(len(line) + 1 for line in sql_lines[: line_no - 1])
    full = sql_lines[line_no - 1]
    fragment = shown[3:] if shown.startswith("...") else shown
    fragment = fragment[:-3] if fragment.endswith("...") else fragment
    shift = 3 if shown.startswith("...") else 0
    offset = full.find(fragment) if fragment else 0
    if offset < 0:
        return None
    return line_start + offset + (caret - shift) + 1
