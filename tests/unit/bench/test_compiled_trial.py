"""The compiled trial's choice of modules: which per-bar modules mypyc is given, which keep their source and
why, and the mypy settings it compiles them with. Nothing here compiles or measures."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bench.compiled_trial import PER_BAR, mypy_ini, select, unsupported

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n", "pydantic models"),
        ("import pydantic.fields\n", "pydantic models"),
        ("from typing import Protocol, runtime_checkable\n@runtime_checkable\nclass P(Protocol): ...\n",
         "runtime-checkable protocol"),
        ("import typing\n@typing.runtime_checkable\nclass P(typing.Protocol): ...\n",
         "runtime-checkable protocol"),
        ("async def ticks():\n    yield 1\n", "async generator"),
        ("class S:\n    async def stream(self):\n        for x in (1, 2):\n            yield x\n",
         "async generator"),
    ],
)
def test_what_mypyc_cannot_compile_is_named(source: str, reason: str) -> None:
    assert unsupported(source) == reason


@pytest.mark.parametrize(
    "source",
    [
        "from decimal import Decimal\ndef f(x: Decimal) -> Decimal:\n    return x * 2\n",
        "async def once():\n    def inner():\n        yield 1\n    return list(inner())\n",
        "from typing import Protocol\nclass P(Protocol):\n    def f(self) -> int: ...\n",
        "import pydanticish\n",
    ],
)
def test_plain_modules_are_compiled(source: str) -> None:
    assert unsupported(source) is None


def test_select_takes_the_patterns_less_init_and_names_what_it_leaves(tmp_path: Path) -> None:
    package = tmp_path / "tradebot"
    (package / "risk").mkdir(parents=True)
    (package / "other").mkdir()
    (package / "risk/__init__.py").write_text("")
    (package / "risk/gate.py").write_text("def check() -> bool:\n    return True\n")
    (package / "risk/rules.py").write_text("from pydantic import BaseModel\n")
    (package / "other/report.py").write_text("x = 1\n")
    chosen, left = select(package, ("risk/*.py",))
    assert chosen == [Path("tradebot/risk/gate.py")]
    assert left == {"tradebot/risk/rules.py": "pydantic models"}


def test_the_real_tree_is_split_into_compiled_and_left_with_nothing_lost() -> None:
    package = ROOT / "src/tradebot"
    chosen, left = select(package, PER_BAR)
    matched = {
        p.relative_to(package.parent).as_posix()
        for pattern in PER_BAR for p in package.glob(pattern) if p.name != "__init__.py"
    }
    names = {p.as_posix() for p in chosen}
    assert names | set(left) == matched and not names & set(left)
    assert "tradebot/store/codec.py" in names
    assert all(reason == unsupported((package.parent / m).read_text()) for m, reason in left.items())


def test_mypy_ini_carries_the_projects_settings_and_overrides() -> None:
    tool_mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    ini = mypy_ini(tool_mypy).splitlines()
    assert ini[0] == "[mypy]"
    assert "strict = True" in ini and "plugins = pydantic.mypy" in ini
    assert not any(line.startswith(("mypy_path", "packages", "exclude")) for line in ini)
    section = next(line for line in ini if line.startswith("[mypy-"))
    assert "exchange_calendars.*" in section
    assert ini[ini.index(section) + 1] == "ignore_missing_imports = True"
