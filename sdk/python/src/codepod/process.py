"""Background processes: commands that run on in the sandbox without a
client, which any client can list, reattach to, feed, signal and kill.

The sandbox's agent keeps each process's last 1 MiB of stdout and of
stderr; a handle reads them from any offset still kept, or streams them to
``on_stdout``/``on_stderr`` callbacks."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _ws
from ._generated import OPERATIONS, Process, StartProcessRequest
from .client import Client
from .errors import error_for_status
from .exec import _argv

OutputCallback = Callable[[bytes], Any]


@dataclass
class ProcessOutput:
    """Bytes of one stream from ``offset``; ``dropped`` bytes before it were
    no longer kept (they fell out of the 1 MiB ring); ``end`` is the
    stream's length so far; ``eof`` says the stream has ended."""

    stream: str
    offset: int
    dropped: int
    data: bytes
    end: int
    eof: bool

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class ProcessHandle:
    """A handle on one background process. Dropping or disconnecting it
    leaves the process running; only :meth:`kill` ends it."""

    def __init__(self, client: Client, sandbox_id: str, info: Process) -> None:
        self._client = client
        self._sandbox_id = sandbox_id
        self.info = info
        self._thread: threading.Thread | None = None
        self._conn: _ws.WebSocket | None = None
        self.stream_error: Exception | None = None
        """Why the callbacks' stream ended early, if it did."""

    @property
    def pid(self) -> int:
        return self.info.pid

    @property
    def exit_code(self) -> int | None:
        """The exit code once it exited (128+N when signal N killed it)."""
        return self.info.exit_code

    def __repr__(self) -> str:
        return f"ProcessHandle(pid={self.pid}, status={self.info.status!r})"

    def _call(self, op: str, **kw: Any) -> Process:
        path = {"id": self._sandbox_id, "pid": str(self.pid)}
        self.info = Process.from_dict(self._client.call(op, path=path, **kw))
        return self.info

    def refresh(self) -> Process:
        """Asks the server for the process's state."""
        return self._call("get-process")

    def wait(self, timeout: float | None = None) -> Process:
        """Waits until the process exited and returns its final state (with
        callbacks, they have had all its output by then). ``timeout`` bounds
        the wait in seconds (None: no limit); the process runs on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 30 if deadline is None else max(0, min(30, int(deadline - time.monotonic())))
            http_timeout = self._client.transport.timeout + step
            self._call("wait-process", query={"timeout": step}, timeout=http_timeout)
            if self.info.status == "exited" or (deadline is not None and time.monotonic() >= deadline):
                break
        if self._thread is not None:
            self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self.info

    def kill(self) -> Process:
        """Kills the process (SIGKILL to its group) and returns its final state."""
        return self._call("kill-process")

    def signal(self, name: str = "TERM") -> Process:
        """Sends a signal (``"TERM"``, ``"INT"``, ``"HUP"``…) to the process's group."""
        return self._call("signal-process", body={"signal": name})

    def send_stdin(self, data: str | bytes) -> Process:
        """Writes to the process's stdin."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        return self._call("stdin-process", body={"data_base64": base64.b64encode(data).decode("ascii")})

    def close_stdin(self) -> Process:
        """Closes the process's stdin: it reads end of file."""
        return self._call("stdin-process", body={"close": True})

    def output(self, stream: str = "stdout", offset: int = 0) -> ProcessOutput:
        """Reads ``stream`` from ``offset``, as far as the sandbox keeps it."""
        path = {"id": self._sandbox_id, "pid": str(self.pid)}
        o = self._client.call("read-process-output", path=path, query={"stream": stream, "offset": offset})
        return ProcessOutput(stream=o["stream"], offset=o["offset"], dropped=o.get("dropped", 0),
                             data=base64.b64decode(o.get("data") or ""), end=o["end"], eof=bool(o.get("eof")))

    def _stream(self, on_stdout: OutputCallback | None, on_stderr: OutputCallback | None, offset: int) -> None:
        t = self._client.transport
        path = OPERATIONS["stream-process"].path.replace("{id}", urllib.parse.quote(self._sandbox_id, safe=""))
        path = path.replace("{pid}", str(self.pid))
        url = t.url(path, {"stdout_offset": offset, "stderr_offset": offset})
        self._conn = _ws.connect(url, t.headers(), timeout=t.timeout, ssl_context=t.ssl_context)
        self._thread = threading.Thread(target=self._pump, args=(self._conn, on_stdout, on_stderr), daemon=True)
        self._thread.start()

    def _pump(self, conn: _ws.WebSocket, on_stdout: OutputCallback | None, on_stderr: OutputCallback | None) -> None:
        try:
            while True:
                msg = conn.recv()
                if msg is None:
                    return
                m = json.loads(msg)
                kind = m.get("type")
                cb = on_stdout if kind == "stdout" else on_stderr if kind == "stderr" else None
                if cb is not None:
                    cb(base64.b64decode(m.get("data") or ""))
                elif kind in ("exit", "error"):
                    if kind == "error":
                        self.stream_error = error_for_status(int(m.get("status") or 0), str(m.get("detail") or ""))
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def disconnect(self) -> None:
        """Stops the callbacks (the process runs on)."""
        if self._conn is not None:
            self._conn.close()
        if self._thread is not None:
            self._thread.join()


class Processes:
    """A sandbox's background processes: ``sb.process``."""

    def __init__(self, client: Client, sandbox_id: str) -> None:
        self._client = client
        self._sandbox_id = sandbox_id

    def start(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ProcessHandle:
        """Starts ``cmd`` (an argv, or a string run with ``sh -c``) in the
        background and returns at once. Its stdin stays open until
        :meth:`ProcessHandle.close_stdin`."""
        req = StartProcessRequest(command=_argv(cmd), env=dict(env) if env else None, cwd=cwd or None)
        info = Process.from_dict(self._client.call("start-process", path={"id": self._sandbox_id}, body=req.to_dict()))
        h = ProcessHandle(self._client, self._sandbox_id, info)
        if on_stdout or on_stderr:
            h._stream(on_stdout, on_stderr, 0)
        return h

    def connect(
        self,
        pid: int,
        *,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        offset: int = 0,
    ) -> ProcessHandle:
        """Reattaches to a process by pid, from any client. The callbacks get
        its output from ``offset`` of each stream (0: all that is kept; -1:
        only new output). Raises :class:`NotFoundError` for an unknown pid."""
        info = Process.from_dict(self._client.call("get-process", path={"id": self._sandbox_id, "pid": str(pid)}))
        h = ProcessHandle(self._client, self._sandbox_id, info)
        if on_stdout or on_stderr:
            h._stream(on_stdout, on_stderr, offset)
        return h

    def list(self) -> list[Process]:
        """The sandbox's processes, running and exited, oldest first."""
        r = self._client.call("list-processes", path={"id": self._sandbox_id})
        return [Process.from_dict(p) for p in r.get("items") or []]
