"""The bundled sample: one real week of ES Dec-2013 (ESZ13) one-minute trade bars.

QuantConnect/Lean sample data (Apache-2.0, see NOTICE): 2013-10-06T22:00Z .. 2013-10-11T21:14Z, 6,826 bars,
``ts`` = bar open time in UTC. The default config trades it as MES (same product, 1/10 the size).
"""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

SAMPLE_FILE = "es_esz13_1m_2013-10-06_2013-10-11.csv"
SAMPLE_BAR_COUNT = 6826
SAMPLE_INTERVAL_S = 60

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def sample_path() -> Path:
    """A filesystem path to the bundled sample CSV (extracted to a temporary file if zipped)."""
    resource = resources.files("tradebot") / "data" / SAMPLE_FILE
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(resources.as_file(resource))
