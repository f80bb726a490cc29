"""CSV cells that a spreadsheet will not run. A value that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is read as a formula by Excel, LibreOffice and Google
Sheets (``=HYPERLINK(...)`` sent in through a public write key would become a link in an
analyst's sheet); such a text cell is written with a leading apostrophe, which the
spreadsheet shows as text. Numbers are written as they are."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower().lstrip("+-") not in ("inf", "nan", "infinity")


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def row(values: list[Any]) -> list[Any]:
    return [cell(v) for v in values]
