"""What a run (and ``tradebot config check``) reads of learning before it starts: whether learning is on
in this mode, the overrides file (a damaged one refuses the run), and the parameters learning may move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradebot.domain.state import Mode
from tradebot.learning.apply import targets_of
from tradebot.learning.config import LearningConfig
from tradebot.learning.job import Target
from tradebot.learning.overrides import OverridesError, OverridesFile, OverridesVersion
from tradebot.risk.constitution import Constitution


@dataclass(frozen=True, slots=True)
class LearningSetup:
    config: LearningConfig
    file: OverridesFile
    current: OverridesVersion | None  # the version in force when the run was built
    targets: tuple[Target, ...]  # with the configured (un-learned) values

    @property
    def applies(self) -> bool:
        return self.config.apply_overrides


def active_in(cfg: LearningConfig, mode: Mode) -> bool:
    """Learning runs (and its overrides apply) when enabled, and in live mode only when allowed there too."""
    return cfg.enabled and (mode is not Mode.LIVE or cfg.allow_live)


def learning_setup(
    cfg: LearningConfig, run_dir: Path, mode: Mode, constitution: Constitution, ensembles: Mapping[str, Any]
) -> tuple[LearningSetup | None, list[str]]:
    """The run's ``LearningSetup`` (None: learning is off in this mode) and its problems, as config lines."""
    if not active_in(cfg, mode):
        return None, []
    file = OverridesFile(cfg.overrides_path(run_dir))
    try:
        current = file.current()
    except OverridesError as exc:
        return None, [f"learning.path: {exc}"]
    return LearningSetup(cfg, file, current, tuple(targets_of(constitution, ensembles))), []
