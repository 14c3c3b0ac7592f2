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
from forge_sql.ext import ERROR_MARKER, ExtensionError, Spec, raised

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
    # An ExtensionError is the statement's error, raised on purpose through the API: an
    # INFO line as other statement errors get; any other exception is the function's bug.
    level = logging.INFO if isinstance(exc, ExtensionError) else logging.ERROR
    log.log(level, "extension function %s raised:\n%s", where, text.rstrip())
    number = next(_numbers)
    with _lock:
        _faults[number] = fault
        while len(_faults) > _KEPT:
            _faults.popitem(last=False)
    return ExtensionFault(f"{_MARKER}{number}")


# Row-wise functions without a Context run unwrapped (the hot path, bench_extensions.py):
# DuckDB's own report of their exception is read instead (checked on DuckDB 1.5.5):
# "Python exception occurred while executing the UDF: <Type>: <text>\n\nAt:\n
#   <file>(<line>): <function>\n..." with the innermost frame first, the UDF's last.
_UDF = re.compile(
    r"Python exception occurred while executing the UDF: (?P<error>.*?)\n\nAt:\n(?P<frames>.*)",
    re.S,
)
_FRAME = re.compile(r"^\s*(?P<file>.*)\((?P<line>\d+)\): (?P<function>\S+)\s*$")
_UNWRAPPED: dict[tuple[str, str], tuple[Spec, str]] = {}


def unwrapped(spec: Spec, extension: str) -> None:
    """``spec``'s function is registered as is: know it by its file and Python name."""
    code = getattr(spec.function, "__code__", None)
    if code is not None:
        _UNWRAPPED[(code.co_filename, code.co_name)] = (spec, extension)


def error_of(exc: BaseException, superuser: bool) -> errors.ForgeError | None:
    """The client's error for a DuckDB exception raised by an extension function."""
    text = str(exc)
    found = _FOUND.search(text)
    if found is not None:
        with _lock:
            fault = _faults.pop(int(found.group(1)), None)
        if fault is None:  # kept too long: the server log has it
            fault = FaultError("an extension function failed (see the server log)", "38000",
                               detail=None, hint=None, traceback_text="")
    else:
        fault = _from_duckdb(text)
        if fault is None:
            return None
    if superuser:
        fault.context = fault.traceback_text.rstrip() or None
    return fault


def _from_duckdb(text: str) -> FaultError | None:
    report = _UDF.search(text)
    if report is None:
        return None
    frames = [m for m in map(_FRAME.match, report["frames"].splitlines()) if m]
    # The UDF is the outermost frame of a known function: when DuckDB calls it on the
    # statement's own thread, the engine's frames follow it.
    calls = [i for i, m in enumerate(frames) if (m["file"], m["function"]) in _UNWRAPPED]
    if not calls:
        return None  # not an extension's function
    frames = frames[: calls[-1] + 1]
    outer = frames[-1]
    spec, extension = _UNWRAPPED[(outer["file"], outer["function"])]
    where = f"{spec.schema}.{spec.name}() of extension {extension} ({spec.source})"
    trace = "Traceback (innermost call first):\n" + "\n".join(
        f'  File "{m["file"]}", line {m["line"]}, in {m["function"]}' for m in frames
    ) + "\n" + report["error"].strip()
    marker = re.search(re.escape(ERROR_MARKER) + r"(\d+)\]", report["error"])
    raised_error = raised(int(marker.group(1))) if marker else None
    if raised_error is not None:
        detail = raised_error.detail + "\n" if raised_error.detail else ""
        fault = FaultError(raised_error.message, raised_error.sqlstate,
                           detail=f"{detail}Function {where}", hint=raised_error.hint,
                           traceback_text=trace)
    else:
        fault = FaultError(report["error"].strip(), "38000", detail=f"Function {where}",
                           hint=None, traceback_text=trace)
    level = logging.INFO if raised_error is not None else logging.ERROR
    log.log(level, "extension function %s raised:\n%s", where, trace)
    return fault
