"""The bundled real ES week, parsed with the csv module (no project code involved)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from tradebot.domain.bars import Bar

ES_WEEK = Path("/work/shared/data/es_esz13_1m_2013-10-06_2013-10-11.csv")


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
