"""Pass verdicts shared between intents.

A Verdict is a frozen value and nothing writes to its details after it is made, so every intent that
earns the same pass (same gate, outcome, code and details) can be given the same instance instead of a
new one per intent. ``SharedPasses`` keeps a gate's passes by a key that fixes their details exactly:
keys are taken only from values whose text form is fixed by the key (exactly ``int`` or ``str`` values,
Decimal texts, ``exact_float`` values: ``-0.0 == 0.0`` and ``1 == 1.0 == True`` would share a key while
recording differently), so a shared verdict records byte for byte what a fresh one would. Bounded: a full
table starts over.
"""

from __future__ import annotations

from collections.abc import Hashable

from tradebot.risk.verdict import Verdict

LIMIT = 1024  # distinct passes kept per gate (counts, scores): a full table is cleared, never grown further


class SharedPasses:
    """One gate's pass verdicts by key. ``get(key)`` is None when not kept; ``keep`` stores and returns."""

    __slots__ = ("_by_key", "gate", "get")

    def __init__(self, gate: str) -> None:
        self.gate = gate
        self._by_key: dict[Hashable, Verdict] = {}
        self.get = self._by_key.get

    def passed(self, key: Hashable, **details: object) -> Verdict:
        """The gate's kept pass for ``key``, made from ``details`` the first time (``key`` must fix them)."""
        return self._by_key.get(key) or self.keep(key, Verdict.passed(self.gate, **details))

    def keep(self, key: Hashable, verdict: Verdict) -> Verdict:
        by_key = self._by_key
        if len(by_key) >= LIMIT:
            by_key.clear()
        by_key[key] = verdict
        return verdict


def exact_float(value: object) -> bool:
    """True for a non-zero, non-NaN ``float``: equal such floats have the same repr."""
    return type(value) is float and value != 0.0 and value == value
