from __future__ import annotations

import time
import unittest

import codepod

from .support import TINY, client


class LifecycleTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = client()

    def test_create_connect_list_delete(self) -> None:
        with codepod.Sandbox.create(
            name="sdk-py-life", image=TINY, cpu=0.5, memory="64m", disk="128m", env={"GREETING": "hi"},
            labels={"suite": "sdk-py"}, ttl=3600, network="none", client=self.client,
        ) as sb:
            self.assertEqual(sb.status, "running")
            self.assertEqual((sb.name, sb.info.memory, sb.info.disk, sb.info.env), ("sdk-py-life", "64m", "128m", {"GREETING": "hi"}))
            self.assertTrue(sb.info.host_key_fingerprint.startswith("SHA256:"))
            self.assertIsNotNone(sb.info.expires_at)

            again = codepod.Sandbox.connect("sdk-py-life", client=self.client)
            self.assertEqual(again.id, sb.id)
            listed = codepod.Sandbox.list(labels={"suite": "sdk-py"}, status=["running"], client=self.client)
            self.assertEqual([s.id for s in listed], [sb.id])
        # Leaving the block deleted it.
        self.assertIn(sb.status, ("deleting", "deleted"))
        wait_gone(self.client, sb.id)
        with self.assertRaises(codepod.NotFoundError) as cm:
            codepod.Sandbox.connect(sb.id, client=self.client)
        self.assertEqual(cm.exception.status, 404)
        self.assertTrue(cm.exception.detail)
        with self.assertRaises(codepod.NotFoundError):
            sb.exec(["echo", "too late"])
        sb.close()  # already gone: no error

    def test_context_manager_deletes_on_exception(self) -> None:
        made: list[codepod.Sandbox] = []
        with self.assertRaises(RuntimeError):
            with codepod.Sandbox.create(image=TINY, memory="64m", client=self.client) as sb:
                made.append(sb)
                raise RuntimeError("boom")
        wait_gone(self.client, made[0].id)

    def test_invalid_request_carries_the_problem(self) -> None:
        with self.assertRaises(codepod.InvalidError) as cm:
            codepod.Sandbox.create(image=TINY, memory="12zb", client=self.client)
        e = cm.exception
        self.assertEqual(e.status, 422)
        self.assertIn("12zb", e.detail)
        self.assertEqual(e.instance, "/api/v1/sandboxes")
        self.assertTrue(e.request_id)
        self.assertIsInstance(e, codepod.CodePodError)

    def test_wrong_key_is_unauthorized(self) -> None:
        bad = codepod.Client(self.client.server_url, "cpk_nope_nope")
        with self.assertRaises(codepod.UnauthorizedError):
            codepod.Sandbox.list(client=bad)

    def test_create_that_cannot_run_times_out_and_is_deleted(self) -> None:
        with self.assertRaises(codepod.TimeoutError) as cm:
            codepod.Sandbox.create(name="sdk-py-unplaceable", image=TINY, runner_labels={"gpu": "h100"},
                                   timeout=1, client=self.client)
        self.assertIsInstance(cm.exception, TimeoutError)  # the builtin too
        with self.assertRaises(codepod.NotFoundError):
            codepod.Sandbox.connect("sdk-py-unplaceable", client=self.client)

    def test_unreachable_server(self) -> None:
        c = codepod.Client("http://127.0.0.1:9", "cpk_x_y")
        with self.assertRaises(codepod.ConnectionError):
            codepod.Sandbox.list(client=c)

    def test_generic_call_by_operation_id(self) -> None:
        me = self.client.call("get-me")
        self.assertEqual(me["email"], "admin@localhost")


def wait_gone(c: codepod.Client, sandbox_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sandbox_id not in [s.id for s in codepod.Sandbox.list(client=c)]:
            return
        time.sleep(0.2)
    raise AssertionError(f"sandbox {sandbox_id} is still listed {timeout}s after delete")


if __name__ == "__main__":
    unittest.main()
