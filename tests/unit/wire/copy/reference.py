"""Reference COPY FROM parsers for the tests: byte-at-a-time Python that follows
PostgreSQL's copyfromparse.c (CopyReadLineText, CopyReadAttributesText/CSV, NextCopyFrom).

They return the rows, or raise ``Failure(line, message)`` for the first faulty line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

Row = tuple[str | None, ...]
_LETTERS = {ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("v"): 11}
_HEX = b"0123456789abcdefABCDEF"


class Failure(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def _field_count(line: int, fields: list[object], names: Sequence[str]) -> None:
    if len(fields) > len(names):
        raise Failure(line, "extra data after last expected column")
    if len(fields) < len(names):
        raise Failure(line, f'missing data for column "{names[len(fields)]}"')


def _text(line: int, raw: bytes) -> str:
    if b"\x00" in raw:
        raise Failure(line, "invalid byte sequence")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(line, "invalid byte sequence") from None


def text_rows(
    data: bytes, delimiter: bytes, null: bytes, names: Sequence[str], header: bool = False
) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(_text_lines(data), 1):
        if line == b"\\.":
            break
        _text(number, line.replace(b"\\", b""))  # raw bytes must be UTF-8 (escapes aside)
        if header and number == 1:
            continue
        fields: list[bytes] = []
        current = bytearray()
        i = 0
        while i < len(line):
            c = line[i]
            if c == 92 and i + 1 < len(line):
                current += line[i : i + 2]
                i += 2
                continue
            if c == delimiter[0]:
                fields.append(bytes(current))
                current = bytearray()
            else:
                current.append(c)
            i += 1
        fields.append(bytes(current))
        _field_count(number, list(fields), names)
        rows.append(tuple(None if f == null else _text(number, _unescape(f)) for f in fields))
    return rows


def _text_lines(data: bytes) -> Iterator[bytes]:
    """Lines one by one, so that a fault is found in line order."""
    count = 0
    current = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 92 and i + 1 < len(data):
            current += data[i : i + 2]
            i += 2
            continue
        i += 1
        if c == 13:
            if i < len(data) and data[i] == 10:
                continue  # CR LF: the LF ends the line
            raise Failure(count + 1, "literal carriage return found in data")
        if c == 10:
            count += 1
            yield bytes(current)
            current = bytearray()
        else:
            current.append(c)
    if current:
        yield bytes(current)


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        i += 1
        if c != 92:
            out.append(c)
            continue
        if i >= len(raw):
            break
        c = raw[i]
        i += 1
        if 48 <= c <= 55:
            value = c - 48
            for _ in range(2):
                if i < len(raw) and 48 <= raw[i] <= 55:
                    value = value * 8 + raw[i] - 48
                    i += 1
                else:
                    break
            out.append(value & 0xFF)
        elif c == ord("x") and i < len(raw) and raw[i] in _HEX:
            value = int(raw[i : i + 1], 16)
            i += 1
            if i < len(raw) and raw[i] in _HEX:
                value = value * 16 + int(raw[i : i + 1], 16)
                i += 1
            out.append(value)
        else:
            out.append(_LETTERS.get(c, c))
    return bytes(out)


def csv_rows(
    data: bytes,
    delimiter: bytes,
    quote: bytes,
    escape: bytes,
    null: bytes,
    names: Sequence[str],
    header: bool = False,
    force_null: Sequence[str] = (),
    force_not_null: Sequence[str] = (),
) -> list[Row]:
    d, q, e = delimiter[0], quote[0], escape[0]
    rows: list[Row] = []
    i, n, number = 0, len(data), 0
    while i < n:
        number += 1
        # One record: fields with their raw bytes, value and whether a quote was seen.
        fields: list[tuple[bytes, bytes, bool]] = []
        raw, value, quoted = bytearray(), bytearray(), False
        start = i
        while True:
            if i >= n:
                break
            c = data[i]
            if c == q:
                quoted = True
                raw.append(c)
                i += 1
                while True:
                    if i >= n:
                        raise Failure(number, "unterminated CSV quoted field")
                    c = data[i]
                    if c == e and i + 1 < n and data[i + 1] in (e, q):
                        raw += data[i : i + 2]
                        value.append(data[i + 1])
                        i += 2
                        continue
                    raw.append(c)
                    i += 1
                    if c == q:
                        break
                    if c == 10:
                        number += 1  # PostgreSQL counts newlines in quoted fields as lines
                    value.append(c)
                continue
            if c == 13:
                if i + 1 < n and data[i + 1] == 10:
                    i += 1
                    continue
                raise Failure(number, "unquoted carriage return found in data")
            i += 1
            if c == 10:
                break
            if c == d:
                fields.append((bytes(raw), bytes(value), quoted))
                raw, value, quoted = bytearray(), bytearray(), False
            else:
                raw.append(c)
                value.append(c)
        fields.append((bytes(raw), bytes(value), quoted))
        record = data[start:i].rstrip(b"\n").rstrip(b"\r")
        if record == b"\\.":
            break
        _text(number, data[start:i])
        if header and start == 0:
            continue
        _field_count(number, list(fields), names)
        row: list[str | None] = []
        for name, (raw_bytes, value_bytes, was_quoted) in zip(names, fields, strict=True):
            text = _text(number, value_bytes)
            unquoted_null = not was_quoted and raw_bytes == null and name not in force_not_null
            forced_null = was_quoted and value_bytes == null and name in force_null
            row.append(None if unquoted_null or forced_null else text)
        rows.append(tuple(row))
    return rows
