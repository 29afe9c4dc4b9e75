"""OCI features in the Python SDK, against a registry in the test process
on loopback (no CodePod server needed; it asks for an anonymous bearer
token as ghcr.io does): fetched, cached by digest, their
dependsOn fetched too; an unreachable registry is an error naming the
feature and the registry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from codepod import devcontainer as dcmod
from codepod.devcontainer import DevcontainerError


def _feature_tar(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, body in sorted(files.items()):
            ti = tarfile.TarInfo("./" + name)
            ti.size, ti.mode = len(body), 0o755 if name.endswith(".sh") else 0o644
            tf.addfile(ti, io.BytesIO(body.encode()))
    return buf.getvalue()


class _Registry:
    """The read side of the distribution API, for features pushed here."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, bytes] = {}  # "repo/manifests/tag-or-digest"
        self.requests: list[str] = []
        reg = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                reg.requests.append(self.path)
                if self.path.startswith("/token?"):  # anonymous token, as ghcr.io gives for public features
                    body = json.dumps({"token": "anon-" + self.path.split("scope=")[-1]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if not (self.headers.get("Authorization") or "").startswith("Bearer anon-repository"):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer realm="http://{reg.host}/token",service="{reg.host}",scope="repository:x:pull"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = self.path.removeprefix("/v2/")
                repo, kind, key = path.rpartition("/blobs/") if "/blobs/" in path else path.rpartition("/manifests/")
                body = reg.blobs.get(key) if kind == "/blobs/" else reg.manifests.get(repo + "/" + key)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if kind == "/manifests/":
                    self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                    self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
                self.end_headers()
                self.wfile.write(body)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = f"localhost:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def push(self, repo_tag: str, files: dict[str, str]) -> None:
        repo, _, tag = repo_tag.rpartition(":")
        layer = _feature_tar(files)
        ld = "sha256:" + hashlib.sha256(layer).hexdigest()
        cfg = b"{}"
        cd = "sha256:" + hashlib.sha256(cfg).hexdigest()
        self.blobs[ld], self.blobs[cd] = layer, cfg
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.devcontainers", "digest": cd, "size": len(cfg)},
                        "layers": [{"mediaType": "application/vnd.devcontainers.layer.v1+tar", "digest": ld, "size": len(layer)}]}).encode()
        self.manifests[repo + "/" + tag] = m
        self.manifests[repo + "/sha256:" + hashlib.sha256(m).hexdigest()] = m

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


class OCIFeatureTest(unittest.TestCase):
    def setUp(self) -> None:
        self.reg = _Registry()
        self.addCleanup(self.reg.close)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        env = mock.patch.dict(os.environ, {"XDG_CACHE_HOME": os.path.join(self.tmp, "cache")})
        env.start()
        self.addCleanup(env.stop)

    def project(self, features: dict[str, object]) -> dcmod.Loaded:
        d = os.path.join(self.tmp, "proj", ".devcontainer")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "devcontainer.json"), "w", encoding="utf-8") as f:
            json.dump({"image": "codepod/tiny:latest", "features": features}, f)
        return dcmod.load_config(os.path.join(self.tmp, "proj"))

    def test_fetch_depends_on_and_cache(self) -> None:
        h = self.reg.host
        self.reg.push("features/base:1", {"devcontainer-feature.json": '{"id": "base", "options": {"flavour": {"type": "string", "default": "plain"}}}',
                                          "install.sh": "#!/bin/sh\n"})
        self.reg.push("features/hello:1", {"devcontainer-feature.json": json.dumps({
            "id": "hello", "options": {"who": {"type": "string", "default": "world"}},
            "dependsOn": {f"{h}/features/base:1": {"flavour": "strong"}}}),
            "install.sh": "#!/bin/sh\n", "bin/hello.sh": "#!/bin/sh\n"})
        build, archive = dcmod.plan_build(self.project({f"{h}/features/hello:1": {"who": "py"}}))
        assert build is not None and archive is not None
        self.assertEqual([f["id"] for f in build["features"]], [f"{h}/features/base:1", f"{h}/features/hello:1"])
        self.assertEqual(build["features"][0]["env"], {"FLAVOUR": "strong"})
        self.assertEqual(build["features"][1]["env"], {"WHO": "py"})
        with tarfile.open(fileobj=io.BytesIO(archive.data)) as tf:
            names = tf.getnames()
            mode = tf.getmember(".codepod-features/1/bin/hello.sh").mode
        self.assertIn(".codepod-features/0/install.sh", names)
        self.assertTrue(mode & 0o111, "bin/hello.sh lost its executable bit")
        blobs = sum("/blobs/" in r for r in self.reg.requests)
        self.assertEqual(blobs, 2)
        _, again = dcmod.plan_build(self.project({f"{h}/features/hello:1": {"who": "py"}}))
        assert again is not None
        self.assertEqual(again.digest, archive.digest, "the same features made two build contexts")
        self.assertEqual(sum("/blobs/" in r for r in self.reg.requests), blobs, "the second plan fetched blobs again")

    def test_lockfile(self) -> None:
        h = self.reg.host
        self.reg.push("features/hello:1", {"devcontainer-feature.json": '{"id": "hello", "version": "1.4.0"}', "install.sh": "#!/bin/sh\n"})
        ref = f"{h}/features/hello:1"
        loaded = self.project({ref: {}})
        lock_path = os.path.join(os.path.dirname(loaded.file), "devcontainer-lock.json")
        with open(lock_path, "w", encoding="utf-8") as f:
            f.write('{"features": {}}')
        dcmod.plan_build(loaded)  # completes the existing lockfile
        with open(lock_path, encoding="utf-8") as f:
            entry = json.load(f)["features"][ref]
        self.assertEqual(entry["version"], "1.4.0")
        self.assertTrue(entry["resolved"].startswith(f"{h}/features/hello@sha256:"), entry)
        self.assertTrue(entry["integrity"].startswith("sha256:"), entry)
        self.reg.close()  # offline: the lock pins what the cache holds
        build, _ = dcmod.plan_build(loaded)
        assert build is not None
        self.assertEqual([f["id"] for f in build["features"]], [ref])
        with open(lock_path, "w", encoding="utf-8") as f:
            json.dump({"features": {ref: dict(entry, integrity="sha256:" + "0" * 64)}}, f)
        with self.assertRaises(DevcontainerError) as cm:
            dcmod.plan_build(loaded)
        self.assertIn("devcontainer-lock.json says sha256:000", str(cm.exception))

    def test_unreachable_registry(self) -> None:
        h = self.reg.host
        self.reg.close()
        with self.assertRaises(DevcontainerError) as cm:
            dcmod.plan_build(self.project({f"{h}/features/go:1": "1.22"}))
        self.assertIn(f'feature "{h}/features/go:1": cannot fetch it from the registry {h}: ', str(cm.exception))
        with self.assertRaises(DevcontainerError) as cm:
            dcmod.plan_build(self.project({"go": "1.22"}))
        self.assertIn('feature "go": neither a local folder', str(cm.exception))


if __name__ == "__main__":
    unittest.main()
