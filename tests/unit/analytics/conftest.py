"""Puts this folder on sys.path (for ``analytics_fixture``: the hand-built store) and gives its fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from analytics_fixture import EVENTS, QUOTES, write_store


@pytest.fixture
def hand_store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "hand.db", EVENTS)


@pytest.fixture
def hand_quotes(tmp_path: Path) -> Path:
    path = tmp_path / "es_quotes.csv"
    path.write_text(QUOTES)
    return path
