"""Operator control: a Unix socket in the runtime directory, and a KILL file with the same effect.

Protocol: one JSON object per line in, one per line out.

    {"cmd": "kill", "reason": "...", "cancel_all": false, "flatten": false}
    {"cmd": "resume", "reason": "..."}
    {"cmd": "status"}
    -> {"ok": true, "result": {...}}  |  {"ok": false, "error": "..."}

Security: the runtime directory must belong to us and not be world-writable (it is tightened to 0700);
the socket is 0600 and, on Linux, every peer's uid is checked against ours (SO_PEERCRED). The pipeline
supplies the handlers; this module only parses, validates, dispatches and answers.

KILL file: a file named ``KILL`` in the runtime directory halts the daemon; its content is the reason
(plain text, or a JSON object with ``reason``/``cancel_all``/``flatten``). It fires once per file
(a new or rewritten file fires again); while it exists, ``resume`` is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from tradebot.domain import reasons
from tradebot.ops.errors import classify_exception

SOCKET_NAME = "control.sock"
KILL_FILE_NAME = "KILL"
MAX_LINE_BYTES = 64 * 1024
MAX_REASON_CHARS = 500


class ControlError(Exception):
    """The control server cannot start safely (the message names the path and the problem)."""


class DaemonNotRunning(Exception):
    """No daemon answers on the control socket."""


@dataclass(frozen=True, slots=True)
class KillCommand:
    reason: str
    cancel_all: bool = False
    flatten: bool = False
    source: str = "socket"  # socket | kill_file

    @property
    def code(self) -> str:
        return reasons.KILL_SWITCH


@dataclass(frozen=True, slots=True)
class ResumeCommand:
    reason: str = "operator resume"
    source: str = "socket"

    @property
    def code(self) -> str:
        return reasons.OPERATOR_RESUME


JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ControlHandlers:
    """The pipeline's callbacks. Each returns a small JSON-able dict sent back to the operator."""

    kill: Callable[[KillCommand], Awaitable[JsonDict]]
    resume: Callable[[ResumeCommand], Awaitable[JsonDict]]
    status: Callable[[], Awaitable[JsonDict]]


class CommandError(ValueError):
    """A malformed command; the message names the field."""


def parse_command(line: bytes | str) -> KillCommand | ResumeCommand | str:
    """Parse one request line. Returns the command, or ``"status"``. Raises ``CommandError``."""
    try:
        body = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"not a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise CommandError("not a JSON object")
    return command_from_mapping(body, source="socket")


def command_from_mapping(body: Mapping[str, Any], *, source: str) -> KillCommand | ResumeCommand | str:
    cmd = body.get("cmd")
    if cmd == "status":
        return "status"
    if cmd == "kill":
        return KillCommand(
            reason=_reason(body, required=True),
            cancel_all=_flag(body, "cancel_all"),
            flatten=_flag(body, "flatten"),
            source=source,
        )
    if cmd == "resume":
        return ResumeCommand(reason=_reason(body, required=False) or "operator resume", source=source)
    raise CommandError(f"field 'cmd': must be one of kill, resume, status (got {cmd!r})")


def _reason(body: Mapping[str, Any], *, required: bool) -> str:
    reason = body.get("reason")
    if reason is None and not required:
        return ""
    if not isinstance(reason, str) or not reason.strip():
        raise CommandError("field 'reason': a non-empty string is required")
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        raise CommandError(f"field 'reason': longer than {MAX_REASON_CHARS} characters")
    return reason


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise CommandError(f"field '{name}': must be true or false (got {value!r})")
    return value


def secure_runtime_dir(path: Path) -> Path:
    """Create ``path`` (0700) or check it: ours, not world-writable; group/other bits are removed."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise ControlError(f"runtime dir {path}: not a directory")
    mode = stat.S_IMODE(st.st_mode)
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ControlError(f"runtime dir {path}: owned by uid {st.st_uid}, not by this user ({os.getuid()})")
    if mode & 0o002:
        raise ControlError(
            f"runtime dir {path}: mode {mode:04o} is world-writable; refusing to put the control socket "
            f"there (use a private directory, e.g. chmod 700 {path})"
        )
    if mode & 0o077:
        path.chmod(0o700)
        logger.warning("runtime dir {p}: mode {m:04o} tightened to 0700", p=str(path), m=mode)
    return path


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class ControlServer:
    """Serve the control socket (and watch the KILL file) until ``close``. Use as an async context."""

    def __init__(
        self,
        runtime_dir: Path,
        handlers: ControlHandlers,
        *,
        watch_kill_file: bool = True,
        kill_file_poll_s: float = 1.0,
    ) -> None:
        self.runtime_dir = runtime_dir
        self.handlers = handlers
        self.socket_path = runtime_dir / SOCKET_NAME
        self.kill_file = runtime_dir / KILL_FILE_NAME
        self._server: asyncio.AbstractServer | None = None
        self._watcher: KillFileWatcher | None = (
            KillFileWatcher(runtime_dir, handlers.kill, poll_s=kill_file_poll_s) if watch_kill_file else None
        )
        self._watch_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        secure_runtime_dir(self.runtime_dir)
        if self.socket_path.exists() or self.socket_path.is_symlink():
            if _socket_answers(self.socket_path):
                raise ControlError(f"control socket {self.socket_path}: another daemon is listening on it")
            self.socket_path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve_client, path=str(self.socket_path), limit=MAX_LINE_BYTES
            )
        finally:
            os.umask(old_umask)
        self.socket_path.chmod(0o600)
        if self._watcher is not None:
            await self._watcher.check_once()  # a KILL file left before startup takes effect at once
            self._watch_task = asyncio.create_task(self._watcher.run(), name="kill-file-watcher")
        logger.info("control socket listening on {p}", p=str(self.socket_path))

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            uid = _peer_uid(writer)
            if uid is not None and hasattr(os, "getuid") and uid != os.getuid():
                logger.bind(code=reasons.KILL_SWITCH).warning("control socket: refused peer uid {u}", u=uid)
                await _send(writer, {"ok": False, "error": "permission denied"})
                return
            while True:
                try:
                    line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await _send(writer, {"ok": False, "error": f"line longer than {MAX_LINE_BYTES} bytes"})
                    return
                if not line:
                    return
                if not line.strip():
                    continue
                await _send(writer, await self.dispatch(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def dispatch(self, line: bytes | str) -> JsonDict:
        try:
            command = parse_command(line)
        except CommandError as exc:
            return {"ok": False, "error": str(exc)}
        try:
            if command == "status":
                return {"ok": True, "result": await self.handlers.status()}
            if isinstance(command, KillCommand):
                logger.bind(
                    code=command.code,
                    source=command.source,
                    cancel_all=command.cancel_all,
                    flatten=command.flatten,
                ).warning("kill requested: {r}", r=command.reason)
                return {"ok": True, "result": await self.handlers.kill(command)}
            if isinstance(command, ResumeCommand):
                if self.kill_file.exists():
                    return {"ok": False, "error": f"KILL file present at {self.kill_file}; remove it first"}
                logger.bind(code=command.code).warning("resume requested: {r}", r=command.reason)
                return {"ok": True, "result": await self.handlers.resume(command)}
        except Exception as exc:  # noqa: BLE001 - the operator gets the classified failure; it is logged
            error = classify_exception(exc)
            logger.bind(code=error.code).opt(exception=exc).error("control command failed")
            return {"ok": False, "error": f"handler failed: {error.code}: {error.details.get('message', '')}"}
        return {"ok": False, "error": "unhandled command"}


async def _send(writer: asyncio.StreamWriter, payload: JsonDict) -> None:
    writer.write(json.dumps(payload, default=str).encode() + b"\n")
    await writer.drain()


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class KillFileWatcher:
    """Poll for ``<runtime_dir>/KILL``; call ``on_kill`` once per new or rewritten file."""

    def __init__(
        self,
        runtime_dir: Path,
        on_kill: Callable[[KillCommand], Awaitable[JsonDict]],
        *,
        poll_s: float = 1.0,
    ) -> None:
        self.path = runtime_dir / KILL_FILE_NAME
        self.on_kill = on_kill
        self.poll_s = poll_s
        self._seen: tuple[int, int, int] | None = None
        self._pending: tuple[int, int, int] | None = None

    def read_command(self) -> KillCommand | None:
        """The KILL file's command, if it is there and not yet acted on. Bad content still kills."""
        try:
            st = self.path.stat()
            text = self.path.read_text(encoding="utf-8", errors="replace")[:MAX_LINE_BYTES]
        except FileNotFoundError:
            self._seen = None
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return None
        self._pending = key
        return kill_command_from_text(text)

    async def check_once(self) -> KillCommand | None:
        """Act on a new KILL file. The file counts as handled only once ``on_kill`` has returned, so a
        failing handler is called again at the next poll."""
        command = self.read_command()
        if command is None:
            return None
        logger.bind(code=command.code, source=command.source).warning(
            "KILL file {p}: {r}", p=str(self.path), r=command.reason
        )
        await self.on_kill(command)
        self._seen = self._pending
        return command

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.check_once()
            except Exception as exc:  # noqa: BLE001 - logged and retried at the next poll: never silent
                error = classify_exception(exc)
                logger.bind(code=error.code).opt(exception=exc).error("KILL file handler failed; retrying")


def kill_command_from_text(text: str) -> KillCommand:
    """A KILL file's content as a command: JSON with a reason, else the text itself as the reason."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            body = json.loads(stripped)
            if isinstance(body, dict):
                parsed = command_from_mapping({"cmd": "kill", **body}, source="kill_file")
                if isinstance(parsed, KillCommand):
                    return parsed
        except (json.JSONDecodeError, CommandError) as exc:
            return KillCommand(reason=f"KILL file (unparsable: {exc}): {stripped[:200]}", source="kill_file")
    reason = stripped[:MAX_REASON_CHARS] or "KILL file present"
    return KillCommand(reason=reason, source="kill_file")


def send_command(runtime_dir: Path, payload: Mapping[str, Any], *, timeout_s: float = 10.0) -> JsonDict:
    """Send one command to the daemon listening in ``runtime_dir`` and return its answer (blocking).

    Raises ``DaemonNotRunning`` when nothing listens there.
    """
    path = runtime_dir / SOCKET_NAME
    if not path.exists():
        raise DaemonNotRunning(f"no control socket at {path}: is the tradebot daemon running?")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            raise DaemonNotRunning(
                f"control socket {path} exists but nothing answers: the daemon is not running (stale socket)"
            ) from None
        sock.sendall(json.dumps(dict(payload)).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    if not buf:
        raise DaemonNotRunning(f"the daemon at {path} closed the connection without answering")
    answer = json.loads(buf)
    if not isinstance(answer, dict):
        raise ValueError(f"unexpected answer from {path}: {answer!r}")
    return answer
