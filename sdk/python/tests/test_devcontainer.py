from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import unittest

import codepod
from codepod.devcontainer import DevcontainerError, parse_jsonc

from .support import TINY, client

# The JSONC cases of the Go package's TestParseJSONC (devcontainer/parse_test.go).
JSONC_CASES = [
    ("line comment after a value", '{"containerEnv": {"A": "1"} // trailing\n}', {"A": "1"}),
    ("block comment", '{/* x */ "containerEnv": {"A": /* y */ "1"}}', {"A": "1"}),
    ("trailing commas", '{"containerEnv": {"A": "1", "B": "2",},}', {"A": "1", "B": "2"}),
    ("globs in strings are not comments", '{"containerEnv": {"P":"/opt/*/bin","Q":"/usr/*/lib"}}', {"P": "/opt/*/bin", "Q": "/usr/*/lib"}),
    ("// inside a string", '{"containerEnv": {"U": "http://x.test//a", "C": "a /* b */ c"}}', {"U": "http://x.test//a", "C": "a /* b */ c"}),
    ("comment right after a glob string", '{"containerEnv": {"P": "/opt/*/bin" /* real */, "Q": "*/"}}', {"P": "/opt/*/bin", "Q": "*/"}),
    ("escaped quote before a comma", '{"containerEnv": {"Q": "say \\"hi\\",", "R": "]"},}', {"Q": 'say "hi",', "R": "]"}),
]


class JSONCTest(unittest.TestCase):
    def test_cases(self) -> None:
        for name, src, env in JSONC_CASES:
            with self.subTest(name):
                self.assertEqual(parse_jsonc(src)["containerEnv"], env)

    def test_errors(self) -> None:
        for src in ('{"image": }', '{"image": "x" /* open'):
            with self.subTest(src), self.assertRaises(DevcontainerError) as cm:
                parse_jsonc(src)
            self.assertIn("not valid JSON", str(cm.exception))


def write(root: str, files: dict[str, str]) -> None:
    for rel, body in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(body)


class CreateFromDevcontainerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = client()

    def test_build_feature_workspace(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            project = os.path.join(tmp, "pyproj")
            write(project, {
                ".devcontainer/devcontainer.json": """{
  // build with an argument and a target, one local feature
  "build": {"dockerfile": "Dockerfile", "args": {"WHO": "${localWorkspaceFolderBasename}"}, "target": "dev",},
  "features": {"./hi": {"greeting": "hej"}},
  "containerEnv": {"GLOB": "/opt/*/bin"},
}""",
                ".devcontainer/Dockerfile": f"FROM {TINY} AS dev\nARG WHO\nRUN echo \"$WHO\" > /who\nFROM dev AS prod\nRUN echo prod > /who\n",
                ".devcontainer/hi/devcontainer-feature.json": '{"id": "hi", "options": {"greeting": {"type": "string", "default": "hello"}}, "containerEnv": {"HI_DIR": "/opt/hi"}}',
                ".devcontainer/hi/install.sh": '#!/bin/sh\necho "$GREETING" > /greeting\n',
                "main.py": f"print({secrets.token_hex(8)!r})\n",
            })
            sb = codepod.Sandbox.create_from_devcontainer(project, memory="64m", timeout=300, client=self.client)
            try:
                out = sb.exec(["sh", "-c", 'cat /who /greeting; echo "$GLOB $HI_DIR"; head -c 5 /workspaces/pyproj/main.py'])
                self.assertEqual(out.stdout, "pyproj\nhej\n/opt/*/bin /opt/hi\nprint")
                self.assertTrue(sb.info.image.startswith("codepod-build:"))
            finally:
                sb.close()
                subprocess.run(["docker", "rmi", "-f", sb.info.image, sb.info.image + "-base"], capture_output=True)

    def test_refused_configs(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            write(tmp, {
                "oci/.devcontainer.json": '{"image": "x", "features": {"localhost:1/features/go:1": {}}}',
                "priv/.devcontainer/devcontainer.json": '{"image": "x", "privileged": true}',
                "nodf/.devcontainer/devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
            })
            for d, want in (("oci", 'feature "localhost:1/features/go:1": cannot fetch it from the registry localhost:1'), ("priv", '"privileged" is refused'),
                            ("nodf", 'build.dockerfile "Dockerfile": no such file')):
                with self.subTest(d), self.assertRaises(DevcontainerError) as cm:
                    codepod.Sandbox.create_from_devcontainer(os.path.join(tmp, d), client=self.client)
                self.assertIn(want, str(cm.exception))
