"""The TCA watch: the records a run writes as its events happen, checked against the hand-built store
(analytics_fixture) and against what the report recomputes from the same store with the same settings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from analytics_fixture import ES, EVENTS, Event, bar, decision, fill, submit, t

from tradebot.analytics.proxy import FixedBps
from tradebot.analytics.quotes import load_quotes
from tradebot.analytics.store_view import load_view
from tradebot.analytics.tca import OrderTca, TcaConfig, order_tca
from tradebot.analytics.tca_watch import KEPT_BARS, TcaWatch
from tradebot.domain.codec import from_body
from tradebot.domain.instruments import Instrument
from tradebot.domain.recent import RETAINED

INSTRUMENTS = {"ES": from_body(Instrument, ES)}


def watch(config: TcaConfig | None = None, pending_after: timedelta = timedelta(minutes=5)) -> TcaWatch:
    return TcaWatch(config or TcaConfig(), INSTRUMENTS, pending_after=pending_after)


def feed(w: TcaWatch, events: list[Event]) -> list[OrderTca]:
    written: list[OrderTca] = []
    for seq, (kind, body, ts, symbol, cid) in enumerate(events, start=1):
        written += w.on_event(kind, ts, symbol, cid, body, seq)
    return written


def by_order(records: list[OrderTca]) -> dict[str, list[OrderTca]]:
    out: dict[str, list[OrderTca]] = {}
    for record in records:
        out.setdefault(record.client_order_id, []).append(record)
    return out


def test_a_partial_fill_writes_a_record_and_the_last_fill_replaces_it() -> None:
    records = by_order(feed(watch(), EVENTS))["c1"]
    assert [(r.status, r.fills, r.partial) for r in records] == [
        ("PARTIALLY_FILLED", 1, True),
        ("FILLED", 2, True),
    ]
    # the first record: 1 @ 100.25 against the decision's reference 100, fee 1, ES multiplier 50
    # IS = (100.25 - 100)·1·50 + 1 = 13.5; base 100·1·50 = 5000 -> 27 bps
    assert records[0].is_cost == Decimal("13.5")
    assert records[0].is_bps == Decimal("27")
    # the final: VWAP 100.375 on 2; IS = 0.375·2·50 + 2 = 39.5 on 10000 -> 39.5 bps
    assert records[1].fill_vwap == Decimal("100.375")
    assert records[1].is_bps == Decimal("39.5")


def test_orders_that_end_unfilled_get_a_final_record_and_accepted_ones_none() -> None:
    records = by_order(feed(watch(), EVENTS))
    assert [r.status for r in records["c6"]] == ["REJECTED"]
    assert records["c6"][0].reason == "insufficient margin"
    assert [r.status for r in records["c1-sl"]] == ["CANCELED"]
    assert [r.status for r in records["c5-tp"]] == ["CANCELED"]
    assert set(records) == {"c1", "c1-tp", "c1-sl", "c2", "c3", "c5", "c5-sl", "c5-tp", "c6"}


def test_each_orders_last_record_is_what_the_report_recomputes_from_the_store(
    hand_store: Path, hand_quotes: Path
) -> None:
    quoted = TcaConfig(quotes={"ES": load_quotes(hand_quotes)})
    for config in (TcaConfig(), TcaConfig(proxy=FixedBps(4)), quoted):
        written = feed(watch(config), EVENTS)
        last = {r.client_order_id: r.as_dict() for r in written}
        recomputed = {r.client_order_id: r.as_dict() for r in order_tca(load_view(hand_store), config)}
        assert last == recomputed


def test_with_quotes_the_spread_is_measured_and_without_it_is_a_marked_proxy(hand_quotes: Path) -> None:
    config = TcaConfig(quotes={"ES": load_quotes(hand_quotes)})
    quoted = {r.client_order_id: r for r in feed(watch(config), EVENTS)}
    # c1's first fill at 14:32:00.5: the quote known then is the 14:31 bar (100.00/100.50, mid 100.25);
    # VWAP 100.375 -> spread paid (100.375 - 100.25)/100.25 = 12.4688 bps
    assert quoted["c1"].spread_source == "quotes"
    assert quoted["c1"].spread_paid_bps == Decimal("12.4688")
    proxied = {r.client_order_id: r for r in feed(watch(TcaConfig(proxy=FixedBps(4))), EVENTS)}
    assert proxied["c1"].spread_source == "proxy"
    assert proxied["c1"].spread_model == "fixed_bps(4)"
    assert proxied["c1"].spread_paid_bps == Decimal("2")


def test_an_order_unfilled_after_the_pending_time_gets_one_pending_record_then_its_fill() -> None:
    events: list[Event] = [
        EVENTS[0],
        bar(1, "14:30", 100, 100.5, 99.5, 100),
        decision(t(1, "14:31"), "p1", "BUY", "1", "100", cid="p1"),
        submit(t(1, "14:31"), "p1", "p1", "BUY", "1"),
        bar(1, "14:31", 100, 100.5, 99.5, 100),  # recorded at 14:32: 1 min after the submit
        bar(1, "14:32", 100, 100.5, 99.5, 100),  # 14:33: 2 min -> due
        bar(1, "14:33", 100, 100.5, 99.5, 100),  # 14:34: already written
        fill(t(1, "14:34", 10), "p1", 9, "BUY", "1", "100.5", "1"),
    ]
    w = watch(pending_after=timedelta(minutes=2))
    written: list[tuple[str, OrderTca]] = []
    for seq, (kind, body, ts, symbol, cid) in enumerate(events, start=1):
        written += [(kind, r) for r in w.on_event(kind, ts, symbol, cid, body, seq)]
    assert [(kind, r.status, r.pending, r.fills) for kind, r in written] == [
        ("bar", "WORKING", True, 0),
        ("order_filled", "FILLED", False, 1),
    ]
    pending = written[0][1]
    assert pending.arrival_price == Decimal("100")
    assert pending.is_bps is None and pending.fill_vwap is None


def test_a_watch_rebuilt_from_the_store_writes_what_the_uninterrupted_one_writes() -> None:
    """A restart feeds the watch every stored event, its records included (what they make due is not
    written again), then the run goes on: from any cut, the records written after it are the
    uninterrupted run's, none twice. A fill seen again (a venue re-sending it) writes nothing."""
    uninterrupted = watch()
    stored: list[Event] = []
    after: list[list[OrderTca]] = []  # what each event made due, uninterrupted
    for seq, (kind, body, ts, symbol, cid) in enumerate(EVENTS, start=1):
        made = uninterrupted.on_event(kind, ts, symbol, cid, body, seq)
        after.append(made)
        stored.append((kind, body, ts, symbol, cid))
        stored += [("order_tca", r.as_dict(), ts, symbol, r.client_order_id) for r in made]
    for cut in range(1, len(EVENTS)):
        restarted = watch()
        prefix = stored[: stored.index(EVENTS[cut])]
        feed(restarted, prefix)  # the rebuild: its output is discarded, as load_resume_state does
        rest = [restarted.on_event(k, ts, sym, cid, body) for k, body, ts, sym, cid in EVENTS[cut:]]
        assert rest == after[cut:], cut
    again = watch()
    feed(again, stored)
    repeat = next(e for e in EVENTS if e[0] == "order_filled")
    assert again.on_event(repeat[0], repeat[2], repeat[3], repeat[4], repeat[1]) == []


def test_memory_stays_bounded_over_many_orders() -> None:
    w = watch()
    events: list[Event] = [EVENTS[0]]
    orders = RETAINED + 500
    for n in range(orders):
        when = t(1, "14:31") + timedelta(minutes=n)
        cid = f"o{n}"
        events += [
            decision(when, cid, "BUY", "1", "100", cid=cid),
            submit(when, cid, cid, "BUY", "1"),
            fill(when, cid, n, "BUY", "1", "100.25", "1"),
        ]
        if n % 50 == 0:
            events.append(bar(1, "14:30", 100, 100.5, 99.5, 100))
    written = feed(w, events)
    assert len(written) == orders
    assert len(w.view.orders) <= RETAINED
    assert len(w.view.decisions_by_intent) <= 2 * RETAINED
    assert len(w.view.bars["ES"]) <= 2 * KEPT_BARS
    assert w.view.fills == [] and w.view.decisions == []
