"""The run's recorder with transaction cost analysis: every event goes to the store as before, and the
``order_tca`` records the event makes due (``analytics.tca_watch``) are written right after it, in the same
commit unit — a kill never leaves a fill without its record, and a restart (whose watch is rebuilt from the
store) writes the records an uninterrupted run writes.

``tca_config(settings, quotes, instruments)`` builds the analysis settings from ``[tca]`` and ``--quotes``
(which wins for its symbols); a quotes file that cannot be read, or a symbol that is not an instrument of
the run, is a configuration problem (exit 2), found by ``config check`` too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tradebot.analytics.attribution_watch import KIND as ATTRIBUTION_KIND
from tradebot.analytics.attribution_watch import AttributionWatch
from tradebot.analytics.live_quotes import LiveQuoteBook, follow
from tradebot.analytics.proxy import CorwinSchultz, FixedBps, SpreadModel
from tradebot.analytics.quotes import QuoteBook, QuoteFileError, load_quotes
from tradebot.analytics.store_view import KINDS
from tradebot.analytics.tca import OrderTca, TcaConfig
from tradebot.analytics.tca_watch import TCA_KIND, TcaWatch
from tradebot.brokers.protocol import QuoteStream
from tradebot.domain.clock import Clock
from tradebot.domain.instruments import Instrument
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.settings import Settings
from tradebot.store import EventWriter
from tradebot.store.codec import decode_body, encode_body

# what the watch reads: the store view's kinds, less the run's own records (it reads those on a restart)
_WATCHED = frozenset(KINDS) - {"run_start", "run_manifest", "trading_state", TCA_KIND}


class TcaRecorder(StoreRecorder):
    """Also the trades' attribution: the fill that closes a trade is followed in its unit by the trade's
    ``trade_attribution`` (``analytics.attribution_watch``, reading the TCA watch's view)."""

    def __init__(
        self, writer: EventWriter, watch: TcaWatch, attribution: AttributionWatch | None = None
    ) -> None:
        super().__init__(writer)
        self.watch = watch
        self.attribution = attribution

    def record(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        """The store's append (``StoreRecorder.record``), then the records the event made due."""
        if kind not in _WATCHED:
            super().record(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)
            if kind == "trading_state" and self.attribution is not None:  # a halt: the open trades note it
                self.attribution.on_event(self.watch.view, kind, ts, symbol, client_order_id, body, 0)
            return
        if kind == "bar":  # a bar is already inside its bar's unit; its body is plain
            super().record(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)
            seq = self.writer.last_seq
            self._write(self.watch.on_event(kind, ts, symbol, client_order_id, body, seq), ts)
            return
        with self.writer.unit():
            super().record(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)
            seq = self.writer.last_seq
            plain = decode_body(self.writer.last_body)  # exactly what the store holds
            self._write(self.watch.on_event(kind, ts, symbol, client_order_id, plain, seq), ts)
            if self.attribution is not None:
                view = self.watch.view
                closed = self.attribution.on_event(view, kind, ts, symbol, client_order_id, plain, seq)
                for trade, attribution in closed:
                    self.writer.append(ATTRIBUTION_KIND, attribution.as_dict(), ts=ts, symbol=trade.symbol)

    async def record_durable(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        await super().record_durable(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)
        if kind in _WATCHED:  # a write-ahead: it makes no record due, the watches learn the order
            plain = decode_body(encode_body(body))
            self.watch.on_event(kind, ts, symbol, client_order_id, plain)
            if self.attribution is not None:
                self.attribution.on_event(self.watch.view, kind, ts, symbol, client_order_id, plain, 0)

    def _write(self, records: list[OrderTca], ts: datetime) -> None:
        for each in records:
            cid = each.client_order_id
            self.writer.append(TCA_KIND, each.as_dict(), ts=ts, symbol=each.symbol, client_order_id=cid)


def tca_config(
    settings: Settings, quotes: Mapping[str, Path], instruments: Mapping[str, Instrument]
) -> tuple[TcaConfig, list[str]]:
    """The run's TCA settings, and the problems found (each naming its key or option)."""
    from tradebot.settings import settings_source

    tca = settings.tca
    files = {
        sym: (path, f"tca.quotes.{sym}", f" (from {settings_source(settings, f'tca.quotes.{sym}')})")
        for sym, path in tca.quotes.items()
    }
    files.update({sym: (path, f"--quotes {sym}", "") for sym, path in quotes.items()})
    books: dict[str, QuoteBook] = {}
    problems: list[str] = []
    for symbol, (path, where, source) in files.items():
        if symbol not in instruments:
            run = ", ".join(instruments)
            problems.append(f"{where}: {symbol} is not an instrument of this run ({run}){source}")
            continue
        try:
            books[symbol] = load_quotes(path, max_age=timedelta(seconds=tca.quote_max_age_s))
        except QuoteFileError as exc:
            problems.append(f"{where}: {exc}{source}")
    proxy: SpreadModel = (
        FixedBps(tca.proxy_spread_bps) if tca.proxy_spread_bps is not None else CorwinSchultz()
    )
    return TcaConfig(arrival=tca.arrival, quotes=books, proxy=proxy), problems


def tca_watch(settings: Settings, config: TcaConfig, instruments: Mapping[str, Instrument]) -> TcaWatch:
    return TcaWatch(
        config,
        instruments,
        pending_after=timedelta(seconds=settings.tca.pending_after_s),
        profile=settings.strategy.profile,
    )


def follow_broker_quotes(
    broker: object,
    feed_instrument: Instrument,
    symbol: str,
    watch: TcaWatch | None,
    settings: Settings,
    recorder: StoreRecorder,
    clock: Clock,
) -> asyncio.Task[None] | None:
    """On a broker's feed, the broker's best bid/ask (when it offers a ``QuoteStream`` and no quotes file was
    given for ``symbol``) become the TCA's quotes: a task copies the stream into a ``LiveQuoteBook`` that the
    watch reads. A stream that stops is recorded (``quote_stream_stopped``) and its figures become proxies."""
    if watch is None or not isinstance(broker, QuoteStream) or symbol in watch.config.quotes:
        return None
    name = getattr(broker, "name", "broker")
    book = LiveQuoteBook(f"{name}:live", timedelta(seconds=settings.tca.quote_max_age_s))
    watch.config = replace(watch.config, quotes={**watch.config.quotes, symbol: book})

    def stopped(exc: BaseException) -> None:
        body = {"symbol": symbol, "error": repr(exc)}
        recorder.record("quote_stream_stopped", body, ts=clock.now(), symbol=symbol)

    return asyncio.create_task(follow(broker.quotes(feed_instrument), book, stopped), name=f"quotes-{symbol}")
