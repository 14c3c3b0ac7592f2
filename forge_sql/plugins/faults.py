"""Exceptions raised inside extension functions, turned into the client's error.

DuckDB reports a Python function's exception as InvalidInputException with the exception
text in its message, losing the SQLSTATE and the traceback. The function's wrapper keeps
the exception here under a number and raises a marker carrying only that number; the
session's error translation (``error_of``) takes it back: 38000 (or the ExtensionError's
SQLSTATE), the message, a DETAIL naming the function and file:line, the traceback kept for
the server log and, for superusers, for the client's CONTEXT.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import traceback
from collections import OrderedDict

from forge_sql import errors
from forge_sql.ext import ExtensionError, Spec

log = logging.getLogger("forge_sql.plugins")

_MARKER = "forge-extension-fault#"
_FOUND = re.compile(re.escape(_MARKER) + r"(\d+)")
_KEPT = 256  # faults DuckDB never reported (another thread's error won): the oldest go


class ExtensionFault(RuntimeError):
    """What the wrapper raises into DuckDB in place of the function's exception."""


class FaultError(errors.ForgeError):
    """An extension function's exception, with the SQLSTATE it is reported with."""

    sqlstate = "38000"  # external_routine_exception

    def __init__(self, message: str, sqlstate: str, *, detail: str | None,
                 hint: str | None, traceback_text: str) -> None:
        super().__init__(message, detail=detail, hint=hint)
        self.sqlstate = sqlstate  # type: ignore[misc]  # the function's own, per error
        self.traceback_text = traceback_text


_lock = threading.Lock()
_faults: OrderedDict[int, FaultError] = OrderedDict()
_numbers = itertools.count(1)


def record(spec: Spec, extension: str, exc: BaseException) -> ExtensionFault:
    """Keep ``exc`` (raised by ``spec``'s function) and return the marker to raise."""
    where = f"{spec.schema}.{spec.name}() of extension {extension} ({spec.source})"
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, ExtensionError):
        detail = exc.detail + "\n" if exc.detail else ""
        fault = FaultError(exc.message, exc.sqlstate, detail=f"{detail}Function {where}",
                           hint=exc.hint, traceback_text=text)
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        fault = FaultError(message, "38000", detail=f"Function {where}", hint=None,
                           traceback_text=text)
    log.error("extension function %s raised:\n%s", where, text.rstrip())
    number = next(_numbers)
    with _lock:
        _faults[number] = fault
        while len(_faults) > _KEPT:
            _faults.popitem(last=False)
    return ExtensionFault(f"{_MARKER}{number}")


def error_of(exc: BaseException, superuser: bool) -> errors.ForgeError | None:
    """The client's error for a DuckDB exception that carries a fault's marker."""
    found = _FOUND.search(str(exc))
    if found is None:
        return None
    with _lock:
        fault = _faults.pop(int(found.group(1)), None)
    if fault is None:  # kept too long: the server log has it
        return FaultError("an extension function failed (see the server log)", "38000",
                          detail=None, hint=None, traceback_text="")
    if superuser:
        fault.context = fault.traceback_text.rstrip()
    return fault
