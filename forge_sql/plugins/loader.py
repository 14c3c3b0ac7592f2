"""Finding and importing extensions: the shipped ones (the source tree's ``extensions/``
folder), ``.py`` files and packages in the extensions directories, and installed
packages' ``forge_sql.extensions`` entry points.

Every problem (syntax error, import error, bad decorator use, duplicate function) is
reported as ``file:line: reason``, all of them at once, before the server listens. A
shipped extension whose optional dependency is missing is skipped with one log line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import CodeType, ModuleType

from forge_sql import ext
from forge_sql.errors import ConfigError
from forge_sql.plugins.registry import DuplicateFunction, Extension, Registry

log = logging.getLogger("forge_sql.plugins")

_MODULE_PREFIX = "forge_sql_extensions_"

ENTRY_POINT_GROUP = "forge_sql.extensions"
DEFAULT_DIRECTORY = Path("extensions")
# The shipped extensions: the extensions/ folder beside the forge_sql package.
SHIPPED_DIRECTORY = Path(__file__).resolve().parents[2] / "extensions"
# The shipped example is the model users copy: on only when named in the setting (or when
# the shipped folder is itself the extensions directory), so a user's copy never clashes.
EXAMPLE = "example"


class ExtensionLoadError(ConfigError):
    """One or more extensions cannot be loaded; ``problems`` are ``file:line: reason``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "cannot load extensions:\n" + "\n".join(f"  {p}" for p in self.problems)
        )


def directories(configured: Sequence[Path], cwd: Path | None = None) -> list[Path]:
    """The extensions directories: those configured, else ``./extensions`` if present."""
    if configured:
        return [Path(d) for d in configured]
    default = (cwd or Path.cwd()) / DEFAULT_DIRECTORY
    return [default] if default.is_dir() else []


def extension_files(directory: Path) -> list[Path]:
    """The extension modules of a directory: ``*.py`` files and packages, except private
    ones (``_name``) and tests (``test_*.py``, ``*_test.py``, ``conftest.py``)."""
    found = []
    for path in sorted(directory.iterdir()):
        stem = path.stem if path.is_file() else path.name
        if stem.startswith(("_", ".")) or stem.startswith("test_") or stem.endswith("_test"):
            continue
        if stem == "conftest":
            continue
        if path.is_file() and path.suffix == ".py":
            found.append(path)
        elif path.is_dir() and (path / "__init__.py").is_file():
            found.append(path / "__init__.py")
    return found


def shipped_names(directory: Path = SHIPPED_DIRECTORY) -> list[str]:
    """The names of the shipped extensions (none when forge-sql runs without its source
    tree's extensions/ folder)."""
    return [_name(p) for p in extension_files(directory)] if directory.is_dir() else []


def _name(path: Path) -> str:
    return path.parent.name if path.name == "__init__.py" else path.stem


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def load(
    configured: Sequence[Path] = (),
    *,
    shipped: Sequence[str] | None = (),
    entry_points: bool = True,
    cwd: Path | None = None,
    generation: int = 0,
    shipped_directory: Path = SHIPPED_DIRECTORY,
) -> Registry:
    """Import every extension and return the registry of their functions. ``shipped``
    names the shipped extensions to load, None for all but the example; ``generation``
    counts reloads (implementation names carry it, so a reload never reuses one)."""
    registry = Registry(generation=generation)
    problems: list[str] = []
    found = directories(configured, cwd)
    # The source tree used as a project (its ./extensions is the shipped folder): the
    # folder loads once, under the shipped rules, example included.
    own = [d for d in found if _same(d, shipped_directory)]
    available = {_name(p): p for p in extension_files(shipped_directory)} \
        if shipped_directory.is_dir() else {}
    if shipped is None:
        wanted = [n for n in available if n != EXAMPLE or own]
    else:
        wanted = list(dict.fromkeys(shipped))
        if own and EXAMPLE in available and EXAMPLE not in wanted:
            wanted.append(EXAMPLE)
        unknown = [n for n in wanted if n not in available]
        if unknown:
            problems.append(
                f"shipped_extensions: no shipped extension {', '.join(map(repr, unknown))} "
                f"(shipped: {', '.join(available) or 'none'})"
            )
    # A project's own copy of a shipped extension (users copy them to change them) takes
    # its place, unless the setting names the shipped one: then the two clash.
    projects = {_name(path) for d in found if d.is_dir() and not any(d is o for o in own)
                for path in extension_files(d)}
    for name in wanted:
        if name in available and shipped is None and name in projects:
            log.info("shipped extension %s not loaded: the project's extension of that name "
                     "replaces it", name)
            continue
        if name in available:
            path = available[name]
            # Optional only when not asked for by name: a named one must load.
            optional = shipped is None or (name == EXAMPLE and name not in shipped)
            _import(registry, problems, name, str(path), lambda p=path: _import_file(p),
                    optional=optional)
    for directory in found:
        if any(d is directory for d in own):
            continue
        if not directory.is_dir():
            problems.append(f"{directory}: extensions directory does not exist")
            continue
        for path in extension_files(directory):
            _import(registry, problems, _name(path), str(path),
                    lambda p=path: _import_file(p))
    if entry_points:
        for point in _entry_points():
            origin = f"entry point {point.name} = {point.value}"
            _import(registry, problems, point.name, origin,
                    lambda p=point: _import_entry_point(p))
    if problems:
        raise ExtensionLoadError(problems)
    return registry


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _import(registry: Registry, problems: list[str], name: str, origin: str,
            do_import: object, *, optional: bool = False) -> None:
    if any(e.name == name for e in registry.extensions):
        other = next(e for e in registry.extensions if e.name == name)
        problems.append(f"{origin}: extension {name!r} is already loaded from {other.origin}")
        return
    extension = Extension(name, origin)
    with ext.collecting() as specs:
        try:
            do_import()  # type: ignore[operator]
        except ext.ExtensionDefinitionError as exc:
            problems.append(str(exc))
            return
        except ModuleNotFoundError as exc:
            if optional and _optional_dependency(exc):
                log.info("shipped extension %s skipped: it needs module %r, which is not "
                         "installed", name, exc.name)
                registry.skipped[name] = str(exc.name)
                return
            problems.append(f"{_where(exc, origin)}: {type(exc).__name__}: {exc}")
            return
        except SyntaxError as exc:
            where = f"{exc.filename or origin}:{exc.lineno or 0}"
            problems.append(f"{where}: syntax error: {exc.msg}")
            return
        except Exception as exc:  # an extension's own import failed: say where
            problems.append(f"{_where(exc, origin)}: {type(exc).__name__}: {exc}")
            return
    registry.extensions.append(extension)
    for spec in specs:
        try:
            registry.add(extension, spec)
        except DuplicateFunction as exc:
            problems.append(str(exc))


def _optional_dependency(exc: ModuleNotFoundError) -> bool:
    """A third-party module is missing (not forge_sql's nor the extension's own)."""
    top = (exc.name or "").split(".")[0]
    return bool(top) and top != "forge_sql" and not top.startswith(_MODULE_PREFIX)


def _import_entry_point(point: importlib.metadata.EntryPoint) -> object:
    """The entry point's module, executed again when already imported (a reload): the
    decorators record specs only while the module runs."""
    module = sys.modules.get(point.module)
    if module is not None:
        importlib.reload(module)
    return point.load()


def _where(exc: BaseException, origin: str) -> str:
    """file:line of the innermost frame in the extension's own file, else the last one."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename == origin]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return origin
    return f"{frame.filename}:{frame.lineno}"


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file's source at every import, never a cached .pyc: a cached file is
    matched to its source by whole-second mtime and size, so an edit within the same
    second that keeps the size (``v = 1`` to ``v = 2``) would reload the old code."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)


def _import_file(path: Path) -> ModuleType:
    # A name per file (hash of its directory) so two directories' "util.py" do not clash
    # and a reload imports the file afresh.
    digest = hashlib.sha1(str(path.resolve().parent).encode()).hexdigest()[:10]
    stem = path.parent.name if path.name == "__init__.py" else path.stem
    module_name = f"{_MODULE_PREFIX}{digest}.{stem}"
    spec = importlib.util.spec_from_file_location(
        module_name, path, loader=_SourceLoader(module_name, os.path.abspath(path)),
        submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None,
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # A package's relative imports (``from . import part``) need its parent package.
    parent = module_name.rpartition(".")[0]
    if parent not in sys.modules:
        holder = ModuleType(parent)
        holder.__path__ = []
        sys.modules[parent] = holder
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def from_environment() -> list[Path]:
    """FORGE_SQL_EXTENSIONS as a list of directories (os.pathsep-separated)."""
    value = os.environ.get("FORGE_SQL_EXTENSIONS", "")
    return [Path(p) for p in value.split(os.pathsep) if p]
