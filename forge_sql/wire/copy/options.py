"""The checks PostgreSQL's ProcessCopyOptions makes on COPY format options; the codecs
rely on them (single-byte delimiter, quote and escape; no newline in the NULL string)."""

from __future__ import annotations

from forge_sql.errors import FeatureNotSupported, InvalidParameterValue
from forge_sql.seam.backend import CopyFormat

_TEXT_FORBIDDEN = "\\.abcdefghijklmnopqrstuvwxyz0123456789"


def check_format(fmt: CopyFormat) -> None:
    """Raise what PostgreSQL raises for options the format cannot work with."""
    if fmt.kind not in ("text", "csv", "binary"):
        raise FeatureNotSupported(f'COPY format "{fmt.kind}" not recognized')
    if fmt.kind == "binary":
        if fmt.header:
            raise FeatureNotSupported("cannot specify HEADER in BINARY mode")
        return
    csv = fmt.kind == "csv"
    if not _one_byte(fmt.delimiter):
        raise FeatureNotSupported("COPY delimiter must be a single one-byte character")
    if fmt.delimiter in "\r\n":
        raise InvalidParameterValue("COPY delimiter cannot be newline or carriage return")
    if "\r" in fmt.null or "\n" in fmt.null:
        raise InvalidParameterValue(
            "COPY null representation cannot use newline or carriage return"
        )
    if not csv and fmt.delimiter in _TEXT_FORBIDDEN:
        raise InvalidParameterValue(f'COPY delimiter cannot be "{fmt.delimiter}"')
    if csv:
        if not _one_byte(fmt.quote):
            raise FeatureNotSupported("COPY quote must be a single one-byte character")
        if fmt.delimiter == fmt.quote:
            raise InvalidParameterValue("COPY delimiter and quote must be different")
        if not _one_byte(fmt.escape):
            raise FeatureNotSupported("COPY escape must be a single one-byte character")
        if fmt.quote in fmt.null:
            raise InvalidParameterValue(
                "CSV quote character must not appear in the NULL specification"
            )
    if fmt.delimiter in fmt.null:
        raise InvalidParameterValue("COPY delimiter must not appear in the NULL specification")


def _one_byte(option: str) -> bool:
    return len(option.encode()) == 1
