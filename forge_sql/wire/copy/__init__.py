"""COPY data codecs (PostgreSQL docs, COPY, "File Formats"): text, csv and binary.

``decoder.CopyDecoder`` turns COPY FROM STDIN data into Arrow batches;
``encoder.encode_copy`` (between ``copy_header`` and ``copy_trailer``) turns result
batches into COPY TO STDOUT data.
"""
