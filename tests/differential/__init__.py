"""Differential test: generated statements run on forge-sql and on PostgreSQL, answers compared.

Cases come from ``random.Random(seed, index)`` rather than hypothesis, so a whole run is
classified at once and any case is rebuilt from two numbers; ``shrink`` keeps the class."""
