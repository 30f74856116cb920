"""Run the real ``tradebot`` command with one fault armed in one function of the daemon.

    python inject_child.py raise  MODULE:QUALNAME N EXCEPTION -- <tradebot arguments>
    python inject_child.py term   MODULE:QUALNAME N           -- <tradebot arguments>
    python inject_child.py term-on-state STATE CODE           -- <tradebot arguments>

* ``raise``: the N-th call (1-based) of the function raises ``EXCEPTION("injected fault #N in ...")``
  (a builtin exception name). The wrapper runs as a frame of the function's own module, under the
  function's own name, so the failure looks to the daemon exactly like one raised inside that function;
  every other call goes to the real function.
* ``term``: the process sends itself SIGTERM just before the N-th call of the function, then calls it.
* ``term-on-state``: the process sends itself SIGTERM right after the engine records a move of the trading
  state to STATE with reason CODE (e.g. ``HALTED CONSECUTIVE_LOSSES_BLOCK``).

Nothing else of the daemon is replaced.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import os
import signal
import sys
import types
from collections.abc import Callable
from typing import Any


def main(argv: list[str]) -> None:
    split = argv.index("--")
    mode, spec, rest = argv[0], argv[1:split], argv[split + 1 :]
    if mode == "raise":
        target, n, exc_name = spec
        exc_type = getattr(builtins, exc_name)
        assert isinstance(exc_type, type) and issubclass(exc_type, BaseException), exc_name
        arm(target, int(n), _raiser(exc_type, f"injected fault #{n} in {target}"))
    elif mode == "term":
        target, n = spec
        arm(target, int(n), _terminate)
    elif mode == "term-on-state":
        state, code = spec
        term_on_state(state, code)
    else:
        raise SystemExit(f"unknown mode {mode!r}: raise | term | term-on-state")
    from tradebot.cli import main as tradebot_main

    sys.argv = ["tradebot", *rest]
    tradebot_main()


def _raiser(exc_type: type[BaseException], message: str) -> Callable[[], None]:
    def fault() -> None:
        raise exc_type(message)

    return fault


def _terminate() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def _resolve(target: str) -> tuple[types.ModuleType, Any, str, str]:
    module_name, qualname = target.split(":")
    module = importlib.import_module(module_name)
    owner: Any = module
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return module, owner, name, qualname


def arm(target: str, n: int, fault: Callable[[], None]) -> None:
    """Wrap ``target`` so that its ``n``-th call runs ``fault`` first (a raise stops the call there)."""
    module, owner, name, qualname = _resolve(target)
    original = inspect.getattr_static(owner, name)
    if isinstance(original, staticmethod | classmethod):
        raise SystemExit(f"{target}: static and class methods are not supported")
    calls = 0

    if inspect.iscoroutinefunction(original):

        async def injected(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == n:
                fault()
            return await original(*args, **kwargs)

    else:

        def injected(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            nonlocal calls
            calls += 1
            if calls == n:
                fault()
            return original(*args, **kwargs)

    # the same code, as a function of the target's module with the target's name (its frame says so)
    code = injected.__code__.replace(co_name=name, co_qualname=qualname)
    wrapper = types.FunctionType(code, vars(module), name, None, injected.__closure__)
    setattr(owner, name, wrapper)


def term_on_state(state: str, code: str) -> None:
    from tradebot.pipeline.engine import DecisionEngine

    original = DecisionEngine._record_transitions

    def record_transitions(self: DecisionEngine, transitions: Any) -> None:
        original(self, transitions)
        for transition in transitions:
            if transition is not None and transition.to_state.value == state and transition.code == code:
                print(f"fault: trading state {state} ({code}): sending SIGTERM", file=sys.stderr)
                _terminate()

    DecisionEngine._record_transitions = record_transitions  # type: ignore[method-assign]


if __name__ == "__main__":
    main(sys.argv[1:])
