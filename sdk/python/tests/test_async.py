"""AsyncSandbox: the synchronous suites' cases run again through it (a thin
blocking facade drives its coroutines on an event loop), plus what only
asyncio can show: 20 execs at once with asyncio.gather, a cancelled create,
wait() after async for."""

from __future__ import annotations

import asyncio
import inspect
import unittest
from typing import Any

import codepod
from codepod import AsyncExecStream, AsyncFiles, AsyncSandbox

from .support import TINY, client
from . import test_exec, test_files  # modules, not classes: else discovery runs their cases twice
from .test_lifecycle import wait_gone


class Blocking:
    """Calls an async object's coroutines to their end on loop, so the
    synchronous tests' code drives AsyncSandbox unchanged."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Any) -> None:
        self._loop = loop
        self._target = target

    def __getattr__(self, name: str) -> Any:
        v = getattr(self._target, name)
        if inspect.iscoroutinefunction(v):
            return lambda *a, **kw: self._wrap(self._loop.run_until_complete(v(*a, **kw)))
        return self._wrap(v)

    def _wrap(self, v: Any) -> Any:
        if isinstance(v, AsyncExecStream):
            return BlockingStream(self._loop, v)
        if isinstance(v, AsyncFiles):
            return Blocking(self._loop, v)
        return v


class BlockingStream(Blocking):
    def __iter__(self) -> Any:
        it = self._target.__aiter__()
        while True:
            try:
                yield self._loop.run_until_complete(it.__anext__())
            except StopAsyncIteration:
                return

    def __enter__(self) -> BlockingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run_until_complete(self._target.close())


class AsyncCase:
    """setUpClass/tearDownClass that make cls.sb an AsyncSandbox behind
    the facade."""

    loop: asyncio.AbstractEventLoop
    sb: Any

    @classmethod
    def setUpClass(cls) -> None:
        c = client()
        cls.loop = asyncio.new_event_loop()
        sb = cls.loop.run_until_complete(AsyncSandbox.create(image=TINY, memory="64m", client=c))
        cls.sb = Blocking(cls.loop, sb)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.close()
        cls.loop.close()


class AsyncExecTest(AsyncCase, test_exec.ExecTest):
    def test_exec_on_a_missing_sandbox(self) -> None:
        info = codepod.SandboxInfo.from_dict({**self.sb.info.to_dict(), "id": "sb_nope"})
        ghost = AsyncSandbox(codepod.Sandbox(self.sb.client, info))
        with self.assertRaises(codepod.NotFoundError):
            self.loop.run_until_complete(ghost.exec("true"))
        with self.assertRaises(codepod.NotFoundError):
            self.loop.run_until_complete(ghost.exec_stream("true"))

    def test_twenty_execs_at_once(self) -> None:
        # Each command waits until all 20 have started: the test passes only
        # if the 20 execs really run at the same time (else they time out).
        sb: AsyncSandbox = self.sb._target
        barrier = "mkdir -p /tmp/b; touch /tmp/b/$N; while [ $(ls /tmp/b | wc -l) -lt 20 ]; do sleep 0.1; done"

        async def twenty() -> list[codepod.ExecResult]:
            return await asyncio.gather(*(
                sb.exec(f"{barrier}; echo $N; echo $((N * N)) >&2", env={"N": str(i)}, timeout=90) for i in range(20)
            ))

        results = self.loop.run_until_complete(twenty())
        self.assertEqual([(r.stdout, r.stderr, r.exit_code, r.timed_out) for r in results],
                         [(f"{i}\n", f"{i * i}\n", 0, False) for i in range(20)])

    def test_wait_after_async_for(self) -> None:
        sb: AsyncSandbox = self.sb._target

        async def run() -> None:
            s = await sb.exec_stream("echo one; echo two; exit 3")
            out = b"".join([c.data async for c in s])
            self.assertEqual(out, b"one\ntwo\n")
            self.assertEqual((await s.wait()).exit_code, 3)

            s = await sb.exec_stream("echo first; read x; echo rest", stdin=codepod.PIPE)
            async for c in s:
                self.assertEqual(c.data, b"first\n")
                break
            await s.write_stdin("go\n")
            await s.close_stdin()
            got: list[bytes] = []
            self.assertEqual((await s.wait(on_stdout=got.append)).exit_code, 0)
            self.assertEqual(b"".join(got), b"rest\n")

        self.loop.run_until_complete(run())


class AsyncFilesTest(AsyncCase, test_files.FilesTest):
    pass


class AsyncOnlyTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.client = client()

    async def test_lifecycle(self) -> None:
        async with await AsyncSandbox.create(name="sdk-py-async", image=TINY, memory="64m", labels={"suite": "sdk-py-async"},
                                             client=self.client) as sb:
            self.assertEqual(sb.status, "running")
            again = await AsyncSandbox.connect("sdk-py-async", client=self.client)
            self.assertEqual(again.id, sb.id)
            listed = await AsyncSandbox.list(labels={"suite": "sdk-py-async"}, client=self.client)
            self.assertEqual([s.id for s in listed], [sb.id])
            self.assertEqual((await sb.exec("echo back")).stdout, "back\n")
        await asyncio.to_thread(wait_gone, self.client, sb.id)
        with self.assertRaises(codepod.NotFoundError):
            await AsyncSandbox.connect(sb.id, client=self.client)

    async def test_cancelled_create_deletes_the_sandbox(self) -> None:
        task = asyncio.ensure_future(AsyncSandbox.create(name="sdk-py-cancel", image=TINY, runner_labels={"gpu": "h100"},
                                                         client=self.client))
        for _ in range(600):  # until the server has it (it can never run: no runner has the label)
            if any(s.name == "sdk-py-cancel" for s in await AsyncSandbox.list(client=self.client)):
                break
            await asyncio.sleep(0.1)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(wait_gone, self.client, (await asyncio.to_thread(_id_of, self.client, "sdk-py-cancel")))


def _id_of(c: codepod.Client, name: str) -> str:
    """The id of the sandbox named name, or "" when there is none."""
    return next((s.id for s in codepod.Sandbox.list(client=c) if s.name == name), "")


if __name__ == "__main__":
    unittest.main()


class AsyncProcessTest(AsyncCase, unittest.TestCase):
    """Background processes through AsyncSandbox.process."""

    def test_start_output_wait(self) -> None:
        async def run() -> tuple[int | None, str, bool]:
            h = await self.sb.process.start("read line; echo got $line; exit 4")
            listed = h.pid in [p.pid for p in await self.sb.process.list()]
            await h.send_stdin("hi\n")
            info = await h.wait(timeout=60)
            again = await self.sb.process.connect(h.pid)
            out = await again.output("stdout")
            return info.exit_code, out.text, listed

        code, out, listed = self.loop.run_until_complete(run())
        self.assertTrue(listed)
        self.assertEqual((code, out), (4, "got hi\n"))
