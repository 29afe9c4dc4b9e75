"""Running commands: one-shot exec (POST /exec) and streaming exec (a
WebSocket on /exec/stream)."""

from __future__ import annotations

import base64
import json
import math
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from . import _ws
from ._generated import OPERATIONS, ExecRequest, ExecResponse
from .client import Client
from .errors import CodePodError, error_for_status


PIPE: Any = object()
"""Pass as ``stdin`` to ``exec_stream`` to write the command's input yourself."""


@dataclass
class ExitStatus:
    """How a command ended."""

    exit_code: int
    """The exit status; 128+N when killed by signal N."""
    signal: str = ""
    """"" or the signal's name without SIG, e.g. "KILL"."""
    timed_out: bool = False
    """The timeout fired (then ``signal`` is "KILL")."""
    duration: float = 0.0
    """Seconds the command ran."""

    @property
    def ok(self) -> bool:
        """The command exited 0 within its timeout."""
        return self.exit_code == 0 and not self.timed_out


@dataclass
class ExecResult(ExitStatus):
    """A finished command and what it wrote."""

    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    @property
    def stdout(self) -> str:
        """Standard output as text (UTF-8; undecodable bytes replaced)."""
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        """Standard error as text (UTF-8; undecodable bytes replaced)."""
        return self.stderr_bytes.decode("utf-8", "replace")


def _argv(cmd: str | Sequence[str]) -> list[str]:
    if isinstance(cmd, str):
        return ["sh", "-c", cmd]
    return list(cmd)


def _request(
    cmd: str | Sequence[str], env: Mapping[str, str] | None, cwd: str | None, timeout: float | None
) -> ExecRequest:
    return ExecRequest(
        command=_argv(cmd),
        env=dict(env) if env else None,
        cwd=cwd or None,
        timeout_seconds=None if timeout is None else max(1, math.ceil(timeout)),
    )


def _output(text: str, encoding: str | None) -> bytes:
    if encoding == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def run_exec(
    client: Client,
    sandbox_id: str,
    cmd: str | Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: str | bytes | None,
    timeout: float | None,
    max_output_bytes: int | None,
) -> ExecResult:
    req = _request(cmd, env, cwd, timeout)
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    if stdin:
        req.stdin_base64 = base64.b64encode(stdin).decode("ascii")
    req.max_output_bytes = max_output_bytes
    http_timeout = client.transport.timeout + (timeout if timeout is not None else 60)
    r = ExecResponse.from_dict(
        client.call("exec-sandbox", path={"id": sandbox_id}, body=req.to_dict(), timeout=http_timeout)
    )
    return ExecResult(
        exit_code=r.exit_code,
        signal=r.signal,
        timed_out=r.timed_out,
        duration=r.duration_ms / 1000,
        stdout_bytes=_output(r.stdout, r.stdout_encoding),
        stderr_bytes=_output(r.stderr, r.stderr_encoding),
        stdout_truncated=r.stdout_truncated,
        stderr_truncated=r.stderr_truncated,
    )


@dataclass
class OutputChunk:
    """A piece of a streaming command's output."""

    stream: str
    """"stdout" or "stderr"."""
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class ExecStream:
    """A command running over a WebSocket.

    Iterate it for :class:`OutputChunk` values as the command writes them;
    when the iteration ends, ``exit_status`` says how it ended. Or call
    :meth:`wait` with callbacks. Send input with :meth:`write_stdin` and
    :meth:`close_stdin` (when started with ``stdin=PIPE``), or a signal
    with :meth:`signal`. Closing the stream early kills the command.
    """

    def __init__(self, conn: _ws.WebSocket) -> None:
        self._conn = conn
        self.exit_status: ExitStatus | None = None

    def __iter__(self) -> Iterator[OutputChunk]:
        while self.exit_status is None:
            msg = self._conn.recv()
            if msg is None:
                raise CodePodError("the exec stream ended before the command did")
            m = json.loads(msg)
            kind = m.get("type")
            if kind in ("stdout", "stderr"):
                yield OutputChunk(kind, base64.b64decode(m.get("data") or ""))
            elif kind == "exit":
                self.exit_status = ExitStatus(
                    exit_code=int(m.get("exit_code") or 0),
                    signal=m.get("signal") or "",
                    timed_out=bool(m.get("timed_out")),
                    duration=int(m.get("duration_ms") or 0) / 1000,
                )
            elif kind == "error":
                self._conn.close()
                raise error_for_status(int(m.get("status") or 0), str(m.get("detail") or ""))
        self._conn.close()

    def wait(
        self,
        on_stdout: Callable[[bytes], Any] | None = None,
        on_stderr: Callable[[bytes], Any] | None = None,
    ) -> ExitStatus:
        """Passes the output to the callbacks until the command ends and
        returns how it ended."""
        for chunk in self:
            cb = on_stdout if chunk.stream == "stdout" else on_stderr
            if cb is not None:
                cb(chunk.data)
        assert self.exit_status is not None
        return self.exit_status

    def write_stdin(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._send({"type": "stdin", "data": base64.b64encode(data).decode("ascii")})

    def close_stdin(self) -> None:
        self._send({"type": "stdin_close"})

    def signal(self, name: str = "TERM") -> None:
        """Sends a signal (``"TERM"``, ``"INT"``, ``"KILL"``…) to the command."""
        self._send({"type": "signal", "signal": name})

    def _send(self, msg: dict[str, Any]) -> None:
        self._conn.send(json.dumps(msg))

    def close(self) -> None:
        """Kills the command if it still runs and closes the stream."""
        if self.exit_status is None and not self._conn.closed:
            try:
                self.signal("KILL")
            except OSError:
                pass
        self._conn.close()

    def __enter__(self) -> ExecStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _feed(stream: ExecStream, stdin: Any) -> None:
    """Copies stdin (bytes, str, a binary file or an iterable of bytes) to
    the command, then closes its stdin."""
    try:
        if isinstance(stdin, (bytes, str)):
            stdin = [stdin]
        elif hasattr(stdin, "read"):
            f = stdin
            stdin = iter(lambda: f.read(32 << 10), b"")
        for chunk in stdin:
            if chunk:
                stream.write_stdin(chunk)
        stream.close_stdin()
    except OSError:
        pass  # the stream ended; its reader reports why


def start_stream(
    client: Client,
    sandbox_id: str,
    cmd: str | Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: Any,
    timeout: float | None,
) -> ExecStream:
    t = client.transport
    path = OPERATIONS["exec-sandbox-stream"].path.replace("{id}", urllib.parse.quote(sandbox_id, safe=""))
    conn = _ws.connect(t.url(path), t.headers(), timeout=t.timeout, ssl_context=t.ssl_context)
    stream = ExecStream(conn)
    stream._send(_request(cmd, env, cwd, timeout).to_dict())
    if stdin is None:
        stream.close_stdin()
    elif stdin is not PIPE:
        threading.Thread(target=_feed, args=(stream, stdin), daemon=True).start()
    return stream
