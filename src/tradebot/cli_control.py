"""``tradebot kill`` and ``tradebot resume``: talk to the running daemon over its control socket.

The runtime directory is ``--runtime-dir``, else ``$TRADEBOT_RUNTIME_DIR``, else the config's
``<run.run_dir>/control`` (or ``ops.runtime_dir``).
Exit codes: 0 done, 2 bad arguments, 8 no daemon answering or the daemon refused (README's table).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import ExitCode

NOT_RUNNING_EXIT = ExitCode.NOT_RUNNING
REFUSED_EXIT = ExitCode.NOT_RUNNING

RuntimeDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--runtime-dir",
        envvar="TRADEBOT_RUNTIME_DIR",
        help="The daemon's runtime directory (default: <run.run_dir>/control, or ops.runtime_dir).",
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file to find the runtime directory in.")
]


def _runtime_dir(runtime_dir: Path | None, config: Path | None) -> Path:
    if runtime_dir is not None:
        return runtime_dir
    from tradebot.settings import ConfigError, load_settings

    try:
        return load_settings(config).runtime_dir
    except ConfigError as exc:
        typer.echo(f"cannot find the runtime dir: {exc}\nGive --runtime-dir DIR.", err=True)
        raise typer.Exit(2) from None


def _send(runtime_dir: Path, payload: dict[str, Any]) -> dict[str, Any]:
    from tradebot.ops.control import KILL_FILE_NAME, DaemonNotRunning, send_command

    try:
        answer = send_command(runtime_dir, payload)
    except DaemonNotRunning as exc:
        hint = ""
        if payload.get("cmd") == "kill":
            hint = (
                f"\nA daemon started later will honour a KILL file: "
                f"echo 'reason' > {runtime_dir / KILL_FILE_NAME}"
            )
        typer.echo(f"no running tradebot daemon: {exc}{hint}", err=True)
        raise typer.Exit(NOT_RUNNING_EXIT) from None
    except (OSError, ValueError) as exc:
        typer.echo(f"control socket in {runtime_dir}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(NOT_RUNNING_EXIT) from None
    if not answer.get("ok"):
        typer.echo(f"the daemon refused: {answer.get('error', 'no reason given')}", err=True)
        raise typer.Exit(REFUSED_EXIT)
    return answer


def kill(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the halt).")],
    cancel_all: Annotated[bool, typer.Option("--cancel-all", help="Also cancel every open order.")] = False,
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close every position.")] = False,
    runtime_dir: RuntimeDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Halt the running daemon (KILL_SWITCH): no new orders until `tradebot resume`."""
    if not reason.strip():
        typer.echo("--reason must not be empty", err=True)
        raise typer.Exit(2)
    directory = _runtime_dir(runtime_dir, config)
    answer = _send(directory, {"cmd": "kill", "reason": reason, "cancel_all": cancel_all, "flatten": flatten})
    typer.echo(f"halted: {reason}")
    result = answer.get("result")
    if result:
        typer.echo(json.dumps(result, indent=2, sort_keys=True, default=str))


def resume(
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume.")] = "operator resume",
    runtime_dir: RuntimeDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Lift an operator or constitution halt on the running daemon (OPERATOR_RESUME)."""
    directory = _runtime_dir(runtime_dir, config)
    answer = _send(directory, {"cmd": "resume", "reason": reason})
    typer.echo("resumed")
    result = answer.get("result")
    if result:
        typer.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
