"""Helpers shared by the encoder tests: a real client codec (psycopg's loaders)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg.adapt import Transformer
from psycopg.pq import Format

Load = Callable[[bytes, int, int], object]


@pytest.fixture(scope="session")
def pg_load() -> Load:
    """``pg_load(data, oid, fmt)``: what psycopg 3 makes of our bytes (fmt 0 text, 1 binary)."""
    transformer = Transformer()

    def load(data: bytes, oid: int, fmt: int) -> object:
        loader = transformer.get_loader(oid, Format.BINARY if fmt else Format.TEXT)
        return loader.load(data)

    return load


@pytest.fixture(autouse=True)
def _each_codec_path(codec_path: str) -> str:
    """Every test here runs against the compiled and the pure Python codecs."""
    return codec_path
