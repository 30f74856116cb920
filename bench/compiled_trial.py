"""What compiling the per-bar modules with mypyc would buy: the peer workload (bench/peer_scripts/
tradebot_ema.py) run from this checkout's source and from a compiled copy of it, alternating, in one run;
writes ``bench/results/compiled_trial.json`` and prints a table, and whether both sides traded alike
(orders, fills and signals of every run).

usage: python -m bench.compiled_trial [--bars N] [--rounds R] [--keep DIR]

The copy is ``src/`` in a temporary directory (or ``--keep DIR``, left there to look at), in which every
module of ``PER_BAR`` that mypyc can compile is compiled in place (``mypyc`` from this venv, a C compiler
and the Python headers are needed). A module mypyc cannot compile keeps its source and is listed with the
reason, found in its syntax tree (``unsupported``). This is a measurement, not a build: nothing here
changes how tradebot is installed or run.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.common import Figure, real_data_path, result_document, table, write_result
from bench.config import REPO
from bench.peers import run_child
from bench.synth import write_synthetic

# the modules a replayed bar goes through (profile in docs/benchmarks.md), relative to src/tradebot
PER_BAR = (
    "pipeline/engine.py", "pipeline/portfolio.py", "pipeline/store_recorder.py", "pipeline/tca_recorder.py",
    "pipeline/ops_hooks.py", "risk/*.py", "oms/*.py", "brokers/sim/*.py", "analytics/store_view.py",
    "analytics/tca.py", "analytics/tca_watch.py", "analytics/attribution*.py", "analytics/trades.py",
    "sizing/*.py", "store/codec.py", "store/writer.py", "domain/*.py",
)


def unsupported(source: str) -> str | None:
    """Why mypyc (2.x) cannot compile a module of this source, or None.

    - pydantic models: the generated C refers to ``pydantic.main`` without importing it (does not build);
    - ``@runtime_checkable`` protocols: a compiled protocol is not a Protocol at import (TypeError);
    - async generators: not implemented by mypyc.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pydantic":
            return "pydantic models"
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pydantic" for a in node.names):
            return "pydantic models"
        if isinstance(node, ast.ClassDef) and _runtime_checkable(node):
            return "runtime-checkable protocol"
        if isinstance(node, ast.AsyncFunctionDef) and _yields(node):
            return "async generator"
    return None


def _runtime_checkable(cls: ast.ClassDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == "runtime_checkable")
        or (isinstance(d, ast.Attribute) and d.attr == "runtime_checkable")
        for d in cls.decorator_list
    )


def _yields(function: ast.AsyncFunctionDef) -> bool:
    """A ``yield`` in the function's own body (not in a function or class nested in it)."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return False


def select(package: Path, patterns: Iterable[str] = PER_BAR) -> tuple[list[Path], dict[str, str]]:
    """The modules under ``package`` matching ``patterns`` (no ``__init__``) that mypyc can compile, and
    those it cannot, each with its reason (paths relative to ``package``'s parent)."""
    chosen: list[Path] = []
    left: dict[str, str] = {}
    for path in sorted({p for pattern in patterns for p in package.glob(pattern)}):
        if path.name == "__init__.py":
            continue
        relative = path.relative_to(package.parent)
        reason = unsupported(path.read_text())
        if reason is None:
            chosen.append(relative)
        else:
            left[relative.as_posix()] = reason
    return chosen, left


def mypy_ini(tool_mypy: Mapping[str, Any]) -> str:
    """``[tool.mypy]`` of pyproject.toml as a mypy.ini, less what names files (mypyc is given them)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, list):
            return ",".join(str(x) for x in v)
        return str(v)

    lines = ["[mypy]"]
    for key, v in tool_mypy.items():
        if key not in ("overrides", "mypy_path", "packages", "exclude", "files"):
            lines.append(f"{key} = {value(v)}")
    for override in tool_mypy.get("overrides", []):
        modules = override["module"]
        lines.append(f"[mypy-{value(modules if isinstance(modules, list) else [modules])}]")
        lines += [f"{key} = {value(v)}" for key, v in override.items() if key != "module"]
    return "\n".join(lines) + "\n"


def compile_copy(destination: Path) -> dict[str, Any]:
    """Copy ``src/`` to ``destination`` and compile its per-bar modules there; what was compiled, what
    was not and why, and how long mypyc took."""
    src = destination / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    tool_mypy = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    (src / "mypy.ini").write_text(mypy_ini(tool_mypy))
    modules, left = select(src / "tradebot")
    mypyc = Path(sys.executable).with_name("mypyc")
    start = time.perf_counter()
    done = subprocess.run([str(mypyc), *map(str, modules)], cwd=src, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"mypyc failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")
    return {"compiled": [m.as_posix() for m in modules], "not_compiled": left, "compile_s": seconds}


def _log(message: str) -> None:
    print(f"[compiled-trial {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.compiled_trial", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--bars", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="build the compiled copy here and keep it")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tradebot-bench-compiled-") as tmp_name:
        tmp = Path(tmp_name)
        build = args.keep or tmp / "compiled"
        build.mkdir(parents=True, exist_ok=True)
        if (build / "src").exists():
            shutil.rmtree(build / "src")
        _log(f"compiling the per-bar modules in {build / 'src'}")
        built = compile_copy(build)
        _log(f"{len(built['compiled'])} modules compiled in {built['compile_s']:.0f} s, "
             f"{len(built['not_compiled'])} left as source")
        data = write_synthetic(real_data_path(), args.bars, tmp / f"bars_{args.bars}.csv")
        sides = {"source": REPO / "src", "compiled": build / "src"}
        rate = {side: Figure(f"tradebot_{side}_bars_per_s", "bars/s") for side in sides}
        cpu = {side: Figure(f"tradebot_{side}_cpu_s", "s", better="lower") for side in sides}
        outcomes: dict[str, set[tuple[int, int, int]]] = {side: set() for side in sides}
        for round_no in range(args.rounds):
            for side, src in sides.items():
                with tempfile.TemporaryDirectory(prefix="tb-", dir=tmp) as store_dir:
                    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{REPO}"}
                    started = os.times()
                    result = run_child([sys.executable, "-m", "bench.peer_scripts.tradebot_ema", str(data),
                                        store_dir], REPO, env)
                    ended = os.times()
                rate[side].add(result["bars_per_s"])
                outcomes[side].add((result["orders"], result["fills"], result["signals"]))
                cpu[side].add(ended.children_user - started.children_user
                              + ended.children_system - started.children_system)
                _log(f"{side} round {round_no + 1}: {result['bars_per_s']:,.0f} bars/s")
    ratio = Figure("ratio_compiled_over_source", "x", note="median compiled bars/s / median source bars/s")
    ratio.add(rate["compiled"].summary()["median"] / rate["source"].summary()["median"])
    doc = result_document(
        "compiled_trial", [*rate.values(), *cpu.values(), ratio],
        params={"bars": args.bars, "rounds": args.rounds, "workload": "bench/peer_scripts/tradebot_ema.py"},
        notes=["the two sides alternate round by round; compare only figures of the same run"],
        extra={**built, "outcomes": {side: sorted(seen) for side, seen in outcomes.items()},
               "same_outcome": len(outcomes["source"] | outcomes["compiled"]) == 1},
    )
    path = write_result(doc, args.results) if args.results else write_result(doc)
    _log(f"-> {path}")
    print(table([doc]))
    if not doc["same_outcome"]:
        print(f"the two sides did not trade alike (orders, fills, signals): {doc['outcomes']}")
    for module, reason in built["not_compiled"].items():
        print(f"not compiled: {module} ({reason})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
