"""The runtime contract: live mode runs only on real, verified parts. No fallback.

``check_runtime_contract`` lists every problem at once: a configured broker plugin without an entry
point (or that fails to load), a client library that is not installed, a model the verifier rejects,
and, in live mode, any test double loaded in the process (``tradebot.testing*``, any module with
``fake`` in its name) or the simulated venue as the broker. ``require_runtime_contract`` raises
``RuntimeContractError`` in live mode (the lead exits non-zero printing ``problems``) and returns the
problems as warnings otherwise.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tradebot.domain.state import Mode

PLUGIN_GROUP = "tradebot.brokers"
TEST_DOUBLE_PREFIXES = ("tradebot.testing",)
TEST_DOUBLE_MARKERS = ("fake",)
SIMULATED_BROKERS = frozenset({"sim"})

ModelVerifier = Callable[[], Sequence[str]]


class RuntimeContractError(RuntimeError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"runtime contract violated ({len(self.problems)} problem(s)):\n{lines}")


def loaded_test_doubles(modules: Iterable[str] | None = None) -> list[str]:
    """Names of loaded modules that are test doubles (default: ``sys.modules``)."""
    names = sys.modules.keys() if modules is None else modules
    found = []
    for name in names:
        if name.startswith(TEST_DOUBLE_PREFIXES) or any(
            marker in part.lower() for part in name.split(".") for marker in TEST_DOUBLE_MARKERS
        ):
            found.append(name)
    return sorted(found)


def _entry_points() -> Mapping[str, Any]:
    return {ep.name: ep for ep in md.entry_points(group=PLUGIN_GROUP)}


def check_runtime_contract(
    mode: Mode | str,
    plugin_names: Iterable[str],
    client_libraries: Iterable[str],
    model_path_verifier: ModelVerifier | None = None,
    *,
    entry_points: Mapping[str, Any] | None = None,
    modules: Iterable[str] | None = None,
    load_plugins: bool = True,
    allow_simulated: bool = False,
) -> list[str]:
    """Every way this process would break the runtime contract; empty when it holds."""
    mode = Mode(mode)
    problems: list[str] = []
    eps = _entry_points() if entry_points is None else entry_points
    for name in plugin_names:
        ep = eps.get(name)
        if ep is None:
            known = ", ".join(sorted(eps)) or "none"
            problems.append(
                f"broker plugin {name!r}: no '{PLUGIN_GROUP}' entry point installed (installed: {known})"
            )
            continue
        if load_plugins:
            try:
                ep.load()
            except Exception as exc:  # noqa: BLE001 - reported as a contract problem, startup refuses
                problems.append(f"broker plugin {name!r}: failed to load: {type(exc).__name__}: {exc}")
        if mode is Mode.LIVE and name in SIMULATED_BROKERS and not allow_simulated:
            problems.append(f"broker plugin {name!r} is the simulated venue; live mode needs a real broker")
    for dist in client_libraries:
        try:
            md.version(dist)
        except md.PackageNotFoundError:
            problems.append(f"client library {dist!r} is not installed")
    if model_path_verifier is not None:
        try:
            problems.extend(f"model: {p}" for p in model_path_verifier())
        except Exception as exc:  # noqa: BLE001 - an unverifiable model is a contract problem
            problems.append(f"model: verification failed: {type(exc).__name__}: {exc}")
    if mode is Mode.LIVE:
        doubles = loaded_test_doubles(modules)
        if doubles:
            problems.append(f"test doubles are loaded in a live process: {', '.join(doubles)}")
    return problems


def require_runtime_contract(mode: Mode | str, problems: Sequence[str]) -> list[str]:
    """Raise ``RuntimeContractError`` in live mode when there are problems; otherwise return them."""
    if problems and Mode(mode) is Mode.LIVE:
        raise RuntimeContractError(problems)
    return list(problems)
