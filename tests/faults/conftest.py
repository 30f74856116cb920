"""Fault-injection tests: kill or break the real daemon at deterministic points and check what survives.

This folder (for its harness modules) and the repository root (for ``bench.config``'s workloads) are put on
sys.path so the tests can import them; they are not installed packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (HERE, ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
