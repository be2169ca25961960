"""CSV cells that are safe to open in a spreadsheet (OWASP's rule against formula injection).

Invariant: every CSV the product writes passes its rows through `safe_row`, so a
cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (a team
name, an object's text, anything a person typed) is read as text, never as a
formula: it gets a leading apostrophe. Other cells are left exactly as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with a leading apostrophe if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
