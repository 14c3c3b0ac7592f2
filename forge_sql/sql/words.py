"""Reading a DDL statement the server parses itself (sequences, materialized views) word
by word: its tokens without comments or the closing semicolon, and PostgreSQL's syntax
error at the first word that does not fit."""

from __future__ import annotations

from forge_sql import errors
from forge_sql.sql.statements import Statement, identifier


class WordReader:
    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.tokens = [t for t in statement.tokens if t.kind != "comment"]
        while self.tokens and self.tokens[-1].text == ";":
            self.tokens.pop()
        self.at = 0

    def peek(self, ahead: int = 0) -> str:
        at = self.at + ahead
        return self.tokens[at].upper if at < len(self.tokens) else ""

    def take(self, *words: str) -> bool:
        """Step over ``words`` if they come next (upper case); whether they did."""
        if all(self.peek(i) == w for i, w in enumerate(words)):
            self.at += len(words)
            return True
        return False

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    def fail(self) -> errors.SyntaxError_:
        near = self.tokens[self.at].text if not self.done() else "end of input"
        return errors.SyntaxError_(f'syntax error at or near "{near}"')

    def end(self) -> None:
        if not self.done():
            raise self.fail()

    def identifier(self) -> str:
        if self.done() or self.tokens[self.at].kind not in ("identifier", "keyword"):
            raise self.fail()
        token = self.tokens[self.at]
        self.at += 1
        return identifier(self.statement, token)

    def name(self) -> tuple[str, ...]:
        """A possibly qualified name: at most catalog.schema.name, as PostgreSQL."""
        parts = [self.identifier()]
        while self.take("."):
            parts.append(self.identifier())
        if len(parts) > 3:
            raise errors.SyntaxError_(
                f"improper qualified name (too many dotted names): {'.'.join(parts)}"
            )
        return tuple(parts)

    def integer(self) -> int:
        sign = 1
        if self.peek() in ("-", "+"):
            sign = -1 if self.peek() == "-" else 1
            self.at += 1
        if self.done() or self.tokens[self.at].kind != "numeric_const":
            raise self.fail()
        text = self.tokens[self.at].text
        self.at += 1
        try:
            return sign * int(text)
        except ValueError:
            raise errors.SyntaxError_(f'syntax error at or near "{text}"') from None
