"""The usage export writer: CSV with a header in first-use column order, JSON, no formulas."""

from __future__ import annotations

import csv
import io
import json

from authai_embed.admin.export import export_rows, rows_csv, rows_json

ROWS = [
    {"user": "u1", "model": "gpt-5.4", "tokens": 12},
    {"user": "u2", "tokens": 3, "cost": 0.5},
]


def test_csv_has_every_column_in_first_use_order_and_blanks_for_missing() -> None:
    text = rows_csv(ROWS)
    assert list(csv.reader(io.StringIO(text))) == [
        ["user", "model", "tokens", "cost"],
        ["u1", "gpt-5.4", "12", ""],
        ["u2", "", "3", "0.5"],
    ]


def test_csv_defuses_cells_a_spreadsheet_would_run() -> None:
    text = rows_csv([{"label": "=HYPERLINK(1)", "n": -3, "at": "@SUM", "ok": "a,b"}])
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=HYPERLINK(1)", "-3", "'@SUM", "a,b"]


def test_json_and_the_format_switch() -> None:
    assert json.loads(rows_json(ROWS)) == ROWS
    assert export_rows(ROWS, "json") == rows_json(ROWS)
    assert export_rows(ROWS, "csv") == rows_csv(ROWS)
    assert rows_csv([]) == "\r\n"
