"""tradebot: a single-process asyncio trading daemon with hard pre-trade gates and an event store."""

__version__ = "0.1.0"
