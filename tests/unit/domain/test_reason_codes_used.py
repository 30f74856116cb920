"""Every reason code declared in domain/reasons.py is referenced by code that can emit it (src/ or a
plugin's src/): a declared code nothing emits would promise logs, metrics and reports that never come."""

from __future__ import annotations

import re
from pathlib import Path

from tradebot.domain import reasons
from tradebot.ops.breakers import DEPENDENCIES, circuit_open_code

ROOT = Path(__file__).resolve().parents[3]
REASONS = ROOT / "src" / "tradebot" / "domain" / "reasons.py"


def _emitting_sources() -> str:
    roots = [ROOT / "src", *sorted((ROOT / "plugins").glob("*/src"))]
    return "\n".join(
        path.read_text(encoding="utf-8")
        for root in roots
        for path in sorted(root.rglob("*.py"))
        if path != REASONS and ".egg-info" not in str(path)
    )


def test_reason_codes_are_all_declared_and_found() -> None:
    assert "APPROVED" in reasons.ALL_CODES and len(reasons.ALL_CODES) > 50
    assert "RUNTIME_CONTRACT_VIOLATION" in _emitting_sources()


def test_every_declared_reason_code_is_referenced_outside_reasons_py() -> None:
    text = _emitting_sources()
    built = {circuit_open_code(dependency) for dependency in DEPENDENCIES}  # CIRCUIT_OPEN_<DEP>, per breaker
    unused = sorted(
        code for code in reasons.ALL_CODES if code not in built and not re.search(rf"\b{code}\b", text)
    )
    assert unused == [], f"declared in domain/reasons.py but never emitted: {unused}"
