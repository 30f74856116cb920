"""Learning as a step of the session close (and of ``tradebot learn``): read the evidence, learn for the
day, and store one ``learning_override`` event per change.

Redone after a restart it changes nothing twice: the day's stored version is the result (``job.learn``),
and the events of a version are stored only when the store does not hold them yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from tradebot.learning.job import LEARNING_OVERRIDE_KIND, LearnOutcome, change_events, learn
from tradebot.learning.metrics import store_evidence
from tradebot.learning.setup import LearningSetup

EventWriter = Callable[[str, dict[str, Any]], Awaitable[None]]


def stored_versions(store: Path) -> set[int]:
    """The versions the store holds ``learning_override`` events of."""
    from tradebot.store import StoreReader

    if not store.exists():
        return set()
    with StoreReader(store) as reader:
        return {int(e.body["version"]) for e in reader.iter_events(kinds=[LEARNING_OVERRIDE_KIND])}


def learn_from_store(setup: LearningSetup, store: Path, now: datetime, day: date) -> LearnOutcome:
    evidence = store_evidence(store, now, setup.config.window_days)
    return learn(setup.file, setup.targets, evidence, setup.config, now, day)


async def learning_step(
    setup: LearningSetup, store: Path, now: datetime, day: date, record: EventWriter
) -> dict[str, Any]:
    """Learn for ``day`` over ``store`` and store the changes' events (each durably, before returning)."""
    outcome = learn_from_store(setup, store, now, day)
    if outcome.changes and outcome.version not in stored_versions(store):
        for body in change_events(outcome):
            await record(LEARNING_OVERRIDE_KIND, body)
    for change in outcome.changes:
        logger.info("LEARNING_OVERRIDE v{} {} {} {}: {} -> {} ({})", outcome.version, change["parameter"],
                    change["symbol"], change["sleeve"] or "-", change["from"], change["to"], change["reason"])
    return outcome.as_dict()
