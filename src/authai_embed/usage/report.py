"""Usage rows as text: an aligned table, CSV or JSON (`authai-embed usage --format`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, fields

from authai_embed.stores.base import UsageRow

__all__ = ["COLUMNS", "render"]

COLUMNS = tuple(f.name for f in fields(UsageRow))


def render(rows: Sequence[UsageRow], form: str) -> str:
    """`rows` as `table`, `csv` or `json` (a list of objects), ending in a newline."""
    if form == "json":
        return json.dumps([asdict(r) for r in rows], indent=2) + "\n"
    values = [[str(v) for v in asdict(r).values()] for r in rows]
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(values)
        return out.getvalue()
    widths = [max([len(c), *(len(v[i]) for v in values)]) for i, c in enumerate(COLUMNS)]
    lines = [COLUMNS, *values]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )
