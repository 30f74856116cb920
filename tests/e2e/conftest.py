"""Puts this folder on sys.path so the tests can import e2e_helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from e2e_helpers import SAMPLE


@pytest.fixture
def sample() -> Path:
    assert SAMPLE.exists(), "the bundled sample data is missing"
    return SAMPLE
