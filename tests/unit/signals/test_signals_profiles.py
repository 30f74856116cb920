"""The three profiles on the real ES week: real, different, deterministic; unknown profiles refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal
from tradebot.signals import PROFILE_NAMES, UnknownProfileError, build_ensemble, profile_summary
from tradebot.signals.ensemble import WARMUP


def run_profile(profile: str, bars: list[Bar]) -> list[Signal]:
    ensemble = build_ensemble(profile, "MES")
    return [s for s in map(ensemble.on_bar, bars) if s is not None]


@pytest.fixture(scope="module")
def week_signals(es_bars: list[Bar]) -> dict[str, list[Signal]]:
    return {profile: run_profile(profile, es_bars) for profile in PROFILE_NAMES}


def test_profiles_differ_in_signal_counts(week_signals: dict[str, list[Signal]]) -> None:
    counts = {p: len(s) for p, s in week_signals.items()}
    # conservative is the strictest and aggressive the loosest, by a wide margin each
    assert counts["conservative"] * 1.5 < counts["balanced"]
    assert counts["balanced"] * 1.5 < counts["aggressive"]
    assert counts["conservative"] > 50  # strict, not mute


def test_profiles_differ_in_confidence_distribution(week_signals: dict[str, list[Signal]]) -> None:
    summaries = {p: profile_summary(s) for p, s in week_signals.items()}
    q = {p: s["confidence_quantiles"] for p, s in summaries.items()}
    # the floor of what each profile emits follows its strictness
    assert q["conservative"]["p10"] > q["balanced"]["p10"] + 0.03
    assert q["balanced"]["p10"] > q["aggressive"]["p10"] + 0.05
    assert summaries["aggressive"]["confidence_mean"] < summaries["balanced"]["confidence_mean"] - 0.03
    # conservative dampens off-normal volatility so hard that it only trades the normal regime
    assert set(summaries["conservative"]["regimes"]) == {"normal_vol"}
    assert set(summaries["aggressive"]["regimes"]) == {"low_vol", "normal_vol", "high_vol"}


def test_profiles_are_genuinely_different_configurations() -> None:
    ensembles = {p: build_ensemble(p, "MES") for p in PROFILE_NAMES}
    names = {p: {c.name for c, _ in e.components} for p, e in ensembles.items()}
    assert names["conservative"] < names["balanced"] < names["aggressive"]
    damp = {p: e.params.dampening for p, e in ensembles.items()}
    for regime in ("low_vol", "high_vol"):
        assert damp["conservative"][regime] > damp["balanced"][regime] > damp["aggressive"][regime]
    thresholds = {p: (e.params.min_direction, e.params.min_confidence) for p, e in ensembles.items()}
    assert thresholds["conservative"] > thresholds["balanced"] > thresholds["aggressive"]


def test_signals_are_well_formed(es_bars: list[Bar], week_signals: dict[str, list[Signal]]) -> None:
    by_end = {b.end: b for b in es_bars}
    for profile, signals in week_signals.items():
        for signal in signals:
            bar = by_end[signal.ts]
            assert signal.bar_ts == bar.ts and signal.reference_price == bar.close
            assert signal.profile == profile and signal.symbol == "MES"
            assert -1.0 <= signal.direction <= 1.0 and signal.direction != 0.0
            assert 0.0 <= signal.confidence <= 1.0
            assert signal.atr is not None and signal.atr > 0
            assert signal.regime in ("low_vol", "normal_vol", "high_vol")


def test_no_signal_before_warmup(es_bars: list[Bar]) -> None:
    ensemble = build_ensemble("aggressive", "MES")
    outputs = [ensemble.on_bar(b) for b in es_bars[: ensemble.warmup_bars + 50]]
    assert all(o is None for o in outputs[: ensemble.warmup_bars - 1])
    assert ensemble.suppressed[WARMUP] == ensemble.warmup_bars - 1
    assert any(o is not None for o in outputs[ensemble.warmup_bars - 1 :])


def test_replay_is_deterministic(es_bars: list[Bar]) -> None:
    first = run_profile("balanced", es_bars[:2000])
    second = run_profile("balanced", es_bars[:2000])
    assert first == second and len(first) > 0


def test_unknown_profile_is_an_error_naming_the_valid_ones() -> None:
    with pytest.raises(UnknownProfileError) as info:
        build_ensemble("moderate", "MES")
    message = str(info.value)
    assert "moderate" in message
    for valid in PROFILE_NAMES:
        assert valid in message
    assert isinstance(info.value, ValueError)


def test_ensemble_refuses_a_bar_of_another_symbol(es_bars: list[Bar]) -> None:
    ensemble = build_ensemble("balanced", "MES")
    with pytest.raises(ValueError, match="MNQ"):
        ensemble.on_bar(replace(es_bars[0], symbol="MNQ"))


def test_profile_summary_of_nothing_and_of_some(week_signals: dict[str, list[Signal]]) -> None:
    empty = profile_summary([])
    assert empty["count"] == 0 and empty["confidence_quantiles"] == {}
    signals = week_signals["balanced"]
    summary = profile_summary(signals)
    assert summary["count"] == len(signals) == summary["long"] + summary["short"]
    qs = list(summary["confidence_quantiles"].values())
    assert qs == sorted(qs)
    assert min(s.confidence for s in signals) <= qs[0] and qs[-1] <= max(s.confidence for s in signals)
