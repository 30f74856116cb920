"""tradebot's benchmark suite (issue 11). Not part of ``make test``: figures depend on the machine.

``python -m bench.run`` (``make bench``) runs the suite and writes ``bench/results/<name>.json``;
``python -m bench.peers`` (``make bench-peers``) runs the same EMA-crossover workload through NautilusTrader
and backtrader in throwaway virtual environments; ``python -m bench.check_targets`` checks issue 11's targets.
"""
