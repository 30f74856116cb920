"""Each alert reads as a sentence (the log line and the notification title), details below it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tradebot.ops.alert_text import alert_text
from tradebot.ops.alerts import Alert, Severity
from tradebot.ops.secrets import REDACTED

T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "details", "title"),
    [
        (
            "ALERT_HALT",
            {"halt_code": "DAILY_LOSS_CAP_BLOCK", "symbol": "MES", "pnl_today": "-512.4", "cap": "500"},
            "HALTED: daily loss cap reached on MES (-512.40 USD of -500.00 cap) at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_HALT",
            {"halt_code": "CONSECUTIVE_LOSSES_BLOCK", "symbol": "MES", "consecutive_losses": 3, "max": 3},
            "HALTED: 3 consecutive losses on MES (max 3) at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_HALT",
            {"halt_code": "KILL_SWITCH", "reason": "fat finger", "source": "socket"},
            "HALTED by the operator (kill switch: fat finger) at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_HALT",
            {"halt_code": "AUTH_HALT", "error": "401 invalid api key"},
            "HALTED (AUTH_HALT): 401 invalid api key at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_BREAKER_OPEN",
            {"dependency": "broker_submit", "trigger": "short", "open_until": "2026-03-02T14:03:00+00:00"},
            "Breaker open: calls to broker_submit refused until 2026-03-02 14:03 UTC (short) "
            "at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_STALE_DATA",
            {"symbol": "MES", "late_s": 900.0, "last_bar_at": "2026-03-02T13:45:00+00:00"},
            "Stale data on MES: the next bar is 15 min late; last bar closed 2026-03-02 13:45 UTC "
            "(checked at 2026-03-02 14:02 UTC)",
        ),
        (
            "ALERT_REPEATED_REJECTS",
            {"rejects_in_window": 3, "window_s": 600.0, "last_symbol": "MES", "last_reason": "margin"},
            "Repeated rejects: 3 orders rejected within 600.0 s (last on MES: margin) "
            "at 2026-03-02 14:02 UTC",
        ),
        (
            "ALERT_RECONCILIATION_MISMATCH",
            {"when": "restart", "mismatches": [{"symbol": "MES", "store": "1", "venue": "0"}]},
            "Reconciliation mismatch at restart: 1 difference(s) with the broker at 2026-03-02 14:02 UTC",
        ),
        ("ALERT_SOMETHING_NEW", {"x": 1}, "ALERT_SOMETHING_NEW at 2026-03-02 14:02 UTC"),
        (
            "ALERT_HALT",
            {"halt_code": "DAILY_LOSS_CAP_BLOCK", "cap": {}},
            "ALERT_HALT at 2026-03-02 14:02 UTC",
        ),
    ],
)
def test_the_title_is_a_sentence(code: str, details: dict[str, Any], title: str) -> None:
    text = alert_text(Alert(code, Severity.CRITICAL, details, T0))
    assert text.title == title
    assert text.body.splitlines()[:4] == [title, "", f"code: {code}", "severity: CRITICAL"]


def test_the_body_lists_the_details_with_secrets_redacted() -> None:
    details = {"dependency": "broker_submit", "api_token": "abcd1234", "open_until": None}
    body = alert_text(Alert("ALERT_BREAKER_OPEN", Severity.WARNING, details, T0)).body
    assert "dependency: broker_submit" in body.splitlines()
    assert f"api_token: {REDACTED}" in body.splitlines() and "abcd1234" not in body
    assert "open_until" not in body  # empty details are left out
