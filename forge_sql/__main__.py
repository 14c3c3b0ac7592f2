"""Allow ``python -m forge_sql``."""

from forge_sql.cli import main

main()
