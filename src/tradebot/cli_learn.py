"""``tradebot learn``: post-trade learning over an event store, offline, or a rollback of the overrides.

``tradebot learn --store PATH [--config FILE] [--day YYYY-MM-DD]`` reads the store's TCA records and trades
(the trailing ``[learning] window_days`` before its last bar), learns for the day (default: the last bar's
UTC date; a day learns once), writes the next version of the overrides file, stores one
``learning_override`` event per change in the store, and prints each change with its reason and numbers.
``tradebot learn --rollback [--to VERSION]`` puts a stored version back in force byte for byte (default:
the version before the one in force; 0: no overrides) and stores a ``learning_rollback`` event in the store
when there is one. Learning must be on in the config's mode (``[learning] enabled``; in live also
``allow_live``).
Exit codes: 0 done, 2 bad arguments, config or overrides file, or a missing store, 7 store unusable.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer

from tradebot.exit_codes import ExitCode


def _fail(message: str) -> typer.Exit:
    typer.echo(f"tradebot learn: {message}", err=True)
    return typer.Exit(ExitCode.CONFIG_ERROR)


def learn(
    store: Annotated[
        Path | None,
        typer.Option(help="Event store to learn from (default: run.store, else the latest run's)."),
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file ([learning], the constitution, model).")
    ] = None,
    day: Annotated[
        str | None, typer.Option(help="The session day to learn for, YYYY-MM-DD (default: the last bar's).")
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Put a previous overrides version back in force (no learning).")
    ] = False,
    to: Annotated[
        int | None, typer.Option("--to", help="With --rollback: the version to restore (0: no overrides).")
    ] = None,
) -> None:
    from tradebot.cli import _load

    if to is not None and not rollback:
        raise _fail("--to is for --rollback")
    if to is not None and to < 0:
        raise _fail(f"--to must be a version >= 0, not {to}")
    if day is not None and rollback:
        raise _fail("--day is for learning, not for --rollback")
    learn_day = _parse_day(day)
    settings = _load(config_file)
    if rollback:
        _rollback(settings, store, config_file, to)
        return
    from tradebot.cli import existing_store

    path = existing_store("learn", store, config_file)
    from tradebot.domain.state import Mode
    from tradebot.learning.setup import active_in

    mode = Mode(settings.run.mode)
    if not active_in(settings.learning, mode):
        why = "allow_live = false in live mode" if settings.learning.enabled else "enabled = false"
        raise _fail(f"learning is off in this config ([learning] {why})")
    from tradebot.pipeline.run_parts import build_parts, configured_symbols

    parts = build_parts(settings, mode, from_file=True, symbols=configured_symbols(settings))
    assert parts.learning is not None
    setup = parts.learning
    from tradebot.store import StoreReader

    with StoreReader(path) as reader:
        last = reader.last_event("bar")
    if last is None:
        raise _fail(f"the store {path} holds no bar: nothing to learn from")
    from tradebot.learning.close_step import learning_step

    outcome = anyio.run(_learn, setup, path, last.ts, learn_day or last.ts.date(), learning_step)
    _print(outcome, setup.file.path)


async def _learn(setup: Any, path: Path, now: Any, day: date, step: Any) -> dict[str, Any]:
    from tradebot.store import EventWriter

    async with EventWriter.open(path, run_id="learn") as writer:
        async def record(kind: str, body: dict[str, Any]) -> None:
            await writer.append_durable(kind, body, ts=now)

        result: dict[str, Any] = await step(setup, path, now, day, record)
        await writer.flush()
    return result


def _print(outcome: dict[str, Any], file: Path) -> None:
    if outcome["already"]:
        typer.echo(f"{outcome['day']}: learned before (version {outcome['version']}); nothing changes twice")
    elif not outcome["changes"]:
        typer.echo(f"{outcome['day']}: no change (version in force: {outcome['version']})")
    else:
        typer.echo(f"{outcome['day']}: version {outcome['version']} written to {file}")
    for change in outcome["changes"]:
        where = change["symbol"] + (f" [{change['sleeve']}]" if change["sleeve"] else "")
        typer.echo(f"  {change['parameter']} {where}: {change['from']} -> {change['to']} "
                   f"because {change['reason']} {change['metrics']}")


def _rollback(settings: Any, store: Path | None, config_file: Path | None, to: int | None) -> None:
    from tradebot.learning.overrides import OverridesError, OverridesFile

    file = OverridesFile(settings.learning.overrides_path(Path(settings.run.run_dir)))
    try:
        before, after = file.rollback(to)
    except OverridesError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"learned overrides: version {after} in force again (was {before}) in {file.path}")
    path = store
    if path is None:
        from tradebot.pipeline.store_choice import default_store

        path = default_store(Path(settings.run.run_dir), settings.run.store)
    if path is not None and Path(path).is_file():
        anyio.run(_record_rollback, Path(path), before, after)


async def _record_rollback(path: Path, before: int, after: int) -> None:
    from tradebot.domain import reasons
    from tradebot.store import EventWriter, StoreReader

    with StoreReader(path) as reader:
        last = reader.last_event("bar")
    if last is None:
        return
    async with EventWriter.open(path, run_id="learn") as writer:
        body = {"code": reasons.LEARNING_ROLLBACK, "from_version": before, "to_version": after}
        await writer.append_durable("learning_rollback", body, ts=last.ts)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--day {text!r} is not a date (YYYY-MM-DD)") from None
