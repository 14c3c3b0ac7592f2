"""SQL text below the engine and the catalog: DuckDB's token stream and the statement model,
made once per statement, quoting, and what DuckDB's errors mean in PostgreSQL's terms. It
knows nothing of sessions or sockets."""
