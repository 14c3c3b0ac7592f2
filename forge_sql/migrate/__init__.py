"""Schema as code: migrations discovered in migrations/, planned, applied and checked."""
