"""What the command line prints for an error that reached it: one or two lines and the exit code.

``explain(exc)`` maps an exception (or the group an anyio task group raised) to a ``CliError``: the
documented exit code and a message that says what is wrong and what to do. A bad file, argument or
config is exit 2, a store held by another run 3, a store or run directory that cannot be used 7, and
anything unexpected is an internal error (70). The traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

from tradebot.exit_codes import ExitCode

DEBUG_FLAG = "--debug"
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


@dataclass(frozen=True, slots=True)
class CliError:
    code: ExitCode
    message: str


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """Whether ``--debug`` is among the arguments (anywhere), and the arguments without it."""
    rest = [arg for arg in argv if arg != DEBUG_FLAG]
    return len(rest) != len(argv), rest


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, in order; ``[exc]`` for a plain exception."""
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found.extend(leaves(inner))
        return found
    return [exc]


def explain(exc: BaseException) -> CliError:
    """The exit code and message for ``exc``; the most specific known error in a group wins."""
    candidates = [_explain_one(leaf) for leaf in leaves(exc)]
    known = [c for c in candidates if c is not None]
    if known:
        return min(known, key=lambda c: _PRIORITY.get(c.code, len(_PRIORITY)))
    first = leaves(exc)[0] if leaves(exc) else exc
    return CliError(
        ExitCode.INTERNAL_ERROR,
        f"internal error: {type(first).__name__}: {_scrub(str(first))}\n"
        f"  this is a bug; the run stopped fail-closed. Run again with {DEBUG_FLAG} for the traceback "
        "and report it.",
    )


# a store failure explains the errors it causes elsewhere in the same task group
_PRIORITY = {
    ExitCode.ALREADY_RUNNING: 0,
    ExitCode.STORE_UNUSABLE: 1,
    ExitCode.CONFIG_ERROR: 2,
}


def _explain_one(exc: BaseException) -> CliError | None:
    from pydantic_settings import SettingsError

    from tradebot.pipeline.app import RunRefused
    from tradebot.pipeline.failure import PipelineFailed
    from tradebot.session.errors import SessionRefused
    from tradebot.settings import ConfigError
    from tradebot.store.errors import StoreError, StoreLocked, describe_sqlite_error

    if isinstance(exc, PipelineFailed):
        # the run stopped fail-closed; a store that cannot be written is the user's to fix, not a bug
        inner = _explain_one(exc.exc) if isinstance(exc.exc, StoreError) else None
        return inner or CliError(ExitCode.INTERNAL_ERROR, _scrub(str(exc).removeprefix("tradebot: ")))
    if isinstance(exc, StoreLocked):
        return CliError(ExitCode.ALREADY_RUNNING, _two_lines(str(exc), exc.hint))
    if isinstance(exc, StoreError):
        return CliError(ExitCode.STORE_UNUSABLE, _two_lines(str(exc), exc.hint))
    if isinstance(exc, RunRefused):
        return CliError(exc.code, str(exc))
    if isinstance(exc, SessionRefused):
        return CliError(exc.exit_code, f"{exc.code}: {exc}")
    if isinstance(exc, ConfigError):
        return CliError(ExitCode.CONFIG_ERROR, str(exc))
    if isinstance(exc, SettingsError):
        return CliError(
            ExitCode.CONFIG_ERROR,
            _two_lines(
                f"invalid config from the environment: {exc}",
                "a TRADEBOT_<SECTION> variable must hold valid JSON; to set one key use "
                "TRADEBOT_<SECTION>__<KEY>",
            ),
        )
    if isinstance(exc, UnicodeDecodeError):
        return CliError(
            ExitCode.CONFIG_ERROR,
            _two_lines(
                f"an input file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
                "save it as UTF-8",
            ),
        )
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        error = describe_sqlite_error(exc.filename or "the run directory", exc, "cannot write")
        return CliError(ExitCode.STORE_UNUSABLE, _two_lines(str(error), error.hint))
    if isinstance(exc, OSError) and exc.filename is not None:
        return CliError(
            ExitCode.CONFIG_ERROR,
            _two_lines(f"cannot use {exc.filename}: {exc.strerror or exc}", "check the path given"),
        )
    if isinstance(exc, sqlite3.DatabaseError):
        error = describe_sqlite_error("a database file", exc, "cannot be used")
        return CliError(ExitCode.STORE_UNUSABLE, _two_lines(str(error), error.hint))
    return None


def _two_lines(what: str, todo: str) -> str:
    return f"{_scrub(what)}\n  {todo}"


def _scrub(text: str) -> str:
    from tradebot.ops.secrets import scrub_text

    return scrub_text(text)
