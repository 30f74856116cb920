"""The configuration a research replay runs with, as text: a Ray worker on another machine rebuilds the very
same settings from it, without a shared disk or the driver's environment.

The bundle holds the run config's TOML, the constitution's YAML and the driver's ``TRADEBOT_`` environment
variables (settings and constitution overrides). ``materialize`` writes the two files into a work directory
and loads them with exactly those variables in force, so a cell run locally and a cell run on a cluster
decide alike.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tradebot.settings import ENV_PREFIX, Settings, load_settings


@dataclass(frozen=True, slots=True)
class ConfigBundle:
    toml_text: str
    constitution_text: str
    env: tuple[tuple[str, str], ...]  # TRADEBOT_* variables of the driver, sorted

    @classmethod
    def from_config(cls, config: Path | None, environ: Mapping[str, str] = os.environ) -> ConfigBundle:
        """Read and validate the config (``ConfigError`` as ``run`` would raise it) and its constitution."""
        env = tuple(sorted((k, v) for k, v in environ.items() if k.startswith(ENV_PREFIX)))
        with environment(env):
            settings = load_settings(config)
        toml_path = type(settings).toml_path
        toml_text = Path(toml_path).read_text(encoding="utf-8") if toml_path is not None else ""
        constitution_text = Path(settings.gates.constitution).read_text(encoding="utf-8")
        return cls(toml_text, constitution_text, env)

    def materialize(self, directory: Path) -> Settings:
        """The settings, with the constitution and the run directory inside ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        toml = directory / "tradebot.toml"
        toml.write_text(self.toml_text, encoding="utf-8")
        constitution = directory / "constitution.yaml"
        constitution.write_text(self.constitution_text, encoding="utf-8")
        with environment(self.env):
            settings = load_settings(toml)
        return settings.model_copy(
            update={
                "gates": settings.gates.model_copy(update={"constitution": constitution}),
                "run": settings.run.model_copy(update={"run_dir": directory / "runs", "store": None}),
            }
        )


@contextlib.contextmanager
def environment(env: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """Exactly ``env`` as the process's ``TRADEBOT_`` variables while inside (others restored after)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    for key in saved:
        del os.environ[key]
    os.environ.update(dict(env))
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
            del os.environ[key]
        os.environ.update(saved)
