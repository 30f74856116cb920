"""The simulated venue of a run is a projection of the run's event store, rebuilt on every start.

The store records every call the pipeline makes to the simulated venue: the bars it saw (``bar``, recorded
right after the venue matched them and after the fills they caused), the orders (``order_submit``, the
write-ahead, recorded just before the venue call), and the cancels (``order_cancel_request`` before the
call, or the venue's own ``order_canceled`` answer for the cancels of startup cleanup, session close and the
operator). Fed again to a fresh venue in the same order, they rebuild exactly the venue the store implies:

* the venue never runs ahead of the store: a bar, fill or order the store did not commit before a kill
  did not happen at the venue either, whatever the moment of the kill (the store commits in groups in a
  replay; the venue writes nothing of its own);
* an order whose write-ahead is stored reached the venue, unless the store says the venue refused the call
  (``order_submit_failed`` with no later retry, and no answer from the venue). So an order whose answer was
  lost with the store's tail is found by its client order id at restart and adopted — as the uninterrupted
  run had it — and not reported as never sent;
* the fills the rebuild produces must be the fills the store recorded (fill id, price, quantity, fee,
  time). A difference means the store does not describe this venue (another ``[broker.sim]`` config or a
  damaged store): the run refuses to start (``VenueProjectionError``, exit 4) rather than trade on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradebot.brokers.sim.projection import BarSeen, CancelSent, Listed, OrderSent, VenueInput, rebuild
from tradebot.brokers.sim.venue import CLIENT_CANCEL_REASONS, VENUE_REJECT, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.codec import from_body
from tradebot.domain.events import OrderCanceled, OrderFilled
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest
from tradebot.store import StoreReader

_OUTCOMES = ("order_accepted", "order_rejected", "order_submit_failed", "order_resubmit", "order_filled")
_CALLS = ("run_start", "bar", "order_submit", "order_cancel_request", "order_canceled")
_SHOWN = 5  # differences listed in the error


class VenueProjectionError(Exception):
    """The venue rebuilt from the store does not reproduce what the store recorded."""

    def __init__(self, store_path: Path, problems: list[str]) -> None:
        shown = problems[:_SHOWN]
        more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        super().__init__(
            f"{store_path}: the simulated venue rebuilt from this store does not reproduce its recorded "
            "fills (was the store written with another [broker.sim] config?):\n  " + "\n  ".join(shown)
            + more
        )
        self.problems = problems


@dataclass(slots=True)
class _Outcomes:
    """What the store says became of each order sent to the venue, and the fills it recorded."""

    answered: set[str]
    venue_rejects: dict[str, str]
    gave_up: set[str]
    fills: list[tuple[int, OrderFilled]]

    def delivered(self, client_order_id: str) -> bool:
        """Whether the venue took the call: it answered, or the sender did not give up on it."""
        return client_order_id in self.answered or client_order_id not in self.gave_up


def _cid(event: Any) -> str:
    return str(event.client_order_id or event.body.get("client_order_id") or "")


def _outcomes(reader: StoreReader) -> _Outcomes:
    found = _Outcomes(set(), {}, set(), [])
    for event in reader.iter_events(kinds=_OUTCOMES):
        cid, kind, body = _cid(event), event.kind, event.body
        if kind == "order_filled":
            found.fills.append((event.seq, from_body(OrderFilled, body)))
        elif kind in ("order_accepted", "order_rejected"):
            found.answered.add(cid)
            if kind == "order_rejected" and body.get("venue_code") == VENUE_REJECT:
                found.venue_rejects[cid] = str(body.get("reason", ""))
        elif kind == "order_submit_failed":
            found.gave_up.add(cid)
        else:  # order_resubmit: the sender tried again after a failure
            found.gave_up.discard(cid)
    return found


def _calls(reader: StoreReader, outcomes: _Outcomes) -> Iterator[tuple[int, VenueInput]]:
    """The venue's calls as the store recorded them, in order, each with the seq it is anchored at."""
    for event in reader.iter_events(kinds=_CALLS):
        kind, body = event.kind, event.body
        if kind == "bar":
            yield event.seq, BarSeen(_bar(body))
        elif kind == "order_submit":
            request = from_body(OrderRequest, body)
            cid = request.client_order_id
            if outcomes.delivered(cid):
                yield event.seq, OrderSent(request, event.ts, outcomes.venue_rejects.get(cid))
        elif kind == "order_cancel_request":
            yield event.seq, CancelSent(_cid(event), event.ts)
        elif kind == "order_canceled":
            if body.get("reason") in CLIENT_CANCEL_REASONS:
                yield event.seq, CancelSent(_cid(event), from_body(OrderCanceled, body).ts)
        else:  # run_start: the instruments that run traded, with their specs
            for spec in body.get("instruments", []):
                yield event.seq, Listed(from_body(Instrument, spec))


def _bar(body: Mapping[str, Any]) -> Bar:
    """A recorded bar (``from_body(Bar, body)``, written out: a store holds many bars)."""
    return Bar(body["symbol"], datetime.fromisoformat(body["ts"]), body["open"], body["high"], body["low"],
               body["close"], body["volume"], body["interval_s"])


def restore_venue(venue: SimVenue, store_path: Path) -> None:
    """Rebuild ``venue`` (fresh, no state file) from the store at ``store_path`` (nothing for a new store);
    raises ``VenueProjectionError`` when the rebuilt venue's fills differ from the recorded ones."""
    if not store_path.exists():
        return
    with StoreReader(store_path) as reader:
        if reader.max_seq() == 0:
            return
        outcomes = _outcomes(reader)
        last_bar_seq = 0

        def inputs() -> Iterator[VenueInput]:
            nonlocal last_bar_seq
            for seq, item in _calls(reader, outcomes):
                if isinstance(item, BarSeen):
                    last_bar_seq = seq
                yield item

        rebuild(venue, inputs())
    problems = _fill_differences(venue, outcomes.fills, last_bar_seq)
    if problems:
        raise VenueProjectionError(store_path, problems)


def _fill_differences(
    venue: SimVenue, recorded: list[tuple[int, OrderFilled]], last_bar_seq: int
) -> list[str]:
    """Every fill of the rebuilt venue must be recorded as it is, and every fill recorded before the last
    bar must be rebuilt (fills recorded after it belong to the next bar, which the restart feeds again) —
    or be one the venue made and no longer keeps (older than all it keeps: ``domain/recent.py``)."""
    rebuilt = {fill.fill_id: fill for fill in venue.all_fills()}
    stored: dict[str, OrderFilled] = {}
    problems: list[str] = []
    for seq, fill in recorded:
        stored.setdefault(fill.fill_id, fill)
        if seq < last_bar_seq and fill.fill_id not in rebuilt and not venue.forgot_fill(fill.fill_id):
            problems.append(f"fill {fill.fill_id} of {fill.client_order_id} is recorded but not rebuilt")
    for fill_id, fill in rebuilt.items():
        if fill_id not in stored:
            problems.append(f"fill {fill_id} of {fill.client_order_id} is rebuilt but was never recorded")
        elif stored[fill_id] != fill:
            problems.append(f"fill {fill_id} recorded as {_fill_text(stored[fill_id])}, rebuilt as "
                            f"{_fill_text(fill)}")
    return problems


def _fill_text(fill: OrderFilled) -> str:
    return (f"{fill.client_order_id} {fill.side} {fill.quantity} @ {fill.price} fee {fill.fee} "
            f"at {fill.ts.isoformat()}")


def venue_from_store(store_path: Path, sim_table: Mapping[str, Any] | None = None) -> SimVenue:
    """A simulated venue in the state the store at ``store_path`` implies (for reports, checks and tests).

    ``sim_table``: the ``[broker.sim]`` table to build it with; by default the one the store's last run
    recorded in its manifest. The caller closes the venue."""
    from tradebot.brokers.sim import SimConfig
    from tradebot.domain.clock import ReplayClock

    if sim_table is None:
        sim_table = recorded_sim_table(store_path)
    config = SimConfig.from_mapping(dict(sim_table))
    if config.state_path is not None:
        raise ValueError("broker.sim.state_path: a run's venue is rebuilt from its store, not from a file")
    venue = SimVenue(config, ReplayClock(datetime(1970, 1, 1, tzinfo=UTC)))
    try:
        restore_venue(venue, store_path)
    except BaseException:
        venue.close()
        raise
    return venue


def recorded_sim_table(store_path: Path) -> dict[str, Any]:
    """The ``[broker.sim]`` table of the last run recorded in the store (empty when none is recorded)."""
    with StoreReader(store_path) as reader:
        manifest = reader.last_event("run_manifest")
    config = manifest.body.get("config", {}) if manifest is not None else {}
    table = config.get("broker", {}).get("sim", {})
    return dict(table) if isinstance(table, dict) else {}
