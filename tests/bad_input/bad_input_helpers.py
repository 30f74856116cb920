"""Types and readers shared by the bad-input corpus (the fixtures are in conftest.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tradebot.store import StoreReader

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def words(self) -> str:
        """stdout with every run of white space as one space (the summary is a table: columns align)."""
        return " ".join(self.stdout.split())


RunCli = Callable[..., CliResult]


class StoreView:
    """What an event store holds, read through the real reader."""

    def kinds(self, store: Path) -> Counter[str]:
        with StoreReader(store) as reader:
            return Counter(reader.count_by_kind())

    def bodies(self, store: Path, kind: str) -> list[dict[str, object]]:
        with StoreReader(store) as reader:
            return [e.body for e in reader.iter_events(kinds=[kind])]
