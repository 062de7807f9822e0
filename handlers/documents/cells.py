"""A cell of a CSV or XLSX file that no spreadsheet runs as a formula.

Apart from :mod:`handlers.export` (which reads the ledger) so that the document layer, rendered in
a child process by ``incubot serve`` (:func:`handlers.documents.render_apart`), imports nothing of
the database.
"""

from __future__ import annotations

import re

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: object) -> str:
    """``value`` as a CSV cell no spreadsheet runs: a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or CR
    (also after leading spaces, which some importers trim); a plain decimal number (``-12.50``) stays a number."""
    text = "" if value is None else str(value)
    if _NUMBER.fullmatch(text):
        return text
    if starts_like_a_formula(text):
        return "'" + text
    return text


def starts_like_a_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) or text.lstrip(" ").startswith(FORMULA_STARTS)
