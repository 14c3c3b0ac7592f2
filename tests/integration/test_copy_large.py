"""A large COPY writes Parquet files as it goes and adds them in its transaction:
memory stays bounded, and a failure or a rollback leaves no rows and no files."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from server import RunningServer, start_server

ROWS_PER_CHUNK = 100_000
ROWS = 6_000_000


def chunk(start: int) -> bytes:
    return "".join(
        f"{i}\tname-{i}\t{i * 0.5}\n" for i in range(start, start + ROWS_PER_CHUNK)
    ).encode()


def peak_rss_mib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+)", status)
    assert match is not None
    return int(match.group(1)) // 1024


def staged(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "lake" / "copy").glob("*.parquet"))


@pytest.fixture
def private_server(tmp_path: Path) -> RunningServer:
    server = start_server(tmp_path / "data")
    yield server
    log = server.stop()
    assert "Traceback" not in log


def test_large_copy_is_staged_as_parquet_with_bounded_memory(
    private_server: RunningServer,
) -> None:
    with psycopg.connect(private_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id BIGINT NOT NULL, name VARCHAR, amount DOUBLE)")
        before = peak_rss_mib(private_server.pid)
        with conn.cursor().copy("COPY big FROM STDIN") as copy:
            for start in range(0, ROWS, ROWS_PER_CHUNK):
                copy.write(chunk(start))
        assert conn.execute("SELECT count(*), sum(id), max(name) FROM big").fetchone() == (
            ROWS, sum(range(ROWS)), "name-999999")
        grown = peak_rss_mib(private_server.pid) - before
    # Rows held in the transaction until COMMIT took ~85 MiB per million (over 500 MiB
    # here); staged, the growth is the batches in flight only (~200 MiB at 3M and at 6M).
    assert grown < 350, f"server peak RSS grew by {grown} MiB during the COPY"
    assert staged(private_server.data_dir), "the COPY did not write Parquet files"


def test_failed_large_copy_leaves_no_rows_and_no_files(private_server: RunningServer) -> None:
    with psycopg.connect(private_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id BIGINT NOT NULL, name VARCHAR, amount DOUBLE)")
        with (
            pytest.raises(psycopg.errors.InvalidTextRepresentation) as info,
            conn.cursor().copy("COPY big FROM STDIN") as copy,
        ):
            for start in range(0, 1_000_000, ROWS_PER_CHUNK):
                copy.write(chunk(start))
            copy.write(b"oops\tx\t1\n")
        assert "line 1000001" in (info.value.diag.context or "")
        assert conn.execute("SELECT count(*) FROM big").fetchone() == (0,)
        assert staged(private_server.data_dir) == []


def test_large_copy_rolled_back_with_its_transaction(private_server: RunningServer) -> None:
    with psycopg.connect(private_server.dsn()) as conn:
        conn.execute("CREATE TABLE big (id BIGINT NOT NULL, name VARCHAR, amount DOUBLE)")
        conn.commit()
        with conn.cursor().copy("COPY big FROM STDIN") as copy:
            for start in range(0, 500_000, ROWS_PER_CHUNK):
                copy.write(chunk(start))
        assert conn.execute("SELECT count(*) FROM big").fetchone() == (500_000,)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM big").fetchone() == (0,)
    assert staged(private_server.data_dir) == []


def test_large_copy_checks_not_null(private_server: RunningServer) -> None:
    rows = "".join(f"{i}\tn\t1\n" for i in range(50_000)) + "\\N\tn\t1\n"
    with psycopg.connect(private_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id BIGINT NOT NULL, name VARCHAR, amount DOUBLE)")
        with (
            pytest.raises(psycopg.errors.NotNullViolation),
            conn.cursor().copy("COPY big FROM STDIN") as copy,
        ):
            copy.write(rows.encode())
        assert conn.execute("SELECT count(*) FROM big").fetchone() == (0,)


TYPED_COLUMNS = ("(i SMALLINT, n INTEGER, b BIGINT NOT NULL, f DOUBLE, flag BOOLEAN, d DATE, "
                 "ts TIMESTAMP, s VARCHAR)")
TYPED_ROWS = 30_000  # above the staging threshold, so Parquet files are written


def typed_line(k: int, sep: str, null: str) -> str:
    """Row k of the typed table, every 7th value NULL (b never: it is NOT NULL)."""
    values = [str(k % 30_000 - 15_000), str(k * 7), str(k * 1_000_003), repr(k / 8 - 3.3),
              "t" if k % 3 else "false", f"2024-{k % 12 + 1:02d}-{k % 28 + 1:02d}",
              f"2023-05-06 07:08:{k % 60:02d}.{k % 1000:03d}", f"s{k}"]
    return sep.join(null if (k + i) % 7 == 0 and i != 2 else v for i, v in enumerate(values))


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure-python"])
def test_typed_copy_is_stored_exactly(tmp_path: Path, pure: bool) -> None:
    """Text and CSV of numbers, booleans, dates, timestamps and strings, with NULLs:
    read by Arrow's CSV reader (or, with FORGE_SQL_PURE_PYTHON, by the general decoder and
    DuckDB's casts) and stored as Parquet, they read back as DuckDB casts the text."""
    server = start_server(tmp_path / "data", env={"FORGE_SQL_PURE_PYTHON": "1" if pure else ""})
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for table, statement, sep, null in (
                ("typed_text", "COPY typed_text FROM STDIN", "\t", "\\N"),
                ("typed_csv", "COPY typed_csv FROM STDIN (FORMAT csv)", ",", ""),
            ):
                conn.execute(f"CREATE TABLE {table} {TYPED_COLUMNS}")
                lines = [typed_line(k, sep, null) for k in range(TYPED_ROWS)]
                with conn.cursor().copy(statement) as copy:
                    copy.write("\n".join(lines) + "\n")
            files = staged(server.data_dir)
            assert files, "the COPY did not write Parquet files"
            # Typed batches are written by Arrow's Parquet writer, strings cast by DuckDB.
            writers = {pq.read_metadata(f).created_by.split()[0] for f in files}
            assert writers == ({"DuckDB"} if pure else {"parquet-cpp-arrow"})
            got = conn.execute(
                "SELECT count(*), count(i), sum(i), sum(n), sum(b), sum(f), count(flag), "
                "sum(flag::INT), min(d), max(d), min(ts), max(ts), max(s) "
                "FROM typed_text").fetchone()
            assert got == conn.execute(
                "SELECT count(*), count(i), sum(i), sum(n), sum(b), sum(f), count(flag), "
                "sum(flag::INT), min(d), max(d), min(ts), max(ts), max(s) "
                "FROM typed_csv").fetchone()
            assert got is not None and got[0] == TYPED_ROWS
            for k in (0, 1, 6, 7, 12_345, TYPED_ROWS - 1):
                row = conn.execute(
                    "SELECT i::VARCHAR, n::VARCHAR, b::VARCHAR, f, flag, d::VARCHAR, "
                    "strftime(ts, '%%Y-%%m-%%d %%H:%%M:%%S.%%g'), s FROM typed_text "
                    "WHERE b = %s", (k * 1_000_003,)).fetchone()
                assert row is not None
                fields = typed_line(k, "\t", "\\N").split("\t")
                for index, (value, text) in enumerate(zip(row, fields, strict=True)):
                    if text == "\\N":
                        assert value is None, (k, index)
                    elif index == 3:
                        assert value == float(text)
                    elif index == 4:
                        assert value is (text == "t")
                    else:
                        assert value == text, (k, index)
    finally:
        log = server.stop()
    assert "Traceback" not in log
