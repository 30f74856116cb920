"""Shadow parameter sets: other profiles or component parameters evaluated on the run's own bars, without
orders, against the live set simulated the same way (``paper``); ``tradebot promote`` proposes one that beat
the live set (``promotion``)."""
