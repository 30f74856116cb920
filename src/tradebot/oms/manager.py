"""Submitting orders safely: capabilities, write-ahead, then the broker, and never a blind retry.

0. An order the broker does not declare it can take (order type, time in force, bracket) is refused with
   UNSUPPORTED_ORDER_TYPE and recorded (``order_refused``): nothing is written ahead, nothing is sent.
1. The request enters the ledger as PENDING_SUBMIT and is written DURABLY to the store.
2. ``broker.submit`` is called under a timeout.
3. On a timeout or a transient network error the order's fate is unknown: the venue is asked about the
   client order id (a read: retried when it fails transiently). Known → adopted, never sent again.
   Unknown → sent once more at once with the SAME client order id (a venue that did get the first one
   refuses the second as a duplicate: still one order). Still unknowable (the lookup failed, or the second
   submit's fate is unknown too) → left unacknowledged for reconciliation, and the caller is told (it
   stops new entries).
Other classified errors (auth, rate limit, rejects) are returned to the caller, which records them and
moves the trading state; they are never retried here. This is the only place an order is ever resent.
"""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum

import anyio

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorCategory, ErrorClass
from tradebot.domain.orders import OrderRequest
from tradebot.oms.capability_check import order_needs, unsupported
from tradebot.oms.ledger import Ledger
from tradebot.pipeline.recorder import Recorder


class SubmitOutcome(StrEnum):
    SENT = "SENT"  # the venue has it
    DUPLICATE = "DUPLICATE"  # already in the ledger: nothing sent
    FAILED = "FAILED"  # the venue does not have it (classified error)
    UNKNOWN = "UNKNOWN"  # could not tell whether the venue has it
    REFUSED = "REFUSED"  # the broker does not declare what this order needs: nothing written, nothing sent

SUBMIT_ATTEMPTS = 2  # the first send, and one more after a lookup proved the venue does not have it


class OrderManager:
    def __init__(
        self,
        broker: Broker,
        ledger: Ledger,
        recorder: Recorder,
        clock: Clock,
        submit_timeout_s: float = 10.0,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.recorder = recorder
        self.clock = clock
        self.submit_timeout_s = submit_timeout_s
        self.last_error: ErrorClass | None = None

    def unsupported(self, request: OrderRequest) -> list[str]:
        """What of ``request`` the broker does not declare it can take (empty: it may be sent)."""
        return unsupported(order_needs(request), self.broker.capabilities)

    async def submit(self, request: OrderRequest) -> SubmitOutcome:
        cid = request.client_order_id
        self.last_error = None
        if cid in self.ledger:
            return SubmitOutcome.DUPLICATE
        missing = self.unsupported(request)
        if missing:
            self.recorder.record(
                "order_refused",
                {
                    "client_order_id": cid,
                    "intent_id": request.intent_id,
                    "code": reasons.UNSUPPORTED_ORDER_TYPE,
                    "broker": self.broker.name,
                    "unsupported": missing,
                },
                ts=self.clock.now(),
                symbol=request.symbol,
                client_order_id=cid,
            )
            return SubmitOutcome.REFUSED
        self.ledger.record_intent(request)
        await self.recorder.record_durable(
            "order_submit", request, ts=self.clock.now(), symbol=request.symbol, client_order_id=cid
        )
        outcome = await self._send(request)
        if outcome is SubmitOutcome.SENT:
            self.ledger.mark_submitted(cid)
        return outcome

    async def _send(self, request: OrderRequest) -> SubmitOutcome:
        cid = request.client_order_id
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                with anyio.fail_after(self.submit_timeout_s):
                    await self.broker.submit(request)
                return SubmitOutcome.SENT
            except TimeoutError:
                error = None
            except BrokerError as exc:
                error = exc.error_class
                self.last_error = error
                if error.category is not ErrorCategory.TRANSIENT_NETWORK:
                    self._record_failure(request, error.code, str(exc), attempt)
                    return SubmitOutcome.FAILED
            # The venue may or may not have it: ask by client order id before anything else.
            try:
                with anyio.fail_after(self.submit_timeout_s):
                    known = await self.broker.order_status(cid)
            except (TimeoutError, BrokerError) as exc:  # an open lookup breaker is a BrokerError too
                self._record_failure(
                    request, reasons.ORDER_STATUS_UNKNOWN, f"lookup failed: {exc!r}", attempt
                )
                return SubmitOutcome.UNKNOWN
            if known is not None:
                self.ledger.adopt(known)
                self.recorder.record(
                    "order_adopted",
                    asdict(known),
                    ts=self.clock.now(),
                    symbol=request.symbol,
                    client_order_id=cid,
                )
                return SubmitOutcome.SENT
            if attempt == SUBMIT_ATTEMPTS:
                break
            self.recorder.record(
                "order_resubmit",
                {
                    "client_order_id": cid,
                    "attempt": attempt + 1,
                    "cause": error.code if error else "SUBMIT_TIMEOUT",
                },
                ts=self.clock.now(),
                symbol=request.symbol,
                client_order_id=cid,
            )
        self._record_failure(
            request,
            reasons.ORDER_STATUS_UNKNOWN,
            f"submit did not complete in {SUBMIT_ATTEMPTS} attempts",
            SUBMIT_ATTEMPTS,
        )
        return SubmitOutcome.UNKNOWN

    def _record_failure(self, request: OrderRequest, code: str, message: str, attempt: int) -> None:
        self.recorder.record(
            "order_submit_failed",
            {
                "client_order_id": request.client_order_id,
                "code": code,
                "message": message,
                "attempt": attempt,
            },
            ts=self.clock.now(),
            symbol=request.symbol,
            client_order_id=request.client_order_id,
        )
