"""COPY data codecs (PostgreSQL docs, COPY, "File Formats"): text, csv and binary.

``CopyDecoder`` turns COPY FROM STDIN data into Arrow batches; ``encode_copy`` (between
``copy_header`` and ``copy_trailer``) turns result batches into COPY TO STDOUT data.
"""

from __future__ import annotations

from forge_sql.wire.copy.decoder import CopyBatch, CopyDecoder
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy

__all__ = ["CopyBatch", "CopyDecoder", "copy_header", "copy_trailer", "encode_copy"]
