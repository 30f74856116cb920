"""The versioned overrides file and one learning pass: a day learns once (the daily bound holds however
often it runs), overrides expire after 30 days, a rollback restores a version byte for byte, a damaged
file is refused naming it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.learning.config import LearningConfig
from tradebot.learning.job import Target, learn
from tradebot.learning.metrics import SymbolEvidence
from tradebot.learning.overrides import COST_BUFFER, DEADBAND, OverridesError, OverridesFile

CFG = LearningConfig(enabled=True)
START = datetime(2013, 10, 7, 20, tzinfo=UTC)
TARGETS = [Target(COST_BUFFER, "MES", "", Decimal(0)), Target(DEADBAND, "MES", "strategy", Decimal("0.25"))]
HIGH = {"MES": SymbolEvidence("MES", 40, Decimal(30), Decimal(30), 40, Decimal("0.5"))}


def _pass(file: OverridesFile, days: int, evidence: dict[str, SymbolEvidence] = HIGH) -> object:
    now = START + timedelta(days=days)
    return learn(file, TARGETS, evidence, CFG, now, now.date())


def _values(file: OverridesFile) -> dict[str, str]:
    current = file.current()
    return {o.parameter: str(o.value) for o in current.overrides} if current else {}


def test_each_day_moves_each_parameter_by_its_bound_once(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "learned_overrides.json")
    for day in range(3):
        _pass(file, day)
        again = _pass(file, day)  # a restart redoing the close, a second `tradebot learn`: nothing twice
        assert again.already and not again.written  # type: ignore[attr-defined]
    assert _values(file) == {COST_BUFFER: "9", DEADBAND: "0.289406"}  # 0.25 x 1.05^3, cut to 6 places
    assert file.stored_versions() == [1, 2, 3]
    third = file.current()
    assert third is not None and third.previous_version == 2 and third.day == date(2013, 10, 9)
    change = next(c for c in third.changes if c["parameter"] == COST_BUFFER)
    assert (change["from"], change["to"], change["reason"]) == ("6", "9", "IS_PERSISTENTLY_HIGH")
    assert change["metrics"]["is_bps_median"] == "30"


def test_no_evidence_writes_no_version(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "o.json")
    outcome = _pass(file, 0, {})
    assert not outcome.written and not file.path.exists()  # type: ignore[attr-defined]


def test_an_override_expires_30_days_after_it_was_set(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "o.json")
    _pass(file, 0)
    current = file.current()
    assert current is not None
    assert current.overrides[0].expires_at == START + timedelta(days=30)
    assert len(current.in_force(START + timedelta(days=29, hours=23))) == 2
    assert current.in_force(START + timedelta(days=30)) == ()
    later = _pass(file, 30, {})  # no evidence: only the expiries change
    assert later.written and _values(file) == {}  # type: ignore[attr-defined]
    assert {c["reason"] for c in file.current().changes} == {"EXPIRED"}  # type: ignore[union-attr]
    _pass(file, 31)  # the trigger again: from the configured value, not the expired one
    assert _values(file) == {COST_BUFFER: "3", DEADBAND: "0.2625"}


def test_a_rollback_restores_the_previous_version_byte_for_byte(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "o.json")
    _pass(file, 0)
    first = file.path.read_bytes()
    _pass(file, 1)
    second = file.path.read_bytes()
    assert second != first
    assert file.rollback() == (2, 1)
    assert file.path.read_bytes() == first == file.version_path(1).read_bytes()
    assert file.rollback(2) == (1, 2) and file.path.read_bytes() == second
    assert _pass(file, 1).already  # type: ignore[attr-defined]  # rolled back or not, day 2 learned once
    _pass(file, 2)
    assert file.current().previous_version == 2  # type: ignore[union-attr]
    assert file.rollback(0) == (3, 0) and not file.path.exists()
    with pytest.raises(OverridesError, match="nothing to roll back"):
        file.rollback()


def test_a_rollback_to_a_version_never_stored_changes_nothing(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "o.json")
    _pass(file, 0)
    before = file.path.read_bytes()
    with pytest.raises(OverridesError, match="no stored version 7"):
        file.rollback(7)
    assert file.path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"{not json", "not a usable"),
        (b'{"format": 2}', "format must be 1"),
        (b'{"format": 1, "version": 0}', "version must be"),
        (b'{"format": 1, "version": 1, "created_at": "2013-10-07T20:00:00", "day": "2013-10-07", '
         b'"previous_version": 0, "overrides": []}', "no time zone"),
    ],
)
def test_a_damaged_overrides_file_is_refused_naming_it(tmp_path: Path, text: bytes, words: str) -> None:
    file = OverridesFile(tmp_path / "o.json")
    file.path.write_bytes(text)
    with pytest.raises(OverridesError, match=words) as caught:
        file.current()
    assert str(file.path) in str(caught.value)


def test_an_unknown_parameter_is_refused(tmp_path: Path) -> None:
    file = OverridesFile(tmp_path / "o.json")
    _pass(file, 0)
    file.path.write_bytes(file.path.read_bytes().replace(b'"min_direction"', b'"turnover_cap"'))
    with pytest.raises(OverridesError, match="unknown parameter 'turnover_cap'"):
        file.current()
