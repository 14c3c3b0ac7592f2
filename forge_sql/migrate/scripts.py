"""The content of SQL and Python migrations: up and down parts, loaded and checked."""

from __future__ import annotations

import importlib.util
import re
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from forge_sql.migrate.errors import DatabaseError, MigrationError
from forge_sql.migrate.files import MigrationFile

# As in dbmate: everything after a line `-- migrate:down` undoes what comes before it.
_DOWN = re.compile(r"^--\s*migrate:down\s*$", re.IGNORECASE | re.MULTILINE)


def sql_parts(text: str) -> tuple[str, str | None]:
    """The up part of a SQL migration (offsets kept, for line numbers) and its down part."""
    match = _DOWN.search(text)
    if match is None:
        return text, None
    return text[: match.start()], text[match.end() :]


def python_module(file: MigrationFile) -> ModuleType:
    name = f"forge_migration_{re.sub(r'[^0-9A-Za-z_]', '_', file.label)}"
    spec = importlib.util.spec_from_file_location(name, file.path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"{file.script}: cannot load as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(
            f"{_where(exc, file)}: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(module, "up", None)):
        raise MigrationError(f"{file.script}: a Python migration defines up(conn)")
    return module


def run_python(file: MigrationFile, function: str, conn: Any) -> None:
    """Call ``up`` or ``down`` of a Python migration; errors name the file and line."""
    module = python_module(file)
    call: Callable[[Any], object] | None = getattr(module, function, None)
    if call is None:
        raise MigrationError(f"{file.script} has no {function}(conn): it cannot be rolled back")
    try:
        call(conn)
    except MigrationError:
        raise
    except DatabaseError as exc:
        state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
        raise MigrationError(
            f"{_where(exc, file)}: {function}() failed: {exc.message}{state}\n"
            f"  nothing of {file.script} was applied"
        ) from exc
    except Exception as exc:
        raise MigrationError(
            f"{_where(exc, file)}: {function}() failed: "
            f"{type(exc).__name__}: {exc}\n  nothing of {file.script} was applied"
        ) from exc


def _where(exc: BaseException, file: MigrationFile) -> str:
    line = _line(exc, file)
    return f"{file.script}:{line}" if line else file.script


def _line(exc: BaseException, file: MigrationFile) -> int:
    """The last line of the migration file in the exception's traceback."""
    line = 0
    wanted = file.path.resolve()
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == wanted:
            line = frame.lineno or 0
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    return line
