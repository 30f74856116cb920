"""Pre-trade gates: one rule per file, each a pure ``check(intent, ctx) -> Verdict``.

The chain is data (an ordered list of gate names from config), not code. See ``risk.chain``.
"""
