from __future__ import annotations

import os
import tempfile
import unittest

import codepod

from .support import TINY, client

NON_UTF8 = bytes([0xFF, 0xFE, 0x00, 0xC3]) * 8 + bytes(range(256)) * 2


class FilesTest(unittest.TestCase):
    sb: codepod.Sandbox

    @classmethod
    def setUpClass(cls) -> None:
        cls.sb = codepod.Sandbox.create(image=TINY, memory="64m", client=client())

    @classmethod
    def tearDownClass(cls) -> None:
        cls.sb.close()

    def test_write_read_list_remove(self) -> None:
        f = self.sb.files
        self.assertEqual(f.write("/data/sub/blob.bin", NON_UTF8), len(NON_UTF8))
        self.assertEqual(f.read("/data/sub/blob.bin"), NON_UTF8)
        f.write("/data/note.txt", "héllo\n")
        self.assertEqual(f.read_text("/data/note.txt"), "héllo\n")
        f.mkdir("/data/empty/deeper")
        entries = {e.name: e for e in f.list("/data")}
        self.assertEqual(sorted(entries), ["empty", "note.txt", "sub"])
        self.assertEqual(entries["empty"].type, "dir")
        self.assertEqual((entries["note.txt"].size, entries["note.txt"].mode), (len("héllo\n".encode()), 0o644))
        self.assertEqual(entries["note.txt"].mode_string, "-rw-r--r--")

        with self.assertRaises((codepod.BadRequestError, codepod.ConflictError)):
            f.remove("/data/empty")
        f.remove("/data/empty", recursive=True)
        with self.assertRaises(codepod.NotFoundError):
            f.read("/data/empty")
        with self.assertRaises(codepod.BadRequestError):
            f.read("/data/sub")

    def test_streamed_write_from_a_file(self) -> None:
        with tempfile.TemporaryFile() as tmp:
            tmp.write(NON_UTF8 * 100)
            tmp.seek(0)
            self.assertEqual(self.sb.files.write("big.bin", tmp), len(NON_UTF8) * 100)
        self.assertEqual(self.sb.files.read("big.bin"), NON_UTF8 * 100)

    def test_upload_and_download_directories(self) -> None:
        with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as dst:
            for name, data in {"a.txt": b"alpha\n", "bin/blob": NON_UTF8, "deep/er/c": b"c"}.items():
                os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
                with open(os.path.join(src, name), "wb") as fh:
                    fh.write(data)
            os.symlink("a.txt", os.path.join(src, "link"))
            self.assertGreaterEqual(self.sb.files.upload_dir(src, "/up"), 3)
            self.assertEqual(self.sb.exec(["cat", "/up/link", "/up/deep/er/c"]).stdout, "alpha\nc")
            self.sb.files.download_dir("/up", dst)
            with open(os.path.join(dst, "bin", "blob"), "rb") as fh:
                self.assertEqual(fh.read(), NON_UTF8)
            self.assertEqual(os.readlink(os.path.join(dst, "link")), "a.txt")


if __name__ == "__main__":
    unittest.main()
