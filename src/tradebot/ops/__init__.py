"""Operations: error taxonomy, dependency breakers, retries, control socket, alerts, manifest, metrics, logs.

These modules live at the edges of the pipeline (principle 2): the pipeline wires them in; decision code
only sees their pure results (an ``ErrorClass``, a ``BreakerDecision``, a ``ResubmitDecision``).
"""
