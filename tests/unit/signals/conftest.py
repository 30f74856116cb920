"""The bundled real ES week, parsed with the csv module (no project code involved)."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest

from tradebot.domain.bars import Bar
from tradebot.feeds.sample import sample_path

ES_WEEK = sample_path()  # the bundled ES Dec-2013 week


@pytest.fixture(scope="session")
def es_bars() -> list[Bar]:
    if not ES_WEEK.exists():
        pytest.skip(f"{ES_WEEK} is not available")
    with ES_WEEK.open(newline="") as handle:
        return [
            Bar("MES", datetime.fromisoformat(row["ts"].replace("Z", "+00:00")), float(row["open"]),
                float(row["high"]), float(row["low"]), float(row["close"]), float(row["volume"]))
            for row in csv.DictReader(handle)
        ]
