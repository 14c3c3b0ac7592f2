"""Data files of a data directory's lake, as the catalog-loss and maintenance tests see
them: the file list to compare, and names DuckLake would give a file made at a time."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path


def lake_files(data_dir: Path) -> dict[str, int]:
    """Every file under the lake's data path, relative, with its size."""
    root = data_dir / "lake"
    return {
        str(path.relative_to(root)): path.stat().st_size
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def ducklake_name(made: datetime) -> str:
    """``ducklake-<UUIDv7>.parquet`` whose UUID carries the moment ``made``."""
    millis = int(made.timestamp() * 1000)
    tail = uuid.uuid4().hex
    text = f"{millis:012x}7{tail[:3]}8{tail[3:6]}{tail[6:18]}"
    return f"ducklake-{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}.parquet"


def plant(beside: Path, name: str, made: datetime) -> Path:
    """A copy of the data file ``beside`` named ``name``, modified at ``made``: what a
    crashed transaction leaves (no snapshot refers to it)."""
    path = beside.with_name(name)
    path.write_bytes(beside.read_bytes())
    os.utime(path, (made.timestamp(), made.timestamp()))
    return path
