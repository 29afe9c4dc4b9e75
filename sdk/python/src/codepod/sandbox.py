"""Sandboxes: create (and wait until running), connect, list, delete."""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from ._generated import CreateSandboxRequest, ListSandbox, NetworkPolicy, Port, PreviewURL
from ._generated import Sandbox as SandboxInfo
from .client import Client, default_client
from .errors import NotFoundError, SandboxFailedError, TimeoutError
from .exec import ExecResult, ExecStream, run_exec, start_stream
from .files import Files
from .process import Processes
from .code import CodeContext, CodeRunResult, run_code

DEFAULT_WAIT_TIMEOUT = 120.0
"""Seconds ``Sandbox.create`` and ``start`` wait for the sandbox to run."""

_FAILED = {"error", "lost", "deleted", "deleting", "stopped"}


def _duration(value: float | int | str | None) -> str | None:
    """A TTL as the API takes it: seconds or a Go duration string."""
    if value is None or isinstance(value, str):
        return value
    return f"{float(value):g}s"


class Sandbox:
    """A handle on one sandbox.

    Make one with :meth:`create` or :meth:`connect`. Used as a context
    manager it deletes the sandbox on exit, so it never outlives the block::

        with Sandbox.create(image="codepod/tiny:latest") as sb:
            print(sb.exec("echo hello").stdout)
    """

    def __init__(self, client: Client, info: SandboxInfo) -> None:
        self.client = client
        self.info = info
        self.files = Files(client, info.id)
        """The sandbox's files: read, write, list, mkdir, remove, upload, download."""
        self.process = Processes(client, info.id)
        """The sandbox's background processes: start, list, connect (see codepod.process)."""

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def status(self) -> str:
        """The status when the handle last heard from the server (see refresh)."""
        return self.info.status

    def __repr__(self) -> str:
        return f"Sandbox(id={self.id!r}, name={self.name!r}, status={self.status!r})"

    # Lifecycle ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        image: str | None = None,
        name: str | None = None,
        cpu: float | None = None,
        memory: str | None = None,
        pids_limit: int | None = None,
        disk: str | None = None,
        env: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        ttl: float | str | None = None,
        idle_timeout: float | str | None = None,
        network: str | None = None,
        network_policy: str | None = None,
        allow: list[str] | None = None,
        deny: list[str] | None = None,
        runner_labels: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        client: Client | None = None,
    ) -> Sandbox:
        """Creates a sandbox and waits until it runs.

        ``memory`` and ``disk`` take a unit (``"512m"``, ``"2g"``; ``disk``,
        default 10g, bounds what the sandbox writes to its file system: its
        runner stops it past that); ``ttl`` is seconds or
        a duration string (``"30m"``) after which the server deletes it;
        ``idle_timeout`` (same units) stops it after that long without
        activity (docs/preview.md);
        ``network`` is ``"none"`` (default) or ``"bridge"``;
        ``network_policy`` (``"none"``, ``"internet"``, ``"allow"``) with
        ``allow``/``deny`` lists of IPv4 addresses or CIDRs (optionally
        ``:port``) is what the sandbox may reach (docs/network.md). ``timeout``
        bounds the wait in seconds (None: do not wait). If the sandbox does
        not run in time (:class:`TimeoutError`) or fails to start
        (:class:`SandboxFailedError`), it is deleted and the error raised.
        """
        client = client or default_client()
        req = CreateSandboxRequest(
            image=image,
            name=name,
            cpu=cpu,
            memory=memory,
            pids_limit=pids_limit,
            disk=disk,
            env=dict(env) if env else None,
            labels=dict(labels) if labels else None,
            ttl=_duration(ttl),
            idle_timeout=_duration(idle_timeout),
            network=network,  # type: ignore[arg-type]
            runner_labels=dict(runner_labels) if runner_labels else None,
            network_policy=_policy(network_policy, allow, deny),
        )
        sb = cls(client, SandboxInfo.from_dict(client.call("create-sandbox", body=req.to_dict())))
        if timeout is None:
            return sb
        try:
            sb.wait_running(timeout)
        except BaseException:
            sb.close()
            raise
        return sb

    @classmethod
    def create_from_devcontainer(
        cls,
        path: str = ".",
        *,
        config: str | None = None,
        skip_gitignored: bool = False,
        name: str | None = None,
        cpu: float | None = None,
        memory: str | None = None,
        disk: str | None = None,
        env: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        ttl: float | str | None = None,
        network: str | None = None,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        client: Client | None = None,
    ) -> Sandbox:
        """Creates a sandbox from a project's devcontainer.json, as
        ``codepod sandbox create --devcontainer`` does: ``path`` is a project
        folder (``config`` chooses among several configs) or the file. The
        config is parsed (comments and trailing commas allowed), its variables
        substituted and checked against the default policy; the build
        context (``build``, local ``features`` and OCI ones fetched from their registry) and the project folder (for
        ``workspaceFolder``) are uploaded unless the server has them; then
        the sandbox is created and waited for (``timeout``; the build counts).
        Raises :class:`codepod.devcontainer.DevcontainerError` for a config
        that cannot be used, naming the file and the property."""
        from . import devcontainer as dcmod

        client = client or default_client()
        loaded = dcmod.load_config(path, config)
        dc = loaded.config
        build, ctx = dcmod.plan_build(loaded)
        if ctx is not None:
            dcmod.upload(client, ctx)
        ws = dcmod.pack_workspace(loaded.local, skip_gitignored)
        dcmod.upload(client, ws)
        merged = {k: v for m in (dc.get("containerEnv") or {}, dc.get("remoteEnv") or {}) for k, v in m.items()
                  if "${containerEnv:" not in v}
        merged.update(env or {})
        body = CreateSandboxRequest(
            image=None if build else dc.get("image"), name=name, cpu=cpu, memory=memory, disk=disk,
            env=merged or None, labels=dict(labels) if labels else None, ttl=_duration(ttl),
            network=network,  # type: ignore[arg-type]
        ).to_dict()
        if build:
            body["build"] = build
        body["workspace"] = {"archive": ws.digest, "folder": loaded.container_workspace}
        sb = cls(client, SandboxInfo.from_dict(client.call("create-sandbox", body=body)))
        if timeout is None:
            return sb
        try:
            sb.wait_running(timeout)
        except BaseException:
            sb.close()
            raise
        return sb

    @classmethod
    def connect(cls, id_or_name: str, *, client: Client | None = None) -> Sandbox:
        """Returns a handle on an existing sandbox; raises
        :class:`NotFoundError` when there is none (or it is not yours)."""
        client = client or default_client()
        return cls(client, SandboxInfo.from_dict(client.call("get-sandbox", path={"id": id_or_name})))

    @staticmethod
    def list(
        *,
        status: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        all_users: bool = False,
        client: Client | None = None,
    ) -> builtins.list[SandboxInfo]:
        """Lists your sandboxes (not deleted ones), oldest first, optionally
        only those in the given statuses or carrying all the given labels."""
        client = client or default_client()
        query: dict[str, Any] = {"limit": 500}
        if status:
            query["status"] = list(status)
        if labels:
            query["label"] = [f"{k}={v}" for k, v in labels.items()]
        if all_users:
            query["all"] = "true"
        items: builtins.list[SandboxInfo] = []
        while True:
            page = ListSandbox.from_dict(client.call("list-sandboxes", query=query))
            items.extend(page.items or [])
            if not page.next_cursor:
                return items
            query["cursor"] = page.next_cursor

    def refresh(self) -> SandboxInfo:
        """Asks the server for the sandbox's current state."""
        self.info = SandboxInfo.from_dict(self.client.call("get-sandbox", path={"id": self.id}))
        return self.info

    def wait_running(self, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Polls until the sandbox runs. Raises :class:`SandboxFailedError`
        when it ends in error, lost or deleted, :class:`TimeoutError` after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            info = self.refresh()
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
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 0.5)

    def delete(self) -> None:
        """Deletes the sandbox and everything in it (alias: :meth:`kill`).
        Raises :class:`NotFoundError` if it is already gone."""
        self.info = SandboxInfo.from_dict(self.client.call("delete-sandbox", path={"id": self.id}))

    kill = delete

    def close(self) -> None:
        """Deletes the sandbox unless it is already gone."""
        try:
            self.delete()
        except NotFoundError:
            pass

    def stop(self) -> None:
        """Stops the sandbox's container; its files stay for :meth:`start`."""
        self.info = SandboxInfo.from_dict(self.client.call("stop-sandbox", path={"id": self.id}))

    def start(self, timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Starts a stopped sandbox and waits until it runs."""
        self.info = SandboxInfo.from_dict(self.client.call("start-sandbox", path={"id": self.id}))
        self.wait_running(timeout)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # Commands ----------------------------------------------------------

    def exec(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | bytes | None = None,
        timeout: float | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Runs a command and waits for it: a list is an argv, a string a
        shell script (``sh -c``). A command that fails or times out is not an
        exception: look at ``exit_code`` and ``timed_out``. ``timeout`` is in
        seconds (default 60 on the server; the process group is killed)."""
        return run_exec(self.client, self.id, cmd, env=env, cwd=cwd, stdin=stdin, timeout=timeout,
                        max_output_bytes=max_output_bytes)

    def exec_stream(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: str | bytes | Any = None,
        timeout: float | None = None,
    ) -> ExecStream:
        """Starts a command over a WebSocket and returns an :class:`ExecStream`:
        iterate it for output chunks as they come, or call
        ``wait(on_stdout=..., on_stderr=...)``. ``stdin`` may be bytes, str,
        a binary file or an iterable of bytes; None closes stdin at once;
        ``PIPE`` leaves it open for ``write_stdin`` and ``close_stdin``."""
        return start_stream(self.client, self.id, cmd, env=env, cwd=cwd, stdin=stdin, timeout=timeout)

    # Code contexts (docs/code.md) ---------------------------------------

    def run_code(
        self,
        code: str,
        *,
        language: str | None = None,
        context: str | CodeContext | None = None,
        timeout: float | None = None,
        max_output_bytes: int | None = None,
    ) -> CodeRunResult:
        """Runs ``code`` as one cell in a persistent interpreter: variables
        survive between calls on the same context. ``language`` is python
        (the default without ``context``), javascript or bash; without
        ``context`` the sandbox's default context for the language runs it.
        An exception is not raised: look at ``error`` (name, value,
        traceback) and ``interrupted``; ``results`` holds rich results as
        MIME type → data maps (``text/plain``, ``text/html`` …)."""
        return run_code(self.client, self.id, code, language=language, context=context, timeout=timeout,
                        max_output_bytes=max_output_bytes)

    def create_code_context(self, language: str = "python") -> CodeContext:
        """Starts a new interpreter (python, javascript or bash)."""
        return CodeContext.from_dict(self.client.call("create-code-context", path={"id": self.id},
                                                      body={"language": language}))

    def list_code_contexts(self) -> builtins.list[CodeContext]:
        """The sandbox's code contexts, oldest first."""
        ans = self.client.call("list-code-contexts", path={"id": self.id})
        return [CodeContext.from_dict(c) for c in ans.get("contexts") or []]

    def restart_code_context(self, context: str | CodeContext) -> CodeContext:
        """Replaces the context's interpreter with a fresh one (state lost, id kept)."""
        cid = context.id if isinstance(context, CodeContext) else context
        return CodeContext.from_dict(self.client.call("restart-code-context", path={"id": self.id, "context_id": cid}))

    def delete_code_context(self, context: str | CodeContext) -> None:
        """Stops the context's interpreter and forgets it."""
        cid = context.id if isinstance(context, CodeContext) else context
        self.client.call("delete-code-context", path={"id": self.id, "context_id": cid})

    # Preview ports and lifetime ----------------------------------------

    def open_port(self, port: int, *, public: bool = False, label: str | None = None) -> Port:
        """Opens ``port`` for the server's preview proxy: requests to
        ``SERVER/api/v1/sandboxes/ID/ports/PORT/...`` reach it (HTTP and
        WebSocket) with an API key, a preview link, or nothing if public."""
        body: dict[str, Any] = {"port": port}
        if public:
            body["public"] = True
        if label:
            body["label"] = label
        return Port.from_dict(self.client.call("open-port", path={"id": self.id}, body=body))

    def close_port(self, port: int) -> None:
        """Closes ``port``: the proxy refuses it and its preview links stop working."""
        self.client.call("close-port", path={"id": self.id, "port": str(port)})

    def ports(self) -> builtins.list[Port]:
        """The sandbox's open ports."""
        out = self.client.call("list-ports", path={"id": self.id})
        return [Port.from_dict(p) for p in out.get("items") or []]

    def get_preview_url(self, port: int, *, ttl: float | int | str | None = None) -> str:
        """A signed link to ``port`` (opened if needed) that works without an
        API key, in a browser too, for ``ttl`` (seconds or a Go duration;
        default 1h)."""
        return self.preview_link(port, ttl=ttl).url

    def preview_link(self, port: int, *, ttl: float | int | str | None = None) -> PreviewURL:
        """Like :meth:`get_preview_url`, with the token and expiry."""
        body: dict[str, Any] = {"port": port}
        if ttl is not None:
            body["ttl"] = _duration(ttl)
        return PreviewURL.from_dict(self.client.call("create-preview-url", path={"id": self.id}, body=body))

    def set_timeout(self, timeout: float | int | str) -> None:
        """Sets the sandbox's TTL to ``timeout`` (seconds or a Go duration)
        from now: extends or shortens its life; 0 removes the TTL where the
        server allows."""
        self._update({"ttl": _duration(timeout)})

    def set_idle_timeout(self, timeout: float | int | str) -> None:
        """Stops the sandbox after ``timeout`` without activity (sessions,
        preview traffic, processes running in it); 0 turns it off."""
        self._update({"idle_timeout": _duration(timeout)})

    def _update(self, body: dict[str, Any]) -> None:
        self.info = SandboxInfo.from_dict(self.client.call("update-sandbox", path={"id": self.id}, body=body))


def _policy(mode: str | None, allow: list[str] | None, deny: list[str] | None) -> NetworkPolicy | None:
    """The request's network policy: lists without a mode mean allow (with
    ``allow``) or internet (only ``deny``)."""
    if mode is None and allow:
        mode = "allow"
    elif mode is None and deny:
        mode = "internet"
    if mode is None:
        return None
    return NetworkPolicy(mode=mode, allow=list(allow) if allow else None, deny=list(deny) if deny else None)  # type: ignore[arg-type]
