"""Bounded post-trade learning: at the session close (or ``tradebot learn``), the trailing TCA and trades of
each symbol move the entry cost buffer and the ensemble's deadband and confirmation, by at most a daily
bound, into a versioned overrides file that the next run applies (docs/learning.md).

Modules: ``config`` (``[learning]``), ``metrics`` (the evidence from the store), ``rules`` (the bounded
proposals), ``overrides`` (the versioned file, rollback), ``job`` (one pass for one day), ``apply`` (the
overrides in a run's parts), ``setup`` (what a run reads at startup), ``close_step`` (the session-close step).
"""
