"""Comments and messages state the rule itself: no pointers to documents a user of the repository
cannot read ("seed 002 B", "seed 003", "issue 11"). docs/gates.md keeps the provenance."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE = re.compile(r"\bseed\s+0\d*|\bissue\s+#?\d+", re.IGNORECASE)


def _sources() -> list[Path]:
    roots = [ROOT / "src", *sorted((ROOT / "plugins").glob("*/src"))]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and path.suffix in {".py", ".tmpl", ".toml", ".yaml", ".md"}
        and ".egg-info" not in str(path)
    )


def test_sources_are_found() -> None:
    sources = _sources()
    assert any(p.name == "reasons.py" for p in sources)
    assert any("plugins" in p.parts for p in sources)


def test_no_comment_or_message_points_at_a_seed_or_issue() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROVENANCE.search(line)
    ]
    assert hits == [], "state the rule instead of pointing at a seed or an issue:\n" + "\n".join(hits)
