"""The venue state file's meta rows (counters, last bar per symbol, marks) and which of them changed.

Values are immutable (Decimal, int, datetime, float); a value that is the very object last written cannot
have changed, so only new objects are formatted, and only rows whose text differs are written again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

MetaValue = Decimal | int | datetime | float


def meta_text(value: MetaValue) -> str:
    """A value as the state file stores it (a float is a bar price: its shortest exact Decimal)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    return str(value)


class MetaRows:
    """What the state file's meta table holds, and the rows a new set of values would change."""

    def __init__(self, written: dict[str, str]) -> None:
        self._text = dict(written)
        self._value: dict[str, MetaValue] = {}  # the object each row's text was made from

    def changes(self, values: Iterable[tuple[str, MetaValue]]) -> tuple[dict[str, str], dict[str, MetaValue]]:
        """(rows to write, the values they came from): pass both to ``written`` once they are durable."""
        rows: dict[str, str] = {}
        sources: dict[str, MetaValue] = {}
        known = self._value
        for key, value in values:
            if known.get(key) is value:
                continue
            text = meta_text(value)
            sources[key] = value
            if self._text.get(key) != text:
                rows[key] = text
        return rows, sources

    def written(self, rows: dict[str, str], sources: dict[str, MetaValue]) -> None:
        self._text.update(rows)
        self._value.update(sources)
