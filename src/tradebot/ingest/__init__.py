"""Ingest: what a bar must satisfy before anything downstream sees it."""

from tradebot.ingest.validation import BarValidator, bar_fault

__all__ = ["BarValidator", "bar_fault"]
