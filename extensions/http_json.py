"""``http_json``: ad-hoc reads of a JSON API from SQL, one row per record.

    SELECT value->>'name' FROM http_json('https://api.example.com/items', records => 'data');
    SELECT (value->>'id')::BIGINT AS id, value->>'name' AS name
    FROM http_json('https://api.example.com/items', paginator => 'link');

Superusers read any http(s) URL; other users only the hosts a superuser lists in the
config (``[extension_settings.http_json] allowed_hosts = ["api.example.com"]``), every
page included: anything else is 42501. Only ``forge_sql.ext`` is imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from forge_sql.ext import Context, Cursor, ExtensionError, table

PAGINATORS = ("none", "page", "offset", "cursor", "link")


def _dig(body: Any, path: str) -> Any:
    for key in [k for k in path.split(".") if k]:
        body = body.get(key) if isinstance(body, dict) else None
    return body


@table(columns={"value": "JSON"})
def http_json(url: str, records: str = "", paginator: str = "none", next_path: str = "next",
              max_pages: int = 1000, *, ctx: Context) -> Iterator[dict[str, Any]]:
    """The records of a JSON API (at the dotted path ``records`` of each page), through
    ``paginator`` (none, page, offset, cursor: the token at ``next_path``, link), one JSON
    value a row."""
    if not ctx.superuser and not ctx.settings.get("allowed_hosts"):
        raise ExtensionError(
            "permission denied for function http_json", "42501",
            hint="a superuser may allow hosts for everyone in allowed_hosts under "
                 "[extension_settings.http_json]",
        )
    if paginator not in PAGINATORS:
        raise ExtensionError(f'unknown paginator "{paginator}"', "22023",
                             hint=f"use one of {', '.join(PAGINATORS)}")
    if paginator == "none":
        body = ctx.http.get_json(url)
        found = _dig(body, records)
        if found is None and records:
            raise ExtensionError(f'the answer of {url.split("?")[0]} has no "{records}"',
                                 "22032")
        rows = found if isinstance(found, list) else [found]
    else:
        how: Any = Cursor(path=next_path) if paginator == "cursor" else paginator
        rows = ctx.http.paginate(url, paginator=how, records=records or None,
                                 max_pages=max_pages)
    for record in rows:
        yield {"value": json.dumps(record)}
