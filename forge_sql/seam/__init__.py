"""The seam between the protocol (forge_sql.wire) and the engine: the session Protocol,
the Result / Column / Copy types and PostgreSQL's type OIDs. It imports neither side."""
