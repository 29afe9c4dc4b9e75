"""Fetching devcontainer features from OCI registries
("ghcr.io/devcontainers/features/go:1"), as the Go SDK and the codepod CLI
do: the manifest's layer of type application/vnd.devcontainers.layer.v1+tar,
checked against its digest, unpacked into the same cache
(~/.cache/codepod/features/sha256-<manifest digest>/feature). Plain HTTP
only for a loopback registry. Anonymous access (a registry's bearer-token
challenge is answered without credentials)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

LAYER_TYPE = "application/vnd.devcontainers.layer.v1+tar"
_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def is_oci(ref: str) -> bool:
    host, slash, _ = ref.partition("/")
    return bool(slash) and not ref.startswith(("./", "../")) and "://" not in ref and (
        "." in host or ":" in host or host == "localhost")


def repo_of(ref: str) -> str:
    ref = ref.split("@", 1)[0]
    i = ref.rfind(":")
    if i > ref.rfind("/"):
        ref = ref[:i]
    return ref.lower()


def _split(ref: str) -> tuple[str, str, str]:
    """registry, repository, tag or digest."""
    host, _, rest = ref.partition("/")
    if "@" in rest:
        repo, _, want = rest.partition("@")
    else:
        i = rest.rfind(":")
        repo, want = (rest[:i], rest[i + 1:]) if i > rest.rfind("/") else (rest, "latest")
    return host, repo, want


def _loopback(host: str) -> bool:
    h = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:host.index("]")]
    return h == "localhost" or h == "::1" or re.fullmatch(r"127(\.\d{1,3}){3}", h) is not None


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "codepod", "features")


class _Registry:
    def __init__(self, host: str, repo: str) -> None:
        self.base = ("http" if _loopback(host) else "https") + "://" + host + "/v2/" + repo
        self.token: str | None = None

    def get(self, path: str, accept: str | None = None) -> tuple[bytes, Any]:
        for attempt in range(2):
            req = urllib.request.Request(self.base + path)
            if accept:
                req.add_header("Accept", accept)
            if self.token:
                req.add_unredirected_header("Authorization", "Bearer " + self.token)  # not to a blob redirect's host
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.read(), r.headers
            except urllib.error.HTTPError as e:
                challenge = e.headers.get("WWW-Authenticate", "")
                if e.code != 401 or attempt or not challenge.lower().startswith("bearer "):
                    raise
                params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
                q = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
                with urllib.request.urlopen(params["realm"] + ("?" + q if q else ""), timeout=60) as r:
                    t = json.load(r)
                self.token = t.get("token") or t.get("access_token")
        raise AssertionError("unreachable")


def lockfile_path(config_file: str) -> str:
    """devcontainer-lock.json beside config_file (.devcontainer-lock.json
    beside .devcontainer.json), as the reference CLI names it."""
    name = "devcontainer-lock.json"
    if os.path.basename(config_file).startswith("."):
        name = "." + name
    return os.path.join(os.path.dirname(config_file), name)


def fetch(ref: str, short: str, pin: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """The folder of OCI feature ref (fetched into the cache unless there),
    the manifest it resolved to (registry/repository@sha256:…) and its
    layer's digest. pin is ref's devcontainer-lock.json entry, if any."""
    host, repo, want = _split(ref)
    want_layer = ""
    if pin and pin.get("resolved"):
        want, want_layer = pin["resolved"].rpartition("@")[2], pin.get("integrity") or ""
    reg = _Registry(host, repo)
    try:
        if want.startswith("sha256:"):
            digest, manifest = want, None
        else:
            body, headers = reg.get("/manifests/" + want, _ACCEPT)
            digest = headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
            manifest = body
        folder = os.path.join(cache_dir(), digest.replace(":", "-"))
        resolved = f"{host}/{repo}@{digest}"
        if os.path.isfile(os.path.join(folder, "layer")):
            with open(os.path.join(folder, "layer"), encoding="utf-8") as f:
                cached = f.read()
            if want_layer and cached != want_layer:
                raise ValueError(f'feature "{ref}": the cached {digest} has the layer {cached}, devcontainer-lock.json says {want_layer}: remove {folder}')
            return os.path.join(folder, "feature"), resolved, cached
        if manifest is None:
            manifest, _ = reg.get("/manifests/" + digest, _ACCEPT)
        layers = [l for l in json.loads(manifest).get("layers") or [] if l.get("mediaType") == LAYER_TYPE]
        if not layers:
            raise ValueError(f"{host}/{repo}@{digest} is not a devcontainer feature: no layer of type {LAYER_TYPE}")
        if want_layer and layers[0]["digest"] != want_layer:
            raise ValueError(f'feature "{ref}": {resolved} has the layer {layers[0]["digest"]}, devcontainer-lock.json\'s "integrity" says '
                             f'{want_layer}: the artifact changed since it was locked')
        blob, _ = reg.get("/blobs/" + layers[0]["digest"])
    except (OSError, KeyError) as e:
        raise ValueError(
            f'feature "{ref}": cannot fetch it from the registry {host}: {e}; CodePod fetches OCI features on this machine, '
            f'so the registry must be reachable from here; without a registry, copy the feature\'s folder into .devcontainer/ '
            f'and name it "./{short}"') from None
    got = "sha256:" + hashlib.sha256(blob).hexdigest()
    if got != layers[0]["digest"]:
        raise ValueError(f'feature "{ref}": the registry sent a layer hashing to {got}, not {layers[0]["digest"]}')
    os.makedirs(cache_dir(), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fetch-", dir=cache_dir())
    try:
        _extract(blob, os.path.join(tmp, "feature"))
        with open(os.path.join(tmp, "layer"), "w", encoding="utf-8") as f:
            f.write(got)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not os.path.isfile(os.path.join(folder, "layer")):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return os.path.join(folder, "feature"), resolved, got


def _extract(blob: bytes, dest: str) -> None:
    os.makedirs(dest)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tf:
        for m in tf.getmembers():
            rel = posixpath.normpath(m.name.removeprefix("./"))
            if rel == ".":
                continue
            if rel.startswith(("/", "../")) or rel == "..":
                raise ValueError(f"entry {m.name!r} leaves the feature's folder")
            p = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if m.isdir():
                os.makedirs(p, exist_ok=True)
            elif m.isfile():
                with open(p, "wb") as f:
                    shutil.copyfileobj(tf.extractfile(m), f)  # type: ignore[arg-type]
                os.chmod(p, (m.mode & 0o755) | 0o644)
            elif m.issym():
                target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), m.linkname))
                if m.linkname.startswith("/") or target == ".." or target.startswith("../"):
                    raise ValueError(f"symbolic link {m.name!r} leaves the feature's folder")
                os.symlink(m.linkname, p)
            else:
                raise ValueError(f"entry {m.name!r} is not a file, folder or symbolic link")
