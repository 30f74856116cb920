"""Notifications through apprise: Telegram, Slack, Discord, e-mail, a generic JSON webhook... one URL list.

Configured as ``[ops.alerts] notify_urls = ["tgram://${TG_TOKEN}/${TG_CHAT}", "json://127.0.0.1:8080/hook"]``
(any apprise URL). ``${NAME}`` is read from the environment variable ``NAME`` through
``tradebot.ops.secrets``, so tokens never sit in a config file and are scrubbed from every log, manifest
and message; the URLs themselves are secrets too. The older ``webhook_url`` (an http(s) URL) becomes an
apprise ``json(s)://`` URL (its query parameters are kept).

``Notifier`` is an alert sink: each alert becomes a readable message (``alert_text``) sent from one
worker thread, so the pipeline never waits on the network. At most one notification per alert code per
``rate_limit_s`` of pipeline time (the alert's own time: a replay does not flood); the alerts held back
are counted in the next message of that code. A failed send is logged (``NOTIFY_FAILED``, naming the
service and host only) and counted, never raised.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from loguru import logger
from pydantic import SecretStr

from tradebot.domain import reasons
from tradebot.ops.alert_text import alert_text
from tradebot.ops.alerts import Alert, Severity
from tradebot.ops.secrets import load_secret, register_secret, scrub_text

if TYPE_CHECKING:  # apprise is imported only when a notification URL is configured (it is slow to load)
    from apprise.plugins import NotifyBase

    from tradebot.ops.config import AlertsConfig

NOTIFY_FAILED = reasons.NOTIFY_FAILED
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOTIFY_TYPES: Mapping[Severity, str] = {  # apprise.NotifyType's values
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.CRITICAL: "failure",
}


class NotifyConfigError(ValueError):
    """A notification URL cannot be used; the message names the config key, never the URL's secrets."""


class _AppriseToLoguru(logging.Handler):
    """apprise logs through ``logging``: forward to loguru (whose patcher scrubs secrets) at DEBUG."""

    def emit(self, record: logging.LogRecord) -> None:
        logger.bind(component="apprise").debug("apprise: {m}", m=record.getMessage())


def _instantiate(url: str) -> NotifyBase | None:
    """apprise's notifier for ``url`` (None: apprise does not know the service)."""
    import apprise

    _quiet_apprise()
    server: NotifyBase | None = apprise.Apprise.instantiate(url)
    return server


def _quiet_apprise() -> None:
    log = logging.getLogger("apprise")
    if not any(isinstance(h, _AppriseToLoguru) for h in log.handlers):
        log.addHandler(_AppriseToLoguru())
    log.propagate = False  # never Python's last-resort stderr handler, which would not scrub


def expand_url(template: str, key: str, environ: Mapping[str, str] | None = None) -> str:
    """``template`` with each ``${NAME}`` replaced by the environment variable ``NAME`` (registered as a
    secret); the whole URL is registered too. A missing variable raises, naming ``key`` and ``NAME``."""
    environ = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        return load_secret(key, env=match.group(1), environ=environ).get_secret_value()

    url = _ENV_REF.sub(value, template)
    register_secret(url, key)
    return url


def webhook_as_apprise(url: str, key: str = "ops.alerts.webhook_url") -> str:
    """An http(s) webhook URL as apprise's generic JSON URL (query parameters kept as GET parameters)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyConfigError(
            f"{key}: must be an http(s) URL with a host (got scheme {parts.scheme!r}); "
            "or list any apprise URL in ops.alerts.notify_urls"
        )
    scheme = "jsons" if parts.scheme == "https" else "json"
    query = "&".join(f"-{k}={v}" for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return f"{scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a notification goes, said without secrets: the service and the host."""

    service: str
    where: str

    def __str__(self) -> str:
        return f"{self.service} ({self.where})"


def _target(server: NotifyBase) -> Target:
    """The service and its host from apprise's privacy URL (tokens masked), without user, path or query."""
    parts = urlsplit(str(server.url(privacy=True)))  # type: ignore[no-untyped-call]
    port = f":{parts.port}" if parts.port else ""
    return Target(str(server.service_name), scrub_text(f"{parts.scheme}://{parts.hostname or ''}{port}"))


@dataclass(frozen=True, slots=True)
class SendResult:
    target: Target
    ok: bool


class Notifier:
    """An alert sink sending readable messages through apprise from one worker thread."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        rate_limit_s: float = 300.0,
        timeout_s: float = 5.0,
        max_pending: int = 100,
        on_result: Callable[[str], None] | None = None,
        key: str = "ops.alerts.notify_urls",
    ) -> None:
        _quiet_apprise()
        self._servers: list[tuple[NotifyBase, Target]] = []
        for i, url in enumerate(urls):
            server = _instantiate(url)
            if server is None:
                raise NotifyConfigError(
                    f"{key}[{i}]: apprise cannot use this URL (scheme {urlsplit(url).scheme!r}); "
                    "see https://github.com/caronc/apprise/wiki for the URL of each service"
                )
            server.socket_connect_timeout = timeout_s
            server.socket_read_timeout = timeout_s
            self._servers.append((server, _target(server)))
        self.rate_limit = timedelta(seconds=rate_limit_s)
        self.max_pending = max_pending
        self._on_result = on_result
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tradebot-notify")
        self._lock = Lock()
        self._last_sent: dict[str, datetime] = {}
        self._held: dict[str, int] = {}
        self._pending = 0
        self.sent = 0
        self.failed = 0
        self.suppressed = 0

    @property
    def targets(self) -> list[Target]:
        return [target for _, target in self._servers]

    def set_timeout(self, index: int, seconds: float) -> None:
        """The connect and read timeout of the ``index``-th URL."""
        server = self._servers[index][0]
        server.socket_connect_timeout = seconds
        server.socket_read_timeout = seconds

    def __call__(self, alert: Alert) -> None:
        """Queue ``alert`` (never waits); held back when its code was sent less than ``rate_limit_s`` ago."""
        last = self._last_sent.get(alert.code)
        if last is not None and alert.ts - last < self.rate_limit:
            self._held[alert.code] = self._held.get(alert.code, 0) + 1
            self._count("suppressed")
            return
        with self._lock:
            if self._pending >= self.max_pending:
                self._count("failed")
                logger.bind(code=NOTIFY_FAILED, alert=alert.code).warning(
                    "notification of {a} not sent: {n} notifications already waiting",
                    a=alert.code,
                    n=self._pending,
                )
                return
            self._pending += 1
        self._last_sent[alert.code] = alert.ts
        held = self._held.pop(alert.code, 0)
        text = alert_text(alert)
        body = text.body
        if held:
            body += f"\n\n({held} more {alert.code} alert(s) held back since the last one)"
        self._executor.submit(self._send_all, text.title, body, _NOTIFY_TYPES[alert.severity], alert.code)

    def send(self, title: str, body: str, notify_type: str = "info") -> list[SendResult]:
        """Send now to every target (blocking; for ``tradebot alerts test``): each target's result."""
        return [
            self._send_one(server, target, title, body, notify_type, "") for server, target in self._servers
        ]

    def close(self) -> None:
        """Send what is queued (each send bounded by ``timeout_s`` per connect and read), then stop."""
        self._executor.shutdown(wait=True)

    def _send_all(self, title: str, body: str, notify_type: str, code: str) -> None:
        try:
            for server, target in self._servers:
                self._send_one(server, target, title, body, notify_type, code)
        finally:
            with self._lock:
                self._pending -= 1

    def _send_one(
        self,
        server: NotifyBase,
        target: Target,
        title: str,
        body: str,
        notify_type: str,
        code: str,
    ) -> SendResult:
        try:
            ok = bool(server.notify(body=body, title=title, notify_type=notify_type))
        except Exception as exc:  # noqa: BLE001 - a notification must never break trading; logged, counted
            logger.bind(code=NOTIFY_FAILED, alert=code).warning(
                "notification to {t} failed: {e}", t=str(target), e=type(exc).__name__
            )
            ok = False
        else:
            if not ok:
                logger.bind(code=NOTIFY_FAILED, alert=code).warning(
                    "notification to {t} failed (the service refused it or did not answer)", t=str(target)
                )
        self._count("sent" if ok else "failed")
        return SendResult(target, ok)

    def _count(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
        if self._on_result is not None:
            self._on_result(outcome)


def notifier_urls(
    notify_urls: Sequence[SecretStr],
    webhook_url: SecretStr | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The configured URLs, ``${NAME}`` expanded from the environment (each registered as a secret)."""
    urls = [
        expand_url(u.get_secret_value(), f"ops.alerts.notify_urls[{i}]", environ)
        for i, u in enumerate(notify_urls)
    ]
    if webhook_url is not None:
        url = webhook_as_apprise(
            expand_url(webhook_url.get_secret_value(), "ops.alerts.webhook_url", environ)
        )
        register_secret(url, "ops.alerts.webhook_url")
        urls.append(url)
    return urls


def check_url(template: str, key: str, *, webhook: bool = False) -> None:
    """Raise ``NotifyConfigError`` / ``SecretsError`` naming ``key`` when the URL cannot be used: a
    variable it names is not set, or apprise does not know the service (``webhook``: an http(s) URL)."""
    url = expand_url(template, key)
    if webhook:
        url = webhook_as_apprise(url, key)
        register_secret(url, key)
    if _instantiate(url) is None:
        raise NotifyConfigError(
            f"{key}: apprise cannot use this URL (scheme {urlsplit(url).scheme!r}); "
            "see https://github.com/caronc/apprise/wiki for the URL of each service"
        )


def build_notifier(
    alerts: AlertsConfig,
    on_result: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Notifier | None:
    """The notifier ``[ops.alerts]`` configures (None: no URL configured)."""
    urls = notifier_urls(alerts.notify_urls, alerts.webhook_url, environ)
    if not urls:
        return None
    notifier = Notifier(
        urls,
        rate_limit_s=alerts.notify_rate_limit_s,
        timeout_s=alerts.notify_timeout_s,
        on_result=on_result,
    )
    if alerts.webhook_url is not None:  # the last URL, with its own timeout
        notifier.set_timeout(len(urls) - 1, alerts.webhook_timeout_s)
    return notifier
