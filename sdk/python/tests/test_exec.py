from __future__ import annotations

import time
import unittest

import codepod

from .support import TINY, client


class ExecTest(unittest.TestCase):
    sb: codepod.Sandbox

    @classmethod
    def setUpClass(cls) -> None:
        cls.sb = codepod.Sandbox.create(image=TINY, memory="64m", client=client())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.close()

    def test_echo(self) -> None:
        r = self.sb.exec(["echo", "hello", "world"])
        self.assertEqual((r.stdout, r.stderr, r.exit_code, r.timed_out), ("hello world\n", "", 0, False))
        self.assertTrue(r.ok)

    def test_env_cwd_stdin_and_exit_code(self) -> None:
        r = self.sb.exec('echo "$A" "$(pwd)"; cat; echo oops >&2; exit 7', env={"A": "x y"}, cwd="/tmp",
                         stdin="from stdin\n")
        self.assertEqual((r.stdout, r.stderr, r.exit_code), ("x y /tmp\nfrom stdin\n", "oops\n", 7))
        self.assertFalse(r.ok)

    def test_binary_output(self) -> None:
        r = self.sb.exec(r"printf '\000\377\376ok'")
        self.assertEqual(r.stdout_bytes, b"\x00\xff\xfeok")

    def test_timeout_fires(self) -> None:
        start = time.monotonic()
        r = self.sb.exec("echo started; sleep 30", timeout=1)
        self.assertTrue(r.timed_out)
        self.assertEqual((r.signal, r.exit_code, r.stdout), ("KILL", 137, "started\n"))
        self.assertLess(time.monotonic() - start, 10)

    def test_truncated_output(self) -> None:
        r = self.sb.exec("yes | head -c 5000", max_output_bytes=100)
        self.assertEqual(len(r.stdout_bytes), 100)
        self.assertTrue(r.stdout_truncated)

    def test_stream_iterates_output_as_it_comes(self) -> None:
        with self.sb.exec_stream("echo out; echo err >&2; tr a-z A-Z; exit 4", stdin=b"shout\n") as s:
            chunks = list(s)
        out = b"".join(c.data for c in chunks if c.stream == "stdout")
        err = b"".join(c.data for c in chunks if c.stream == "stderr")
        self.assertEqual((out, err), (b"out\nSHOUT\n", b"err\n"))
        assert s.exit_status is not None
        self.assertEqual(s.exit_status.exit_code, 4)

    def test_stream_callbacks_and_piped_stdin(self) -> None:
        got: list[bytes] = []
        s = self.sb.exec_stream(["cat"], stdin=codepod.PIPE)
        s.write_stdin("one\n")
        s.write_stdin(b"two\n")
        s.close_stdin()
        status = s.wait(on_stdout=got.append)
        self.assertEqual((b"".join(got), status.exit_code), (b"one\ntwo\n", 0))

    def test_stream_first_output_before_the_end_and_timeout(self) -> None:
        s = self.sb.exec_stream("echo first; sleep 30", timeout=2)
        first = next(iter(s))
        self.assertEqual(first.data, b"first\n")
        status = s.wait()
        self.assertTrue(status.timed_out)
        self.assertEqual(status.exit_code, 137)

    def test_exec_on_a_missing_sandbox(self) -> None:
        ghost = codepod.Sandbox(self.sb.client, codepod.SandboxInfo.from_dict({**self.sb.info.to_dict(), "id": "sb_nope"}))
        with self.assertRaises(codepod.NotFoundError):
            ghost.exec("true")
        with self.assertRaises(codepod.NotFoundError):
            ghost.exec_stream("true")


if __name__ == "__main__":
    unittest.main()
