"""Text-format parameter syntax that the engine cannot cast from a plain string.

bytea input (``\\x`` hex or the escape format, src/backend/utils/adt/varlena.c ``byteain``)
and array literals (``{1,"a b",NULL}``, arrayfuncs.c ``array_in``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from forge_sql.errors import (
    CharacterNotInRepertoire,
    InvalidParameterValue,
    InvalidTextRepresentation,
)
from forge_sql.seam import oids

_ESCAPE = re.compile(rb"\\(\\|[0-3][0-7]{2})")
_ESCAPED_BYTEA = re.compile(rb"(?:[^\\]|\\\\|\\[0-3][0-7]{2})*", re.DOTALL)
_DIMENSIONS = re.compile(r"\s*(\[\s*-?\d+\s*(:\s*-?\d+\s*)?\])+\s*=")
_SPACE = " \t\n\r\v\f"


def type_name(type_oid: int) -> str:
    info = oids.TYPES.get(type_oid)
    return info.name if info else f"OID {type_oid}"


def decode_utf8(data: bytes, type_oid: int) -> str:
    """UTF-8 text of a parameter; invalid sequences and NUL are 22021, as in PostgreSQL."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CharacterNotInRepertoire(
            f'invalid byte sequence for encoding "UTF8": 0x{data[exc.start : exc.start + 1].hex()}',
            detail=f"in a value of type {type_name(type_oid)}",
        ) from None
    if "\x00" in text:
        raise CharacterNotInRepertoire(
            'invalid byte sequence for encoding "UTF8": 0x00',
            detail=f"in a value of type {type_name(type_oid)}",
        )
    return text


def parse_bytea(data: bytes) -> bytes:
    """bytea text input: ``\\x`` then hex digit pairs, or the traditional escape format."""
    if data[:2] == b"\\x":
        try:
            return bytes.fromhex(data[2:].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise InvalidParameterValue(
                f"invalid hexadecimal data for type bytea: {data[:40]!r}"
            ) from None
    if b"\\" not in data:
        return data
    if not _ESCAPED_BYTEA.fullmatch(data):  # a backslash must start \\ or \ooo
        raise InvalidTextRepresentation("invalid input syntax for type bytea")

    def unescape(match: re.Match[bytes]) -> bytes:
        token = match.group(1)
        return b"\\" if token == b"\\" else bytes([int(token, 8)])

    return _ESCAPE.sub(unescape, data)


Element = str | bytes | None
Nested = list["Element | Nested"]


def parse_array(text: str, type_oid: int, convert: Callable[[str], bytes] | None = None) -> Nested:
    """An array literal as nested lists of element strings (None for NULL)."""
    return _ArrayParser(text, type_oid, convert).parse()


class _ArrayParser:
    def __init__(self, text: str, type_oid: int, convert: Callable[[str], bytes] | None) -> None:
        self.text = text
        self.pos = 0
        self.type_oid = type_oid
        self.convert = convert

    def error(self, detail: str) -> InvalidTextRepresentation:
        return InvalidTextRepresentation(
            f'malformed array literal: "{self.text[:100]}"', detail=detail
        )

    def parse(self) -> Nested:
        dims = _DIMENSIONS.match(self.text)
        if dims:
            self.pos = dims.end()
        self.skip_space()
        if not self.text.startswith("{", self.pos):
            raise self.error('Array value must start with "{" or dimension information.')
        result = self.parse_list()
        self.skip_space()
        if self.pos != len(self.text):
            raise self.error("Junk after closing right brace.")
        return result

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def parse_list(self) -> Nested:
        self.pos += 1  # '{'
        items: Nested = []
        self.skip_space()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return items
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("Unexpected end of input.")
            if self.text[self.pos] == "{":
                items.append(self.parse_list())
            else:
                items.append(self.parse_element())
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("Unexpected end of input.")
            char = self.text[self.pos]
            self.pos += 1
            if char == "}":
                return items
            if char != ",":
                raise self.error(f'Unexpected "{char}" character.')

    def parse_element(self) -> Element:
        out: list[str] = []
        quoted_any = escaped_any = False
        last_kept = 0  # length of out up to the last quoted/escaped/non-space char
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                quoted_any = True
                self.pos += 1
                while True:
                    if self.pos >= len(text):
                        raise self.error("Unexpected end of input.")
                    char = text[self.pos]
                    self.pos += 1
                    if char == '"':
                        break
                    if char == "\\":
                        if self.pos >= len(text):
                            raise self.error("Unexpected end of input.")
                        char = text[self.pos]
                        self.pos += 1
                    out.append(char)
                last_kept = len(out)
            elif char == "\\":
                if self.pos + 1 >= len(text):
                    raise self.error("Unexpected end of input.")
                out.append(text[self.pos + 1])
                self.pos += 2
                last_kept = len(out)
                escaped_any = True
            elif char in ",}":
                break
            elif char == "{":
                raise self.error('Unexpected "{" character.')
            else:
                out.append(char)
                self.pos += 1
                if char not in _SPACE:
                    last_kept = len(out)
        value = "".join(out[:last_kept])  # unquoted trailing white space is dropped
        if not quoted_any and not escaped_any and value.upper() == "NULL":
            return None
        if not quoted_any and not value:
            raise self.error("Unexpected end of element.")
        return self.convert(value) if self.convert else value
