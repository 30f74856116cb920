"""``tradebot alerts test``: send one test notification to every configured URL and say where it went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradebot.exit_codes import ExitCode

app = typer.Typer(help="Alert notifications (apprise: Telegram, Slack, Discord, e-mail, JSON...).")

TEST_TITLE = "tradebot test notification"


@app.command(
    help="Send one test notification to every URL of ops.alerts.notify_urls (and webhook_url). "
    f"Exit {ExitCode.OK.value} when every service accepted it, {ExitCode.CONFIG_ERROR.value} when no URL "
    f"is configured or the config is invalid, {ExitCode.BROKER_UNREACHABLE.value} when a service could "
    "not be reached or refused it."
)
def test(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: config/tradebot.toml).")
    ] = None,
) -> None:
    import socket
    from datetime import UTC, datetime

    from tradebot.ops.logging import setup_logging
    from tradebot.ops.notify import build_notifier
    from tradebot.settings import ConfigError, load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    handle = setup_logging(console_level="WARNING")  # secrets scrubbed from anything apprise says
    try:
        notifier = build_notifier(settings.ops.alerts)
        if notifier is None:
            typer.echo(
                "no notification URL configured: set notify_urls in the [ops.alerts] table "
                '(e.g. ["tgram://${TG_BOT_TOKEN}/${TG_CHAT_ID}"])',
                err=True,
            )
            raise typer.Exit(ExitCode.CONFIG_ERROR)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        body = f"{TEST_TITLE} from {socket.gethostname()} at {now}: alerts will arrive here."
        results = notifier.send(TEST_TITLE, body)
        notifier.close()
    finally:
        handle.close()
    for result in results:
        typer.echo(f"{'sent' if result.ok else 'FAILED'}: {result.target}")
    if not all(result.ok for result in results):
        raise typer.Exit(ExitCode.BROKER_UNREACHABLE)
