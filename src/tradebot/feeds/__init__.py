"""Bar sources that are not a broker: CSV files (replay, observe on recorded data) and the bundled sample."""

from tradebot.feeds.csv_bars import CsvBarFeed, FeedError, FeedItem, FeedRejection, infer_interval_s
from tradebot.feeds.sample import SAMPLE_BAR_COUNT, SAMPLE_FILE, sample_path

__all__ = [
    "SAMPLE_BAR_COUNT",
    "SAMPLE_FILE",
    "CsvBarFeed",
    "FeedError",
    "FeedItem",
    "FeedRejection",
    "infer_interval_s",
    "sample_path",
]
