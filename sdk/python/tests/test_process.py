from __future__ import annotations

import threading
import unittest

import codepod

from .support import TINY, client


class ProcessTest(unittest.TestCase):
    sb: codepod.Sandbox

    @classmethod
    def setUpClass(cls) -> None:
        cls.sb = codepod.Sandbox.create(image=TINY, memory="64m", client=client())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.close()

    def test_start_list_reattach_stdin_wait(self) -> None:
        out: list[bytes] = []
        err: list[bytes] = []
        lock = threading.Lock()

        def add(buf: list[bytes]):
            def cb(b: bytes) -> None:
                with lock:
                    buf.append(b)
            return cb

        h = self.sb.process.start('echo start; echo warn >&2; while read l; do echo "got $l"; done',
                                  on_stdout=add(out), on_stderr=add(err))
        self.assertEqual(h.info.status, "running")
        self.assertIn(h.pid, [p.pid for p in self.sb.process.list()])
        h.send_stdin("a\n")

        # A second client (another SDK instance) reattaches by pid.
        sb2 = codepod.Sandbox.connect(self.sb.id, client=client())
        out2: list[bytes] = []
        h2 = sb2.process.connect(h.pid, on_stdout=add(out2))
        h2.send_stdin(b"b\n")
        h2.close_stdin()
        info = h.wait(timeout=60)
        h2.wait(timeout=60)
        self.assertEqual((info.status, info.exit_code), ("exited", 0))
        want = b"start\ngot a\ngot b\n"
        self.assertEqual(b"".join(out), want)
        self.assertEqual(b"".join(out2), want)
        self.assertEqual(b"".join(err), b"warn\n")
        o = h2.output("stdout", offset=6)
        self.assertEqual((o.data, o.eof, o.dropped), (b"got a\ngot b\n", True, 0))

    def test_signal_and_kill(self) -> None:
        h = self.sb.process.start(["sleep", "1000"])
        h.signal("STOP")
        info = h.kill()
        self.assertEqual((info.status, info.signal, info.exit_code), ("exited", "KILL", 137))

    def test_unknown_pid(self) -> None:
        with self.assertRaises(codepod.NotFoundError) as cm:
            self.sb.process.connect(999999)
        self.assertIn("999999", str(cm.exception))
