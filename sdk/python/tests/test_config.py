"""The client falls back to the CLI's config file (what `codepod config set`
writes) after the environment, as gh and kubectl do."""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from unittest import mock

import codepod

from .support import client


class ConfigFileTest(unittest.TestCase):
    def setUp(self) -> None:
        real = client()  # skips without a server
        self.url = real.server_url
        self.key = os.environ["CODEPOD_API_KEY"]
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.xdg = tmp.name

    def write_config(self, settings: dict[str, str], base: str | None = None) -> str:
        path = os.path.join(base or self.xdg, "codepod", "config.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        return path

    def env(self, **extra: str) -> mock._patch_dict:  # type: ignore[name-defined]
        env = {k: v for k, v in os.environ.items() if k not in ("CODEPOD_SERVER_URL", "CODEPOD_API_KEY")}
        env["XDG_CONFIG_HOME"] = self.xdg
        env.update(extra)
        return mock.patch.dict(os.environ, env, clear=True)

    def test_config_file_only(self) -> None:
        self.write_config({"SERVER_URL": self.url, "API_KEY": self.key})
        with self.env():
            c = codepod.Client()
            self.assertEqual(c.server_url, self.url)
            self.assertTrue(c.call("get-me")["id"])
            self.assertIsInstance(codepod.Sandbox.list(), list)

    def test_home_config_when_xdg_unset(self) -> None:
        home = os.path.join(self.xdg, "home")
        self.write_config({"SERVER_URL": self.url, "API_KEY": self.key}, base=os.path.join(home, ".config"))
        with self.env(HOME=home):
            del os.environ["XDG_CONFIG_HOME"]
            self.assertTrue(codepod.Client().call("get-me")["id"])

    def test_environment_beats_file(self) -> None:
        self.write_config({"SERVER_URL": "http://127.0.0.1:1", "API_KEY": "cp_wrong"})
        with self.env(CODEPOD_SERVER_URL=self.url, CODEPOD_API_KEY=self.key):
            self.assertTrue(codepod.Client().call("get-me")["id"])
        # Each setting on its own: the URL from the environment, the key from the file.
        self.write_config({"SERVER_URL": "http://127.0.0.1:1", "API_KEY": self.key})
        with self.env(CODEPOD_SERVER_URL=self.url):
            self.assertTrue(codepod.Client().call("get-me")["id"])
        # A wrong key in the environment wins over a right one in the file.
        self.write_config({"SERVER_URL": self.url, "API_KEY": self.key})
        with self.env(CODEPOD_API_KEY="cp_wrong"):
            with self.assertRaises(codepod.UnauthorizedError):
                codepod.Client().call("get-me")

    def test_no_key_anywhere(self) -> None:
        with self.env():
            with self.assertRaises(ValueError) as cm:
                codepod.Client()
        self.assertIn("codepod config set API_KEY", str(cm.exception))
        self.assertIn(os.path.join(self.xdg, "codepod", "config.json"), str(cm.exception))

    def test_broken_file_is_named(self) -> None:
        path = self.write_config({})
        with open(path, "w", encoding="utf-8") as f:
            f.write("{not json")
        with self.env():
            with self.assertRaises(ValueError) as cm:
                codepod.Client()
        self.assertIn(path, str(cm.exception))
        # Explicit settings need no file.
        with self.env():
            self.assertTrue(codepod.Client(self.url, self.key).call("get-me")["id"])


if __name__ == "__main__":
    unittest.main()
