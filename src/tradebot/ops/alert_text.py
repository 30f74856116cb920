"""Alerts as sentences an operator reads on a phone: one title line, then the details as ``key: value``.

``alert_text(alert)`` is used by the log sink (the console line) and the notifier (the message title and
body), so a log line and a notification say the same thing. Times are the alert's own (the pipeline
clock), in UTC. Amounts are printed exactly as recorded, to two decimals when they are money.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tradebot.domain import reasons

if TYPE_CHECKING:  # alerts imports this module
    from tradebot.ops.alerts import Alert


@dataclass(frozen=True, slots=True)
class AlertText:
    title: str
    body: str


def _when(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _money(value: Any) -> str:
    """Two decimals; a value that is not a number raises ValueError (the generic title is used)."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def _on(details: Mapping[str, Any]) -> str:
    symbol = details.get("symbol")
    return f" on {symbol}" if symbol else ""


def _halt(d: Mapping[str, Any], ts: datetime) -> str:
    code = str(d.get("halt_code", ""))
    if code == reasons.DAILY_LOSS_CAP_BLOCK and "cap" in d:
        return (
            f"HALTED: daily loss cap reached{_on(d)} "
            f"({_money(d.get('pnl_today'))} USD of -{_money(d['cap'])} cap) at {_when(ts)}"
        )
    if code == reasons.DAILY_LOSS_CAP_BLOCK:
        return f"HALTED: done for the day after the daily loss cap{_on(d)} at {_when(ts)}"
    if code == reasons.CONSECUTIVE_LOSSES_BLOCK:
        return (
            f"HALTED: {d.get('consecutive_losses')} consecutive losses{_on(d)} "
            f"(max {d.get('max')}) at {_when(ts)}"
        )
    if code == reasons.KILL_SWITCH:
        why = f": {d['reason']}" if d.get("reason") else ""
        return f"HALTED by the operator (kill switch{why}) at {_when(ts)}"
    error = d.get("error") or d.get("message")
    because = f": {str(error)[:160]}" if error else ""
    return f"HALTED ({code or 'unknown reason'}){_on(d)}{because} at {_when(ts)}"


def _breaker(d: Mapping[str, Any], ts: datetime) -> str:
    until = d.get("open_until")
    until_text = f" until {_when(datetime.fromisoformat(until))}" if isinstance(until, str) else ""
    error = f"; last error {d['last_error_code']}" if d.get("last_error_code") else ""
    return (
        f"Breaker open: calls to {d.get('dependency')} refused{until_text} "
        f"({d.get('trigger', 'failures')}{error}) at {_when(ts)}"
    )


def _rejects(d: Mapping[str, Any], ts: datetime) -> str:
    return (
        f"Repeated rejects: {d.get('rejects_in_window')} orders rejected within {d.get('window_s')} s "
        f"(last on {d.get('last_symbol') or '?'}: {d.get('last_reason') or 'no reason given'}) at {_when(ts)}"
    )


def _stale(d: Mapping[str, Any], ts: datetime) -> str:
    late = d.get("late_s")
    late_text = f"{float(late) / 60:.0f} min late" if isinstance(late, int | float) else "never came"
    last = d.get("last_bar_at")
    last_text = f"; last bar closed {_when(datetime.fromisoformat(last))}" if isinstance(last, str) else ""
    return f"Stale data{_on(d)}: the next bar is {late_text}{last_text} (checked at {_when(ts)})"


def _mismatch(d: Mapping[str, Any], ts: datetime) -> str:
    mismatches = d.get("mismatches")
    count = len(mismatches) if isinstance(mismatches, list | tuple) else "some"
    return (
        f"Reconciliation mismatch at {d.get('when', 'check')}: {count} difference(s) with the broker "
        f"at {_when(ts)}"
    )


_TITLES: Mapping[str, Callable[[Mapping[str, Any], datetime], str]] = {
    reasons.ALERT_HALT: _halt,
    reasons.ALERT_BREAKER_OPEN: _breaker,
    reasons.ALERT_REPEATED_REJECTS: _rejects,
    reasons.ALERT_STALE_DATA: _stale,
    reasons.ALERT_RECONCILIATION_MISMATCH: _mismatch,
}


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_value(v) for v in value)
    return str(value)


def alert_text(alert: Alert) -> AlertText:
    """The alert's title (a sentence) and body (the title, then every detail on its own line)."""
    details = alert.to_dict()["details"]  # secrets redacted
    describe = _TITLES.get(alert.code)
    try:
        title = describe(details, alert.ts) if describe else f"{alert.code} at {_when(alert.ts)}"
    except (KeyError, TypeError, ValueError):  # a detail of an unexpected shape: the generic line
        title = f"{alert.code} at {_when(alert.ts)}"
    lines = [title, "", f"code: {alert.code}", f"severity: {alert.severity.value}"]
    lines += [f"{key}: {_value(value)}" for key, value in details.items() if value is not None]
    return AlertText(title, "\n".join(lines))
