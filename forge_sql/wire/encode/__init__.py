"""Result encoders: whole Arrow arrays to PostgreSQL text/binary values and DataRow bytes.

``encode_text`` / ``encode_binary`` return one binary value per row (nulls kept);
``encode_batch`` returns the DataRow messages of a whole RecordBatch.
"""

from __future__ import annotations

from forge_sql.wire.encode.binary import encode_binary
from forge_sql.wire.encode.rows import BINARY, TEXT, encode_batch, result_formats
from forge_sql.wire.encode.text import encode_text

__all__ = ["BINARY", "TEXT", "encode_batch", "encode_binary", "encode_text", "result_formats"]
