"""The asyncio client: :class:`AsyncSandbox`, the same surface as
:class:`~codepod.Sandbox` with coroutines.

::

    import asyncio
    from codepod import AsyncSandbox

    async def main():
        async with await AsyncSandbox.create(image="codepod/tiny:latest") as sb:
            results = await asyncio.gather(*(sb.exec(["echo", str(i)]) for i in range(20)))
            print([r.stdout for r in results])

    asyncio.run(main())

Each blocking call of the synchronous SDK (an HTTP request, a WebSocket
read) runs in a bounded pool of threads (:data:`MAX_THREADS`, at most that
many calls in flight; more wait their turn), so the event loop never blocks
and the two clients share one transport: the same proxies, CA bundle,
errors and WebSocket. Waiting for a sandbox to run polls with
``asyncio.sleep`` and holds no thread. docs/sdks.md says why this design
rather than a second HTTP client on asyncio streams.

Cancelling a task that awaits a call stops the wait, not the request: a
cancelled ``exec`` runs to its end (give it a ``timeout``, or use
``exec_stream`` and ``close``); a cancelled ``create`` deletes the sandbox
it made.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import IO, Any, TypeVar

from ._generated import Sandbox as SandboxInfo
from .client import Client, default_client
from .errors import SandboxFailedError, TimeoutError
from .exec import ExecResult, ExecStream, ExitStatus, OutputChunk
from .files import FileInfo, Files
from ._generated import Process
from .code import CodeContext, CodeRunResult
from .process import ProcessHandle, ProcessOutput, Processes
from .sandbox import _FAILED, DEFAULT_WAIT_TIMEOUT, Sandbox

T = TypeVar("T")

MAX_THREADS = 64
"""Most blocking calls (requests, stream reads) in flight at once, for all
asynchronous sandboxes of the process; set before the first call."""

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="codepod-aio")
        return _pool


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call of the synchronous SDK in the pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))


class AsyncSandbox:
    """A handle on one sandbox, for asyncio.

    Make one with ``await AsyncSandbox.create(...)`` or
    ``await AsyncSandbox.connect(...)``. ``async with`` deletes it on exit.
    Every method of :class:`~codepod.Sandbox` is here as a coroutine.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sync = sandbox
        """The synchronous handle this one drives."""
        self.files = AsyncFiles(sandbox.files)
        """The sandbox's files: read, write, list, mkdir, remove, upload, download."""
        self.process = AsyncProcesses(sandbox.process)
        """Background processes: start, list, connect (reattach)."""

    @property
    def client(self) -> Client:
        return self.sync.client

    @property
    def info(self) -> SandboxInfo:
        return self.sync.info

    @property
    def id(self) -> str:
        return self.sync.id

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def status(self) -> str:
        """The status when the handle last heard from the server (see refresh)."""
        return self.sync.status

    def __repr__(self) -> str:
        return f"AsyncSandbox(id={self.id!r}, name={self.name!r}, status={self.status!r})"

    # Lifecycle ---------------------------------------------------------

    @classmethod
    async def create(
        cls, *, timeout: float | None = DEFAULT_WAIT_TIMEOUT, client: Client | None = None, **kwargs: Any
    ) -> AsyncSandbox:
        """Creates a sandbox and waits until it runs; the arguments are those
        of :meth:`Sandbox.create <codepod.Sandbox.create>`. If it does not
        run in time, fails, or the task is cancelled, it is deleted."""
        client = client or default_client()
        fut = asyncio.ensure_future(_run(Sandbox.create, timeout=None, client=client, **kwargs))
        try:
            sb = cls(await asyncio.shield(fut))
        except asyncio.CancelledError:
            fut.add_done_callback(_close_made)
            raise
        if timeout is None:
            return sb
        try:
            await sb.wait_running(timeout)
        except BaseException:
            await asyncio.shield(sb.close())
            raise
        return sb

    @classmethod
    async def connect(cls, id_or_name: str, *, client: Client | None = None) -> AsyncSandbox:
        """A handle on an existing sandbox; :class:`NotFoundError` when there
        is none (or it is not yours)."""
        client = client or default_client()
        return cls(await _run(Sandbox.connect, id_or_name, client=client))

    @staticmethod
    async def list(
        *,
        status: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        all_users: bool = False,
        client: Client | None = None,
    ) -> builtins.list[SandboxInfo]:
        """Lists your sandboxes, as :meth:`Sandbox.list <codepod.Sandbox.list>`."""
        client = client or default_client()
        return await _run(Sandbox.list, status=status, labels=labels, all_users=all_users, client=client)

    async def refresh(self) -> SandboxInfo:
        """Asks the server for the sandbox's current state."""
        return await _run(self.sync.refresh)

    async def wait_running(self, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Polls (without holding a thread between polls) until the sandbox
        runs; :class:`SandboxFailedError` or :class:`TimeoutError` as the
        synchronous one."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            info = await self.refresh()
            if info.status == "running":
                return
            if info.status in _FAILED:
                raise SandboxFailedError(
                    f"sandbox {info.name} is {info.status}, not running: {info.reason or 'no reason given'}"
                )
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"sandbox {info.name} is still {info.status} after {timeout:g}s: "
                    f"{info.reason or 'no reason given'}"
                )
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 0.5)

    async def delete(self) -> None:
        """Deletes the sandbox (alias: :meth:`kill`); :class:`NotFoundError`
        if it is already gone."""
        await _run(self.sync.delete)

    kill = delete

    async def close(self) -> None:
        """Deletes the sandbox unless it is already gone."""
        await _run(self.sync.close)

    async def stop(self) -> None:
        """Stops the sandbox's container; its files stay for :meth:`start`."""
        await _run(self.sync.stop)

    async def start(self, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Starts a stopped sandbox and waits until it runs."""
        def start() -> None:
            self.sync.info = SandboxInfo.from_dict(self.client.call("start-sandbox", path={"id": self.id}))

        await _run(start)
        await self.wait_running(timeout)

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.shield(self.close())

    # Commands ----------------------------------------------------------

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | bytes | None = None,
        timeout: float | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Runs a command and waits for it, as :meth:`Sandbox.exec
        <codepod.Sandbox.exec>`."""
        return await _run(self.sync.exec, cmd, env=env, cwd=cwd, stdin=stdin, timeout=timeout,
                          max_output_bytes=max_output_bytes)

    async def exec_stream(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | bytes | Any = None,
        timeout: float | None = None,
    ) -> AsyncExecStream:
        """Starts a command over a WebSocket: ``async for`` its output, or
        ``await stream.wait(on_stdout=..., on_stderr=...)``."""
        return AsyncExecStream(await _run(self.sync.exec_stream, cmd, env=env, cwd=cwd, stdin=stdin, timeout=timeout))

    async def run_code(self, code: str, **kwargs: Any) -> CodeRunResult:
        """Runs ``code`` in a persistent interpreter (see :meth:`Sandbox.run_code`)."""
        return await _run(self.sync.run_code, code, **kwargs)

    async def create_code_context(self, language: str = "python") -> CodeContext:
        return await _run(self.sync.create_code_context, language)

    async def list_code_contexts(self) -> builtins.list[CodeContext]:
        return await _run(self.sync.list_code_contexts)

    async def restart_code_context(self, context: str | CodeContext) -> CodeContext:
        return await _run(self.sync.restart_code_context, context)

    async def delete_code_context(self, context: str | CodeContext) -> None:
        await _run(self.sync.delete_code_context, context)


def _close_made(fut: asyncio.Future[Sandbox]) -> None:
    """Deletes the sandbox a cancelled create made anyway."""
    if not fut.cancelled() and fut.exception() is None:
        _executor().submit(fut.result().close)


_END = object()


class AsyncExecStream:
    """A command running over a WebSocket, for asyncio: ``async for`` yields
    :class:`OutputChunk` values as the command writes them, then
    ``exit_status`` says how it ended. :meth:`wait` after an ``async for``
    (or after a ``break``) returns at once or drains the rest."""

    def __init__(self, stream: ExecStream) -> None:
        self.sync = stream
        self._it = iter(stream)
        self._pending: asyncio.Future[Any] | None = None

    @property
    def exit_status(self) -> ExitStatus | None:
        return self.sync.exit_status

    def __aiter__(self) -> AsyncExecStream:
        return self

    async def __anext__(self) -> OutputChunk:
        # A read cancelled half-way is resumed, not doubled: the pool's
        # thread is still in it.
        if self._pending is None:
            self._pending = asyncio.ensure_future(_run(next, self._it, _END))
        try:
            item = await asyncio.shield(self._pending)
        finally:
            if self._pending.done():
                self._pending = None
        if item is _END:
            raise StopAsyncIteration
        return item

    async def wait(
        self,
        on_stdout: Callable[[bytes], Any] | None = None,
        on_stderr: Callable[[bytes], Any] | None = None,
    ) -> ExitStatus:
        """Passes the output to the callbacks until the command ends and
        returns how it ended."""
        async for chunk in self:
            cb = on_stdout if chunk.stream == "stdout" else on_stderr
            if cb is not None:
                cb(chunk.data)
        assert self.exit_status is not None
        return self.exit_status

    async def write_stdin(self, data: bytes | str) -> None:
        await _run(self.sync.write_stdin, data)

    async def close_stdin(self) -> None:
        await _run(self.sync.close_stdin)

    async def signal(self, name: str = "TERM") -> None:
        """Sends a signal (``"TERM"``, ``"INT"``, ``"KILL"``…) to the command."""
        await _run(self.sync.signal, name)

    async def close(self) -> None:
        """Kills the command if it still runs and closes the stream."""
        await _run(self.sync.close)

    async def __aenter__(self) -> AsyncExecStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncProcesses:
    """The background processes of one sandbox (``sandbox.process``), for
    asyncio. Handles are :class:`~codepod.process.ProcessHandle`; wrap their
    blocking calls (``wait``) with :class:`AsyncProcessHandle`."""

    def __init__(self, processes: Processes) -> None:
        self.sync = processes

    async def start(self, cmd: str | Sequence[str], **kwargs: Any) -> AsyncProcessHandle:
        """Starts ``cmd`` in the background (see :meth:`Processes.start`)."""
        return AsyncProcessHandle(await _run(self.sync.start, cmd, **kwargs))

    async def connect(self, pid: int, **kwargs: Any) -> AsyncProcessHandle:
        """Reattaches to a process by pid (see :meth:`Processes.connect`)."""
        return AsyncProcessHandle(await _run(self.sync.connect, pid, **kwargs))

    async def list(self) -> builtins.list[Process]:
        """The sandbox's processes, running and exited, oldest first."""
        return await _run(self.sync.list)


class AsyncProcessHandle:
    """One background process, for asyncio; ``sync`` is the blocking handle
    (its callbacks run on a thread of their own)."""

    def __init__(self, handle: ProcessHandle) -> None:
        self.sync = handle

    @property
    def pid(self) -> int:
        return self.sync.pid

    @property
    def exit_code(self) -> int | None:
        return self.sync.exit_code

    async def wait(self, timeout: float | None = None) -> Process:
        return await _run(self.sync.wait, timeout)

    async def kill(self) -> Process:
        return await _run(self.sync.kill)

    async def signal(self, name: str = "TERM") -> Process:
        return await _run(self.sync.signal, name)

    async def send_stdin(self, data: str | bytes) -> Process:
        return await _run(self.sync.send_stdin, data)

    async def close_stdin(self) -> Process:
        return await _run(self.sync.close_stdin)

    async def output(self, stream: str = "stdout", offset: int = 0) -> ProcessOutput:
        return await _run(self.sync.output, stream, offset)

    async def refresh(self) -> Process:
        return await _run(self.sync.refresh)

    def disconnect(self) -> None:
        self.sync.disconnect()


class AsyncFiles:
    """The files of one sandbox (``sandbox.files``), for asyncio."""

    def __init__(self, files: Files) -> None:
        self.sync = files

    async def read(self, path: str) -> bytes:
        """Returns the file's content, byte for byte."""
        return await _run(self.sync.read, path)

    async def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """Returns the file's content decoded as text."""
        return await _run(self.sync.read_text, path, encoding)

    async def write(self, path: str, data: bytes | str | IO[bytes] | Iterable[bytes], mode: int | None = None) -> int:
        """Makes the file hold ``data`` (bytes, text, a binary file or an
        iterable of bytes, streamed from a pool thread); returns the size."""
        return await _run(self.sync.write, path, data, mode)

    async def list(self, path: str = ".") -> builtins.list[FileInfo]:
        """Returns the entries of a directory, sorted by name."""
        return await _run(self.sync.list, path)

    async def mkdir(self, path: str) -> None:
        """Makes a directory and its missing parents."""
        await _run(self.sync.mkdir, path)

    async def remove(self, path: str, recursive: bool = False) -> None:
        """Removes a file or an empty directory (with ``recursive``, a tree)."""
        await _run(self.sync.remove, path, recursive)

    async def upload_dir(self, local_dir: str | os.PathLike[str], remote_dir: str) -> int:
        """Copies a local directory's contents into ``remote_dir``; returns
        the number of files."""
        return await _run(self.sync.upload_dir, local_dir, remote_dir)

    async def download_dir(self, remote_dir: str, local_dir: str | os.PathLike[str]) -> None:
        """Copies the contents of ``remote_dir`` into a local directory."""
        await _run(self.sync.download_dir, remote_dir, local_dir)
