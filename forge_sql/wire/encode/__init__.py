"""Result encoders: whole Arrow arrays to PostgreSQL text/binary values and DataRow bytes.

``text.encode_text`` / ``binary.encode_binary`` return one binary value per row (nulls
kept); ``rows.encode_batch`` returns the DataRow messages of a whole RecordBatch.
"""
