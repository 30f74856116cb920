"""Runtime contract: missing plugins, libraries, models and loaded test doubles are listed; live refuses."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tradebot.ops.runtime_contract import (
    RuntimeContractError,
    check_runtime_contract,
    loaded_test_doubles,
    require_runtime_contract,
)


class _EntryPoint:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def load(self) -> object:
        if self.fail:
            raise ImportError("No module named 'ib_async'")
        return object()


CLEAN_MODULES = ["tradebot", "tradebot.ops.errors", "ib_async"]


def test_all_good_is_empty() -> None:
    problems = check_runtime_contract(
        "live", ["ibkr"], ["loguru"], lambda: [], entry_points={"ibkr": _EntryPoint()}, modules=CLEAN_MODULES
    )
    assert problems == []


def test_every_problem_is_listed_at_once() -> None:
    def verifier() -> Sequence[str]:
        return ["models/sizer.onnx: sha256 mismatch"]

    problems = check_runtime_contract(
        "live",
        ["ibkr", "binance", "sim"],
        ["loguru", "no-such-client-lib-xyz"],
        verifier,
        entry_points={"ibkr": _EntryPoint(fail=True), "sim": _EntryPoint()},
        modules=[*CLEAN_MODULES, "tradebot.testing.controller", "plugins.ibkr_fake_tws"],
    )
    text = "\n".join(problems)
    assert "broker plugin 'ibkr': failed to load: ImportError" in text
    assert (
        "broker plugin 'binance': no 'tradebot.brokers' entry point installed (installed: ibkr, sim)" in text
    )
    assert "'sim' is the simulated venue" in text
    assert "client library 'no-such-client-lib-xyz' is not installed" in text
    assert "model: models/sizer.onnx: sha256 mismatch" in text
    assert "tradebot.testing.controller" in text and "plugins.ibkr_fake_tws" in text
    with pytest.raises(RuntimeContractError) as info:
        require_runtime_contract("live", problems)
    assert info.value.problems == problems and "runtime contract violated" in str(info.value)


def test_test_doubles_and_sim_are_fine_outside_live() -> None:
    problems = check_runtime_contract(
        "replay",
        ["sim"],
        [],
        None,
        entry_points={"sim": _EntryPoint()},
        modules=["tradebot.testing.controller"],
    )
    assert problems == []
    assert require_runtime_contract("observe", ["x"]) == ["x"]


def test_a_raising_model_verifier_is_a_problem() -> None:
    def verifier() -> Sequence[str]:
        raise FileNotFoundError("models/sizer.onnx")

    problems = check_runtime_contract("live", [], [], verifier, entry_points={}, modules=CLEAN_MODULES)
    assert problems == ["model: verification failed: FileNotFoundError: models/sizer.onnx"]


def test_loaded_test_doubles_matches_testing_and_fake_modules() -> None:
    assert loaded_test_doubles(["a", "tradebot.testing", "x.FakeVenue", "tradebot.brokers"]) == [
        "tradebot.testing",
        "x.FakeVenue",
    ]


def test_real_entry_points_are_discovered() -> None:
    problems = check_runtime_contract(
        "observe", ["definitely-not-a-plugin"], [], modules=[], load_plugins=False
    )
    assert problems and "definitely-not-a-plugin" in problems[0]
