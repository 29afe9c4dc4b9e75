from __future__ import annotations

import unittest

import codepod

from .support import BASE, client, need_base


class RunCodeTest(unittest.TestCase):
    """run_code on one codepod/base sandbox shared by the cases."""

    sb: codepod.Sandbox

    @classmethod
    def setUpClass(cls) -> None:
        need_base()
        cls.sb = codepod.Sandbox.create(image=BASE, memory="512m", client=client())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.close()

    def test_state_survives(self) -> None:
        self.sb.run_code("x = 41")
        r = self.sb.run_code("x + 1")
        self.assertIsNone(r.error)
        self.assertEqual(r.results[-1]["text/plain"], "42")

    def test_traceback(self) -> None:
        r = self.sb.run_code("{}['missing']")
        self.assertIsNotNone(r.error)
        self.assertEqual((r.error.name, r.error.value), ("KeyError", "'missing'"))
        self.assertTrue(r.error.traceback)

    def test_html_and_stdout(self) -> None:
        r = self.sb.run_code("class H:\n    def _repr_html_(self): return '<i>x</i>'\nprint('out')\nH()")
        self.assertEqual(r.stdout, "out\n")
        self.assertEqual(r.results[-1]["text/html"], "<i>x</i>")

    def test_interrupt_keeps_context(self) -> None:
        self.sb.run_code("kept = 'yes'")
        r = self.sb.run_code("while True: pass", timeout=1)
        self.assertTrue(r.interrupted)
        self.assertEqual(r.error.name, "KeyboardInterrupt")
        self.assertEqual(self.sb.run_code("kept").results[-1]["text/plain"], "'yes'")

    def test_contexts(self) -> None:
        ctx = self.sb.create_code_context("javascript")
        self.sb.run_code("let n = 41", context=ctx)
        self.assertEqual(self.sb.run_code("n + 1", context=ctx).results[-1]["text/plain"], "42")
        self.assertIn(ctx.id, [c.id for c in self.sb.list_code_contexts()])
        self.sb.restart_code_context(ctx)
        self.assertEqual(self.sb.run_code("typeof n", context=ctx).results[-1]["text/plain"], "'undefined'")
        self.sb.delete_code_context(ctx)
        with self.assertRaises(codepod.NotFoundError):
            self.sb.run_code("1", context=ctx.id)
        r = self.sb.run_code("A=1; cd /tmp", language="bash")
        r = self.sb.run_code("echo $A $PWD; exit 4", language="bash")
        self.assertEqual((r.stdout, r.exit_code), ("1 /tmp\n", 4))


if __name__ == "__main__":
    unittest.main()
