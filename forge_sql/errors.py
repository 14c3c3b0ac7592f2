"""Error types of forge-sql, each carrying the PostgreSQL SQLSTATE it is reported with.

Codes and condition names follow the PostgreSQL manual, Appendix A "PostgreSQL Error Codes".
"""

from __future__ import annotations

from typing import ClassVar


class ForgeError(Exception):
    """Base of every error forge-sql reports to a client.

    ``sqlstate`` is the five-character code sent in the ErrorResponse ``C`` field;
    ``severity`` is ERROR unless the connection cannot continue (FATAL).
    """

    sqlstate: ClassVar[str] = "XX000"
    severity: ClassVar[str] = "ERROR"
    _by_sqlstate: ClassVar[dict[str, type[ForgeError]]] = {}

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The first class declared for a code is the one ``for_sqlstate`` returns.
        ForgeError._by_sqlstate.setdefault(cls.sqlstate, cls)

    @classmethod
    def for_sqlstate(cls, sqlstate: str) -> type[ForgeError]:
        return cls._by_sqlstate.get(sqlstate, ForgeError)


class FatalError(ForgeError):
    """An error after which the connection is closed."""

    severity = "FATAL"


# Class 08 - connection exception
class ProtocolViolation(FatalError):
    sqlstate = "08P01"


class ProtocolError(ForgeError):
    """A well-formed message the session cannot act on (e.g. Bind counts that disagree):
    PostgreSQL reports these as ERROR 08P01 and the connection stays usable."""

    sqlstate = "08P01"


# Class 0A - feature not supported
class FeatureNotSupported(ForgeError):
    sqlstate = "0A000"


class UnsupportedProtocol(FatalError):
    sqlstate = "0A000"


# Class 22 - data exception
class DataError(ForgeError):
    sqlstate = "22000"


class NumericValueOutOfRange(DataError):
    sqlstate = "22003"


class SequenceGeneratorLimitExceeded(DataError):
    sqlstate = "2200H"


class StringDataRightTruncation(DataError):
    sqlstate = "22001"


class DivisionByZero(DataError):
    sqlstate = "22012"


class InvalidDatetimeFormat(DataError):
    sqlstate = "22007"


class DatetimeFieldOverflow(DataError):
    sqlstate = "22008"


class InvalidArgumentForLogarithm(DataError):
    sqlstate = "2201E"


class InvalidArgumentForPowerFunction(DataError):
    sqlstate = "2201F"


class SubstringError(DataError):
    sqlstate = "22011"


class InvalidTextRepresentation(DataError):
    sqlstate = "22P02"


class InvalidBinaryRepresentation(DataError):
    sqlstate = "22P03"


class InvalidParameterValue(DataError):
    sqlstate = "22023"


class NullValueNotAllowed(DataError):
    sqlstate = "22004"


class InvalidEscapeSequence(DataError):
    sqlstate = "22025"


class InvalidRegularExpression(DataError):
    sqlstate = "2201B"


class CharacterNotInRepertoire(DataError):
    sqlstate = "22021"


class BadCopyFileFormat(DataError):
    sqlstate = "22P04"


# Class 21 - cardinality violation
class CardinalityViolation(ForgeError):
    sqlstate = "21000"


# Class 23 - integrity constraint violation
class NotNullViolation(ForgeError):
    sqlstate = "23502"


class UniqueViolation(ForgeError):
    sqlstate = "23505"


class ForeignKeyViolation(ForgeError):
    sqlstate = "23503"


class CheckViolation(ForgeError):
    sqlstate = "23514"


# Class 25 - invalid transaction state
class ActiveSqlTransaction(ForgeError):
    sqlstate = "25001"


class NoActiveSqlTransaction(ForgeError):
    sqlstate = "25P01"


class InFailedSqlTransaction(ForgeError):
    sqlstate = "25P02"


class ReadOnlySqlTransaction(ForgeError):
    sqlstate = "25006"


class IdleInTransactionSessionTimeout(FatalError):
    sqlstate = "25P03"


class InvalidSavepointSpecification(ForgeError):
    sqlstate = "3B001"


# Class 26 / 34 - invalid statement or cursor name
class InvalidSqlStatementName(ForgeError):
    sqlstate = "26000"


class InvalidCursorName(ForgeError):
    sqlstate = "34000"


# Class 28 - invalid authorization specification
class InvalidAuthorization(FatalError):
    sqlstate = "28000"


class InvalidPassword(FatalError):
    sqlstate = "28P01"


# Class 3D - invalid catalog name
class InvalidCatalogName(FatalError):
    sqlstate = "3D000"


# Class 40 - transaction rollback
class SerializationFailure(ForgeError):
    sqlstate = "40001"


class DeadlockDetected(ForgeError):
    sqlstate = "40P01"


# Class 42 - syntax error or access rule violation
class SyntaxError_(ForgeError):
    sqlstate = "42601"


class InsufficientPrivilege(ForgeError):
    sqlstate = "42501"


class UndefinedTable(ForgeError):
    sqlstate = "42P01"


class InvalidColumnReference(ForgeError):
    sqlstate = "42P10"


class GeneratedAlways(ForgeError):
    sqlstate = "428C9"


class InvalidForeignKey(ForgeError):
    sqlstate = "42830"


class ReservedName(ForgeError):
    sqlstate = "42939"


class DependentObjectsStillExist(ForgeError):
    sqlstate = "2BP01"


class InvalidGrantOperation(ForgeError):
    sqlstate = "0LP01"


class UndefinedColumn(ForgeError):
    sqlstate = "42703"


class UndefinedFunction(ForgeError):
    sqlstate = "42883"


class InvalidFunctionDefinition(ForgeError):
    """An extension file that cannot be loaded (reload)."""

    sqlstate = "42P13"


class UndefinedObject(ForgeError):
    sqlstate = "42704"


class UndefinedSchema(ForgeError):
    sqlstate = "3F000"


class DuplicateTable(ForgeError):
    sqlstate = "42P07"


class DuplicateObject(ForgeError):
    sqlstate = "42710"


class DuplicateSchema(ForgeError):
    sqlstate = "42P06"


class DuplicatePreparedStatement(ForgeError):
    sqlstate = "42P05"


class DuplicateCursor(ForgeError):
    sqlstate = "42P03"


class InvalidCursorDefinition(ForgeError):
    sqlstate = "42P11"


class DatatypeMismatch(ForgeError):
    sqlstate = "42804"


class AmbiguousColumn(ForgeError):
    sqlstate = "42702"


class GroupingError(ForgeError):
    sqlstate = "42803"


class InvalidSchemaDefinition(ForgeError):
    sqlstate = "42P15"


class InvalidTableDefinition(ForgeError):
    sqlstate = "42P16"


# Class 53 - insufficient resources
class OutOfMemory(ForgeError):
    sqlstate = "53200"


class TooManyConnections(FatalError):
    sqlstate = "53300"


# Class 54 - program limit exceeded
class ProgramLimitExceeded(ForgeError):
    sqlstate = "54000"


# Class 55 - object not in prerequisite state
class ObjectNotInPrerequisiteState(ForgeError):
    sqlstate = "55000"


class ObjectInUse(ForgeError):
    sqlstate = "55006"


class CantChangeRuntimeParam(ForgeError):
    sqlstate = "55P02"


class LockNotAvailable(ForgeError):
    sqlstate = "55P03"


# Class 57 - operator intervention
class QueryCanceled(ForgeError):
    sqlstate = "57014"


class AdminShutdown(FatalError):
    sqlstate = "57P01"


class CrashShutdown(FatalError):
    sqlstate = "57P02"


class CannotConnectNow(FatalError):
    sqlstate = "57P03"


class IdleSessionTimeout(FatalError):
    sqlstate = "57P05"


# Class 58 - system error
class IoError(ForgeError):
    sqlstate = "58030"


# Class XX - internal error
class InternalError(ForgeError):
    sqlstate = "XX000"


class DataCorrupted(InternalError):
    sqlstate = "XX001"


# Class 42 - an object of another kind than the statement acts on
class WrongObjectType(ForgeError):
    sqlstate = "42809"


class ConfigError(Exception):
    """Invalid settings: reported on the command line, never over the wire."""


def utf8_position(data: bytes, error: UnicodeDecodeError) -> tuple[int, int]:
    """Line and column (from 1) of the byte that is not UTF-8, for file:line:column."""
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    return line, column
