"""Deterministic client order ids: the same intent always gets the same id, across restarts.

Venues cap the length (Binance 36, IB orderRef is free text, Alpaca 128) and the alphabet, so the id is
a short, readable prefix plus a hash of the intent id: ``tb-<symbol>-<hash12>``, at most 32 characters.
"""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"[^A-Za-z0-9]")


def client_order_id(intent_id: str, attempt: int = 0, prefix: str = "tb") -> str:
    """The client order id for ``intent_id``; ``attempt`` > 0 only for a deliberate new order."""
    digest = hashlib.sha256(f"{intent_id}#{attempt}".encode()).hexdigest()[:12]
    symbol = _SAFE.sub("", intent_id.split("-", 1)[0])[:8] or "x"
    return f"{prefix}-{symbol}-{digest}"
