"""EMA(10)/EMA(30) crossover on 1-minute bars in backtrader (run in its own venv).

usage: python backtrader_ema.py BARS.csv  ->  one JSON line on stdout
Same rule as nautilus_ema.py: EMAs with alpha = 2/(n+1) started at the first close, after 30 bars one
market order per change of sign(fast - slow) takes the position to +1 / -1 (``order_target_size``).
Broker: backtrader's default (market orders fill at the next bar's open). Data: the CSV read by
``GenericCSVData`` inside ``cerebro.run()`` (backtrader loads lazily), so parsing is in the timed run.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import backtrader as bt

FAST, SLOW = 10, 30


class EmaCross(bt.Strategy):
    def __init__(self) -> None:
        self.alpha_fast = 2.0 / (FAST + 1)
        self.alpha_slow = 2.0 / (SLOW + 1)
        self.fast: float | None = None
        self.slow = 0.0
        self.seen = 0
        self.side = 0
        self.orders = 0

    def next(self) -> None:
        close = float(self.data.close[0])
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
        self.order_target_size(target=want)
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
    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(
        dataname=path, dtformat="%Y-%m-%dT%H:%M:%SZ", datetime=0, open=1, high=2, low=3, close=4,
        volume=5, openinterest=-1, timeframe=bt.TimeFrame.Minutes, compression=1, headers=True,
    )
    cerebro.adddata(data)
    cerebro.addstrategy(EmaCross)
    cerebro.broker.setcash(1_000_000.0)
    start = time.perf_counter()
    strategies = cerebro.run()
    run_s = time.perf_counter() - start
    strategy = strategies[0]
    bars = len(strategy.data)
    print(json.dumps({
        "engine": "backtrader", "bars": bars, "run_s": run_s, "load_s": 0.0, "bars_per_s": bars / run_s,
        "orders": strategy.orders,
        "peak_rss_mb": vm_hwm_mb(),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
