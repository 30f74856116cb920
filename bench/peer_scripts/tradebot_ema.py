"""The peers' EMA(10)/EMA(30) workload through tradebot's full pipeline (run with the project's python).

usage: python -m bench.peer_scripts.tradebot_ema BARS.csv STORE_DIR  ->  one JSON line on stdout
Workload ``busy`` (bench/config.py: every gate of the default chain on, position limit 1 contract) with the
ensemble reduced to tradebot's own ``trend_ema`` component (fast 10, slow 30) and no thresholds, so a
signal's direction is sign(EMA10 - EMA30) as in the peers' scripts; the sizer turns it into orders that take
the position to +1 / -1 (a flip is a reduce-only exit and an entry: two orders where the peers send one of 2
lots). tradebot's sizer always attaches a stop and a target (bracket children) to an entry, which the peers
do not have; here they are 4,000 ticks away (``WIDE_BRACKET_TICKS``), so they never fire and the position
changes exactly when the peers' does (the legs are still placed, and cancelled on every exit). Timed: the
whole replay except the end-of-run summary (CSV parsing, validation, ensemble, sizer, gates, OMS, simulated
venue, portfolio, event store).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.config import busy_settings
from bench.harness import patched, run_replay
from bench.rss_probe import peak_rss_mb


@contextlib.contextmanager
def ema_only_ensemble(fast: int = 10, slow: int = 30) -> Iterator[None]:
    import tradebot.pipeline.run_parts as run_parts
    from tradebot.models.loader import default_ensemble_params
    from tradebot.signals import ComponentSpec, build_ensemble

    base = default_ensemble_params("balanced")
    params = base.model_copy(update={
        "components": (ComponentSpec(name="trend_ema", params={"fast": fast, "slow": slow}, weight=1.0),),
        "dampening": dict.fromkeys(base.dampening, 0.0),
        "min_direction": 0.0, "min_agreement": 0.0, "min_confidence": 0.0,
    })

    def build(settings: Any, instruments: Any) -> dict[str, Any]:
        return {s: build_ensemble(params.profile, s, params) for s in instruments}

    with patched(run_parts, "_build_ensembles", build):
        yield


# the stop and target never fire (1,000 points from the entry); fraction 0.5 keeps the stop-based size >= 1
WIDE_BRACKET_TICKS = 4000


def main(data: Path, store_dir: Path) -> None:
    settings = busy_settings(store_dir / "config", profile="balanced", fraction="0.5",
                             stop_ticks=WIDE_BRACKET_TICKS, target_ticks=WIDE_BRACKET_TICKS)
    with ema_only_ensemble():
        seconds, probe = run_replay(settings, data, store_dir / "tradebot.db")
    stats = probe.stats
    print(json.dumps({
        "engine": "tradebot", "bars": stats.bars, "run_s": seconds, "load_s": 0.0,
        "bars_per_s": stats.bars / seconds, "orders": stats.orders, "intents": stats.intents,
        "fills": stats.fills, "signals": stats.signals, "summary_s": probe.summary_s,
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
