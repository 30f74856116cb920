"""At the end of a run, each closed trade's attribution (A0–A9) is stored as a ``trade_attribution`` event,
decided by the rules of ``analytics.attribution`` from the events the store holds (read back after a flush,
bars left out). Trades already attributed are skipped, so a restarted run stores what the stopped one had
not, and the store ends with one attribution per trade either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradebot.analytics.attribution import AttributionRules
from tradebot.domain.clock import Clock
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.store import StoreReader


async def record_attributions(
    writer: Any, recorder: StoreRecorder, clock: Clock, store_path: Path, rules: AttributionRules
) -> int:
    """Store the attribution of every closed trade that has none yet; returns how many were stored."""
    await writer.flush()
    with StoreReader(store_path) as reader:
        counts = reader.count_by_kind()
    if counts.get("trade_closed", 0) <= counts.get("trade_attribution", 0):
        return 0
    from tradebot.analytics.attribution_evidence import attribute_trades
    from tradebot.analytics.store_view import TRADE_KINDS, load_view
    from tradebot.analytics.trades import round_trips

    view = load_view(store_path, kinds=TRADE_KINDS)
    trades, _ = round_trips(view)
    stored = 0
    for trade, attribution in zip(trades, attribute_trades(view, trades, rules), strict=True):
        if trade.key in view.attributions:
            continue
        recorder.record("trade_attribution", attribution.as_dict(), ts=clock.now(), symbol=trade.symbol)
        stored += 1
    await writer.flush()
    return stored
