"""Analytics derived from the event store alone, read-only: transaction cost analysis (``tca``), the
round-trip trade list (``trades``), performance statistics (``performance``), the execution roll-ups
(``execution_report``), the whole report (``report``) and its self-contained HTML page (``html``).

Nothing here writes to the store or reads the wall clock: the same store gives the same report.
"""
