from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from .support import client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ReadmeTest(unittest.TestCase):
    def test_quickstart_runs(self) -> None:
        client()  # skips without a server
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            block = re.search(r"```python\n(.*?)```", f.read(), re.S)
        self.assertIsNotNone(block, "README.md has no ```python block")
        assert block is not None
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        out = subprocess.run([sys.executable, "-c", block.group(1)], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^hello from [a-z0-9-]+ - exit code 0\nhi there\n\ntimed out: True\n$")


if __name__ == "__main__":
    unittest.main()
