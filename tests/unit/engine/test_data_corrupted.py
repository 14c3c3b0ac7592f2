"""DuckDB's Parquet reader errors on a damaged data file become XX001 data_corrupted, with
the file in the message and DETAIL when DuckDB names it; look-alike errors do not."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql import errors
from forge_sql.sql.duckdb_errors import translate

PATH = "/data/lake/public/t/ducklake-0193.parquet"


@pytest.mark.parametrize("exc", [
    duckdb.InvalidInputException(f"Invalid Input Error: No magic bytes found at end of file "
                                 f"'{PATH}'"),
    duckdb.InvalidInputException(f"Invalid Input Error: File '{PATH}' too small to be a "
                                 "Parquet file"),
    duckdb.InvalidInputException(f"Invalid Input Error: Footer length error in file '{PATH}'"),
])
def test_named_file(exc: duckdb.Error) -> None:
    error = translate(exc)
    assert isinstance(error, errors.DataCorrupted) and error.sqlstate == "XX001"
    assert error.message.startswith(f'could not read data file "{PATH}": ')
    assert error.message.count(PATH) == 1
    assert error.detail == f"File: {PATH}"


@pytest.mark.parametrize("text", ["don't know what type: \x0f", "TProtocolException: Invalid data"])
def test_thrift_errors_without_a_name(text: str) -> None:
    error = translate(duckdb.Error(text))
    assert error.sqlstate == "XX001" and error.detail is None  # the session looks for the file
    assert error.message.isprintable()


@pytest.mark.parametrize(("exc", "sqlstate"), [
    (duckdb.InvalidInputException("Invalid Input Error: Malformed JSON at byte 0 of input: "
                                  "no magic bytes"), "22P02"),
    (duckdb.ConversionException("Conversion Error: Could not convert string 'Footer length "
                                "error' to INT32"), "22P02"),
])
def test_look_alikes_keep_their_code(exc: duckdb.Error, sqlstate: str) -> None:
    assert translate(exc).sqlstate == sqlstate
