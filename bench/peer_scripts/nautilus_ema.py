"""EMA(10)/EMA(30) crossover on 1-minute bars in NautilusTrader's BacktestEngine (run in its own venv).

usage: python nautilus_ema.py BARS.csv  ->  one JSON line on stdout
The strategy: EMA(n) with alpha = 2/(n+1) started at the first close (as tradebot's trend component);
after 30 bars, whenever sign(fast - slow) differs from the position's side, one market order takes the
position to +1 / -1 contract (a flip is one order of 2). Venue: simulated CME-like venue, netting, margin
account; instrument: ES futures contract from Nautilus's test kit; fills on the next bar (bar execution).
Timed: ``engine.run()`` only (bar loading and wrangling are reported apart as ``load_s``).
"""

from __future__ import annotations

import json
import resource
import sys
import time

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

FAST, SLOW = 10, 30


class EmaCrossConfig(StrategyConfig, frozen=True):
    bar_type: str


class EmaCross(Strategy):
    def __init__(self, config: EmaCrossConfig) -> None:
        super().__init__(config)
        self.bar_type = BarType.from_str(config.bar_type)
        self.alpha_fast = 2.0 / (FAST + 1)
        self.alpha_slow = 2.0 / (SLOW + 1)
        self.fast: float | None = None
        self.slow = 0.0
        self.seen = 0
        self.side = 0
        self.orders = 0

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.bar_type.instrument_id)
        self.subscribe_bars(self.bar_type)

    def on_bar(self, bar: Bar) -> None:
        close = float(bar.close)
        if self.fast is None:
            self.fast = self.slow = close
        else:
            self.fast += self.alpha_fast * (close - self.fast)
            self.slow += self.alpha_slow * (close - self.slow)
        self.seen += 1
        if self.seen < SLOW:
            return
        want = 1 if self.fast > self.slow else -1 if self.fast < self.slow else 0
        if want == 0 or want == self.side:
            return
        qty = abs(want - self.side)
        order = self.order_factory.market(
            instrument_id=self.instrument.id,
            order_side=OrderSide.BUY if want > self.side else OrderSide.SELL,
            quantity=Quantity.from_int(qty),
        )
        self.submit_order(order)
        self.side = want
        self.orders += 1


def vm_hwm_mb() -> float:
    """Peak RSS of this process since exec (VmHWM); ru_maxrss would include the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(path: str) -> None:
    load_start = time.perf_counter()
    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId("BENCH-001"), logging=LoggingConfig(bypass_logging=True),
    ))
    venue = Venue("GLBX")
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(1_000_000, USD)])
    instrument = TestInstrumentProvider.es_future(2013, 12, venue)
    engine.add_instrument(instrument)
    frame = pd.read_csv(path)
    frame["timestamp"] = pd.to_datetime(frame.pop("ts"), utc=True)
    frame = frame.set_index("timestamp")
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = BarDataWrangler(bar_type, instrument).process(frame, ts_init_delta=60_000_000_000)
    engine.add_data(bars)
    strategy = EmaCross(EmaCrossConfig(bar_type=str(bar_type)))
    engine.add_strategy(strategy)
    load_s = time.perf_counter() - load_start
    start = time.perf_counter()
    engine.run()
    run_s = time.perf_counter() - start
    fills = len(engine.cache.orders_closed())
    engine.dispose()
    print(json.dumps({
        "engine": "nautilus_trader", "bars": len(bars), "run_s": run_s, "load_s": load_s,
        "bars_per_s": len(bars) / run_s, "orders": strategy.orders, "orders_closed": fills,
        "peak_rss_mb": vm_hwm_mb(),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
