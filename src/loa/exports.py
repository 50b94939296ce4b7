"""Spreadsheet exports (CSV now, XLSX and reports later): every cell goes through :func:`safe_cell`.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (``=HYPERLINK("http://…", "Bấm vào đây")``), and exports carry text that officers,
citizens and devices typed. Such a cell is prefixed with an apostrophe, which spreadsheets show as text (OWASP's
advice for CSV injection). openpyxl also stores a string starting with ``=`` as a formula, so an XLSX writer must
use the same function.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, neutralised if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_document(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A CSV file that Excel opens as UTF-8 (byte-order mark) with every cell passed through :func:`safe_cell`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
