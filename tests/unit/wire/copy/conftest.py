"""Helpers for the COPY codec tests: build a CopyIn, decode data in given chunks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pyarrow as pa
import pytest

from forge_sql.seam import oids
from forge_sql.seam.backend import Column, CopyFormat, CopyIn
from forge_sql.wire.copy.decoder import CopyBatch, CopyDecoder

TEXT = CopyFormat()
CSV = CopyFormat(kind="csv", delimiter=",", null="")
BINARY = CopyFormat(kind="binary")


def copy_in(fmt: CopyFormat, *names: str, types: Sequence[int] = ()) -> CopyIn:
    """A COPY FROM STDIN into table ``t`` with columns ``names`` (text unless ``types``)."""
    kinds = list(types) or [oids.TEXT] * len(names)
    return CopyIn(fmt, tuple(Column(n, k) for n, k in zip(names, kinds, strict=True)), "t")


def decode_batches(
    copy: CopyIn, data: bytes, cuts: Sequence[int] = (), batch_bytes: int = 8 << 20
) -> list[CopyBatch]:
    """Feed ``data`` split at ``cuts``, then finish."""
    decoder = CopyDecoder(copy, batch_bytes)
    batches: list[CopyBatch] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, stop in itertools.pairwise(bounds):
        batches += decoder.feed(data[start:stop])
    batches += decoder.finish()
    assert decoder.rows == sum(b.batch.num_rows for b in batches)
    return batches


def decode(
    copy: CopyIn, data: bytes, cuts: Sequence[int] = (), batch_bytes: int = 8 << 20
) -> list[tuple[object, ...]]:
    """The decoded rows as tuples (checking that batches are numbered line after line)."""
    batches = decode_batches(copy, data, cuts, batch_bytes)
    rows: list[tuple[object, ...]] = []
    for batch in batches:
        assert batch.batch.schema.names == [c.name for c in copy.columns]
        table = pa.Table.from_batches([batch.batch])
        rows += list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    return rows


@pytest.fixture(autouse=True)
def _each_codec_path(codec_path: str) -> str:
    """Every test here runs against the compiled and the pure Python codecs."""
    return codec_path
