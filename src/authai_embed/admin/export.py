"""Usage exports as CSV or JSON text: one row per mapping, columns in order of first use.

A cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
prefixed with `'`, so an exported user-chosen value cannot run in the admin's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = ["ExportFormat", "export_rows", "rows_csv", "rows_json"]

ExportFormat = Literal["csv", "json"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rows_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """`rows` as CSV with a header line; a key missing from a row is an empty cell."""
    materialised = list(rows)
    columns: dict[str, None] = {}
    for row in materialised:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(name) for name in columns])
    for row in materialised:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue()


def rows_json(rows: Iterable[Mapping[str, Any]]) -> str:
    """`rows` as a JSON array of objects."""
    return json.dumps([dict(row) for row in rows], ensure_ascii=False)


def export_rows(rows: Iterable[Mapping[str, Any]], fmt: ExportFormat) -> str:
    """`rows` in the format named `fmt` ("csv" or "json")."""
    return rows_csv(rows) if fmt == "csv" else rows_json(rows)
