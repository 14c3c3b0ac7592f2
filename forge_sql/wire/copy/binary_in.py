"""COPY FROM in binary format (PostgreSQL docs, COPY, "Binary Format").

A header, then tuples: int16 field count and, per field, int32 length (-1 for NULL) and the
value in the type's binary send format. The tuple walk finds every field; the values are
then decoded column by column into typed Arrow arrays (:mod:`.binary_columns`).
"""

from __future__ import annotations

import struct
from array import array

import numpy as np
import pyarrow as pa

from forge_sql.errors import BadCopyFileFormat, FeatureNotSupported, ForgeError
from forge_sql.seam.backend import CopyIn
from forge_sql.wire.copy import binary_columns
from forge_sql.wire.copy.fields import Bytes, Fault, Ints, Where, context

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(SIGNATURE) + 8  # signature, int32 flags, int32 header extension length
_WITH_OIDS = 1 << 16
_CRITICAL = 0xFFFF  # bits 0-15: a reader must refuse flags it does not know
_CANDIDATE_CELLS = 4 << 20  # candidates x columns examined at once
_COUNT = struct.Struct(">h").unpack_from
_SIZE = struct.Struct(">i").unpack_from


class BinaryReader:
    """Walks the tuples of binary COPY data; one instance per COPY (it keeps the header
    state)."""

    def __init__(self, copy: CopyIn) -> None:
        self.copy = copy
        self.oids = [c.type_oid for c in copy.columns]
        self.names = [c.name for c in copy.columns]
        self._started = False  # header read

    def read(
        self, data: bytes, final: bool, first_line: int
    ) -> tuple[pa.RecordBatch | None, int, bool]:
        """Decode the complete tuples of ``data``: (batch, bytes used, trailer seen).

        Of several faults, the one in the earliest tuple is reported, as PostgreSQL (which
        reads tuple by tuple) would.
        """
        pos = 0
        if not self._started:
            pos = self._header(data, final)
            if pos == 0:
                return None, 0, False
        offsets, sizes, pos, ended, fault = self._walk(data, pos, first_line)
        faults = [fault] if fault is not None else []
        rows = len(offsets)
        if ended and pos < len(data):
            where = context(self.copy, first_line + rows)  # the trailer's tuple number
            faults.append(
                (rows, BadCopyFileFormat("received copy data after EOF marker", context=where))
            )
        elif final and not ended and pos < len(data):
            where = context(self.copy, first_line + rows)
            faults.append((rows, BadCopyFileFormat("unexpected EOF in COPY data", context=where)))
        columns = []
        if rows:
            for i, (oid, name) in enumerate(zip(self.oids, self.names, strict=True)):
                lines = first_line + np.arange(rows, dtype=np.int64)
                where_row = Where(self.copy, lines, column=name)
                try:
                    columns.append(
                        binary_columns.column(data, offsets[:, i], sizes[:, i], oid, where_row)
                    )
                except ForgeError as exc:
                    faults.append((where_row.row, exc))
        if faults:
            raise min(faults, key=lambda f: f[0])[1]
        if not rows:
            return None, pos, ended
        return pa.RecordBatch.from_arrays(columns, names=self.names), pos, ended

    def finish(self) -> None:
        if not self._started:
            raise BadCopyFileFormat("COPY file signature not recognized")

    def _header(self, data: bytes, final: bool) -> int:
        """Bytes of the file header (0 while it is incomplete), as ``ReceiveCopyBinaryHeader``
        checks it."""
        if data[: len(SIGNATURE)] != SIGNATURE[: len(data)]:
            raise BadCopyFileFormat("COPY file signature not recognized")
        if len(data) < _HEADER:
            if not final:
                return 0
            if len(data) < len(SIGNATURE):
                raise BadCopyFileFormat("COPY file signature not recognized")
            missing = "flags" if len(data) < len(SIGNATURE) + 4 else "length"
            raise BadCopyFileFormat(f"invalid COPY file header (missing {missing})")
        flags: int
        extension: int
        flags, extension = struct.unpack_from(">iI", data, len(SIGNATURE))
        if flags & _WITH_OIDS:
            raise FeatureNotSupported("invalid COPY file header (WITH OIDS)")
        if flags & _CRITICAL:
            raise BadCopyFileFormat("unrecognized critical flags in COPY file header")
        if len(data) < _HEADER + extension:
            if final:
                raise BadCopyFileFormat("invalid COPY file header (wrong length)")
            return 0
        self._started = True
        return _HEADER + extension

    def _walk(
        self, data: bytes, pos: int, first_line: int
    ) -> tuple[Ints, Ints, int, bool, Fault | None]:
        """Offsets and sizes (-1: NULL) of the fields of every complete tuple from ``pos``,
        shape (tuples, columns); the position after them; whether the trailer was reached;
        the fault that stopped the walk, if any.

        The numpy chain walks the well-formed tuples; where it stops (trailer, incomplete
        tuple, bad data), one tuple is walked in Python, which says why.
        """
        columns = len(self.oids)
        buf = np.frombuffer(data, np.uint8)
        offsets: list[Ints] = []
        sizes: list[Ints] = []
        rows = 0
        while True:
            offs, lens, pos = _chain(buf, pos, columns)
            if len(offs):
                offsets.append(offs)
                sizes.append(lens)
                rows += len(offs)
            offs, lens, pos, ended, fault = _walk_rows(
                data, pos, columns, 1, first_line + rows, self.copy
            )
            if len(offs):
                offsets.append(offs)
                sizes.append(lens)
            if fault is not None:
                fault = (rows + len(offs), fault[1])
            rows += len(offs)
            if ended or fault is not None or not len(offs):
                break
        if not offsets:
            empty = np.zeros((0, columns), np.int64)
            return empty, empty, pos, ended, fault
        return np.concatenate(offsets), np.concatenate(sizes), pos, ended, fault


def _int32(buf: Bytes, at: Ints) -> Ints:
    """Big-endian int32 at each offset (offsets past the data read its last word)."""
    if len(buf) < 4:
        return np.zeros(len(at), np.int64)
    words = np.lib.stride_tricks.sliding_window_view(buf, 4)
    values: Ints = words[np.minimum(at, len(buf) - 4)].view(">i4").reshape(len(at))
    return values.astype(np.int64)


def _chain(buf: Bytes, pos: int, columns: int) -> tuple[Ints, Ints, int]:
    """Fields of the well-formed complete tuples from ``pos``: offsets and sizes, shape
    (tuples, columns), and the end of the last tuple.

    No per-field Python: every offset whose int16 is the field count may start a tuple; the
    fields of all such candidates are read at once (a gather per column), which gives the
    end of each, and the true tuples are the chain of candidates that starts at ``pos``.
    """
    count = np.frombuffer(struct.pack(">h", columns), np.uint8)
    window = buf[pos:]
    none = np.zeros((0, columns), np.int64)
    if len(window) < 2:
        return none, none, pos
    candidates: Ints = np.flatnonzero((window[:-1] == count[0]) & (window[1:] == count[1])) + pos
    if len(candidates) == 0 or candidates[0] != pos:
        return none, none, pos
    # Bound the memory: the chain stops at the last candidate kept, and resumes from there.
    candidates = candidates[: max(1024, _CANDIDATE_CELLS // columns)]
    offsets = np.empty((columns, len(candidates)), np.int64)
    sizes = np.empty((columns, len(candidates)), np.int64)
    end = candidates + 2
    good = np.ones(len(candidates), np.bool_)
    for column in range(columns):
        good &= end + 4 <= len(buf)
        size = _int32(buf, end)
        good &= size >= -1
        offsets[column] = end + 4
        sizes[column] = size
        end = end + 4 + np.maximum(size, 0)
    good &= end <= len(buf)
    # jump[i]: candidate index of the tuple after candidate i; len(candidates) when i is the
    # last good one; -1 when i is not a complete tuple (and jump[len(candidates)] is -1).
    successor = np.searchsorted(candidates, end)
    found = successor < len(candidates)
    found[found] = candidates[successor[found]] == end[found]
    jump = np.where(good, np.where(found, successor, len(candidates)), -1).tolist()
    jump.append(-1)
    chain = []
    index = 0
    while jump[index] >= 0:
        chain.append(index)
        index = jump[index]
    if not chain:
        return none, none, pos
    return offsets[:, chain].T, sizes[:, chain].T, int(end[chain[-1]])


def _walk_rows(
    data: bytes, pos: int, columns: int, limit: int, line: int, copy: CopyIn
) -> tuple[Ints, Ints, int, bool, Fault | None]:
    """The tuple walk in Python, for tuples of varying layout: at most ``limit`` tuples.
    (offsets, sizes, position after them, trailer reached, the fault that stopped it)."""
    offsets = array("q")
    sizes = array("q")
    end = len(data)
    walked = 0
    ended = False
    fault: Fault | None = None
    while walked < limit:
        if pos + 2 > end:
            break
        (count,) = _COUNT(data, pos)
        if count == -1:
            pos += 2
            ended = True
            break
        if count != columns:
            message = f"row field count is {count}, expected {columns}"
            fault = (walked, BadCopyFileFormat(message, context=context(copy, line + walked)))
            break
        at = pos + 2
        for _ in range(columns):
            if at + 4 > end:
                break
            (size,) = _SIZE(data, at)
            at += 4
            offsets.append(at)
            sizes.append(size)
            if size > 0:
                at += size
            elif size < -1:
                where = context(copy, line + walked)
                fault = (walked, BadCopyFileFormat("invalid field size", context=where))
                break
        if fault is not None or len(offsets) < (walked + 1) * columns or at > end:
            break  # a fault, or an incomplete tuple: its fields are cut off below
        pos = at
        walked += 1
    shape = (walked, columns)
    offs = np.frombuffer(offsets, np.int64)[: walked * columns].reshape(shape)
    lens = np.frombuffer(sizes, np.int64)[: walked * columns].reshape(shape)
    return offs, lens, pos, ended, fault
