"""The in-tree build backend (_backend/codepod_build.py) that lets
`pip install ./sdk/python` work offline."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import sys
import tarfile
import tempfile
import unittest
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_backend(root: str = ROOT):  # type: ignore[no-untyped-def]
    path = os.path.join(root, "_backend", "codepod_build.py")
    spec = importlib.util.spec_from_file_location(f"codepod_build_{abs(hash(root))}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BackendTest(unittest.TestCase):
    def setUp(self) -> None:
        self.b = load_backend()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def test_toml_subset_parser_agrees_with_tomllib(self) -> None:
        if sys.version_info < (3, 11):
            self.skipTest("tomllib is Python 3.11+")
        import tomllib

        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            data = f.read()
        self.assertEqual(self.b.parse_toml_subset(data.decode()), tomllib.loads(data.decode()))
        with self.assertRaises(ValueError):
            self.b.parse_toml_subset("x = 1.5\n")

    def test_wheel(self) -> None:
        name = self.b.build_wheel(self.tmp)
        self.assertEqual(name, "codepod-0.1.0-py3-none-any.whl")
        with zipfile.ZipFile(os.path.join(self.tmp, name)) as z:
            names = z.namelist()
            self.assertIn("codepod/__init__.py", names)
            self.assertIn("codepod/py.typed", names)
            self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".pyc")])
            record = z.read("codepod-0.1.0.dist-info/RECORD").decode().splitlines()
            # RECORD lists every other file with its hash and size.
            self.assertEqual(sorted(r.split(",")[0] for r in record), sorted(names))
            for row in record:
                path, digest, size = row.split(",")
                if path.endswith("RECORD"):
                    self.assertEqual((digest, size), ("", ""))
                    continue
                data = z.read(path)
                want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), ("sha256=" + want, len(data)), path)
            meta = z.read("codepod-0.1.0.dist-info/METADATA").decode()
            wheel = z.read("codepod-0.1.0.dist-info/WHEEL").decode()
        self.assertIn("Name: codepod\nVersion: 0.1.0\n", meta)
        self.assertIn("Requires-Python: >=3.10\n", meta)
        self.assertIn("Description-Content-Type: text/markdown\n\n# codepod", meta)
        self.assertIn("Root-Is-Purelib: true\nTag: py3-none-any\n", wheel)

    def test_sdist_builds_the_same_wheel(self) -> None:
        name = self.b.build_sdist(self.tmp)
        self.assertEqual(name, "codepod-0.1.0.tar.gz")
        with tarfile.open(os.path.join(self.tmp, name)) as tar:
            members = tar.getnames()
            self.assertIn("codepod-0.1.0/PKG-INFO", members)
            self.assertIn("codepod-0.1.0/pyproject.toml", members)
            tar.extractall(self.tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(self.tmp)
        from_sdist = load_backend(os.path.join(self.tmp, "codepod-0.1.0"))
        out1, out2 = os.path.join(self.tmp, "1"), os.path.join(self.tmp, "2")
        os.mkdir(out1)
        os.mkdir(out2)
        w1 = self.b.build_wheel(out1)
        w2 = from_sdist.build_wheel(out2)
        with open(os.path.join(out1, w1), "rb") as f1, open(os.path.join(out2, w2), "rb") as f2:
            self.assertEqual(f1.read(), f2.read(), "the wheel from the sdist differs from the one from the tree")

    def test_editable(self) -> None:
        name = self.b.build_editable(self.tmp)
        with zipfile.ZipFile(os.path.join(self.tmp, name)) as z:
            self.assertEqual(z.read("__editable__.codepod.pth").decode().strip(), os.path.join(ROOT, "src"))


if __name__ == "__main__":
    unittest.main()
