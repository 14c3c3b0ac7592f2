"""Migration files in ``migrations/``: names, versions, kinds and checksums.

Versioned files are ``V<version>__<name>.<sql|yaml|py>``; repeatable ones ``R__<name>.sql``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from forge_sql.errors import utf8_position
from forge_sql.migrate.errors import MigrationError

_VERSIONED = re.compile(r"^V(?P<version>\d+(?:\.\d+)*)__(?P<name>[^.]+)\.(?P<ext>sql|ya?ml|py)$")
_REPEATABLE = re.compile(r"^R__(?P<name>[^.]+)\.sql$")
_KINDS = {"sql": "sql", "yaml": "yaml", "yml": "yaml", "py": "py"}


@dataclass(frozen=True, slots=True)
class Version:
    """A migration version, compared part by part as numbers (``2 < 10``, ``1.2 < 1.10``)."""

    text: str

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.text.split("."))

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version:
    if not re.fullmatch(r"\d+(?:\.\d+)*", text):
        raise MigrationError(f"invalid version {text!r}: use digits, e.g. 3 or 20250101120000")
    return Version(text)


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One file of ``migrations/``; ``version`` is None for repeatable migrations."""

    path: Path
    version: Version | None
    name: str
    kind: str  # sql, yaml, py
    checksum: str

    @property
    def repeatable(self) -> bool:
        return self.version is None

    @property
    def script(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        return f"R__{self.name}" if self.version is None else f"V{self.version}__{self.name}"

    def text(self) -> str:
        return read_text(self.path)


def read_text(path: Path) -> str:
    """The file as UTF-8 text; an invalid byte is reported as ``file:line:column``."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = utf8_position(data, exc)
        raise MigrationError(
            f"{path}:{line}:{column}: not valid UTF-8 (byte 0x{data[exc.start]:02x}): "
            "migration files are UTF-8 text"
        ) from None


def checksum(data: bytes) -> str:
    """sha256 of the content with line endings normalised, so a checkout on another OS
    does not look like an edit."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def discover(directory: Path) -> list[MigrationFile]:
    """Versioned files in version order, then repeatable ones by name.

    Files that look like migrations but are misnamed are errors rather than silently
    skipped; other files (README, __pycache__) are ignored.
    """
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    versioned: dict[Version, MigrationFile] = {}
    repeatable: list[MigrationFile] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        found = read(path)
        if found is None:
            continue
        if found.version is None:
            repeatable.append(found)
            continue
        if found.version in versioned:
            other = versioned[found.version].script
            raise MigrationError(
                f"two migrations have version {found.version}: {other} and {path.name}"
            )
        versioned[found.version] = found
    ordered = [versioned[v] for v in sorted(versioned, key=lambda v: v.key)]
    return ordered + sorted(repeatable, key=lambda f: f.name)


def read(path: Path) -> MigrationFile | None:
    """The migration a file holds, None for files that are not migrations."""
    name = path.name
    if name.startswith((".", "_")) or name.endswith((".pyc", "~")):
        return None
    match = _VERSIONED.match(name)
    if match:
        return MigrationFile(
            path,
            Version(match["version"]),
            match["name"],
            _KINDS[match["ext"]],
            checksum(path.read_bytes()),
        )
    match = _REPEATABLE.match(name)
    if match:
        return MigrationFile(path, None, match["name"], "sql", checksum(path.read_bytes()))
    if re.match(r"^[VR]\d*_", name) or (name[:1] in "VR" and "__" in name):
        raise MigrationError(
            f"{path}: not a valid migration name: use V<version>__<name>.sql|.yaml|.py "
            "or R__<name>.sql"
        )
    return None
