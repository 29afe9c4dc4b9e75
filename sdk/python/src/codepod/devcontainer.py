"""Creating a sandbox from a project's devcontainer.json, the way
``codepod sandbox create --devcontainer`` does: find the config, parse it
(JSON with comments and trailing commas), substitute its variables, refuse
what the default policy refuses, pack and upload the build context (with
.dockerignore, local features and OCI features fetched from their registry) and the project folder, create, wait."""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _ocifeature as _oci
from .errors import NotFoundError

__all__ = ["parse_jsonc", "find_config", "load_config", "DevcontainerError"]


class DevcontainerError(ValueError):
    """A devcontainer.json that cannot be used, with a message naming the
    file and the property."""


def parse_jsonc(text: str) -> Any:
    """Parses JSON with ``//`` and ``/* */`` comments and trailing commas
    (JSONC, as VS Code writes it). Text inside strings is never touched:
    ``"/opt/*/bin"`` stays as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise DevcontainerError("not valid JSON with comments: a /* comment is not closed")
            out.append(" ")
            i = j + 2
        else:
            out.append(c)
            i += 1
    std = "".join(out)
    # Trailing commas: a comma followed (outside strings) only by blanks and
    # a closing bracket.
    cleaned: list[str] = []
    i, n = 0, len(std)
    while i < n:
        c = std[i]
        if c == '"':
            j = i + 1
            while j < n and std[j] != '"':
                j += 2 if std[j] == "\\" else 1
            cleaned.append(std[i : j + 1])
            i = j + 1
            continue
        if c == ",":
            j = i + 1
            while j < n and std[j] in " \t\r\n":
                j += 1
            if j < n and std[j] in "]}":
                i += 1
                continue
        cleaned.append(c)
        i += 1
    try:
        return json.loads("".join(cleaned))
    except ValueError as e:
        raise DevcontainerError(f"not valid JSON with comments: {e}") from None


def find_config(folder: str, config: str | None = None) -> str:
    """The project's devcontainer.json, found like the reference CLI:
    ``config`` (relative to folder), else ``.devcontainer/devcontainer.json``,
    else ``.devcontainer.json``, else the only ``.devcontainer/<name>/devcontainer.json``."""
    if os.path.isfile(folder):
        return folder
    if config:
        p = config if os.path.isabs(config) else os.path.join(folder, config)
        if not os.path.isfile(p):
            raise DevcontainerError(f"devcontainer config {p}: no such file")
        return p
    for p in (os.path.join(folder, ".devcontainer", "devcontainer.json"), os.path.join(folder, ".devcontainer.json")):
        if os.path.isfile(p):
            return p
    base = os.path.join(folder, ".devcontainer")
    subs = sorted(
        os.path.join(base, d, "devcontainer.json")
        for d in (os.listdir(base) if os.path.isdir(base) else [])
        if os.path.isfile(os.path.join(base, d, "devcontainer.json"))
    )
    if len(subs) == 1:
        return subs[0]
    if not subs:
        raise DevcontainerError(
            f"no devcontainer config in {folder}: looked for .devcontainer/devcontainer.json, "
            ".devcontainer.json and .devcontainer/<name>/devcontainer.json"
        )
    rel = ", ".join(os.path.relpath(s, folder) for s in subs)
    raise DevcontainerError(f"{folder} has {len(subs)} devcontainer configs; choose one with config=: {rel}")


def workspace_folder(config_file: str) -> str:
    """The project folder a config belongs to."""
    d = os.path.dirname(os.path.abspath(config_file))
    if os.path.basename(d) == ".devcontainer":
        return os.path.dirname(d)
    if os.path.basename(os.path.dirname(d)) == ".devcontainer":
        return os.path.dirname(os.path.dirname(d))
    return d


def devcontainer_id(local_folder: str, config_file: str) -> str:
    """${devcontainerId} as the spec computes it."""
    labels = {"devcontainer.config_file": config_file, "devcontainer.local_folder": local_folder}
    raw = json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    n = int.from_bytes(hashlib.sha256(raw).digest(), "big")
    digits = "0123456789abcdefghijklmnopqrstuv"
    s = ""
    while n:
        n, r = divmod(n, 32)
        s = digits[r] + s
    return s.rjust(52, "0")


_VAR = re.compile(r"\$\{[^}]+\}")


def _expand(s: str, v: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(0)[2:-1]
        if name in v:
            return v[name]
        kind, _, arg = name.partition(":")
        if arg and kind in ("localEnv", "env"):
            key, _, default = arg.partition(":")
            return os.environ.get(key, default)
        return m.group(0)

    return _VAR.sub(one, s)


def _expand_tree(x: Any, v: Mapping[str, str]) -> Any:
    if isinstance(x, str):
        return _expand(x, v)
    if isinstance(x, list):
        return [_expand_tree(e, v) for e in x]
    if isinstance(x, dict):
        return {k: _expand_tree(e, v) for k, e in x.items()}
    return x


@dataclass
class Loaded:
    file: str
    local: str
    config: dict[str, Any]

    @property
    def container_workspace(self) -> str:
        return self.config.get("workspaceFolder") or "/workspaces/" + os.path.basename(self.local)


def load_config(path: str, config: str | None = None) -> Loaded:
    """Finds, parses and substitutes a devcontainer.json and checks it
    against the default policy."""
    file = find_config(path, config)
    with open(file, encoding="utf-8") as f:
        try:
            raw = parse_jsonc(f.read())
        except DevcontainerError as e:
            raise DevcontainerError(f"{file}: {e}") from None
    if not isinstance(raw, dict):
        raise DevcontainerError(f"{file}: devcontainer.json must be a JSON object")
    local = workspace_folder(file)
    v = {
        "localWorkspaceFolder": local,
        "localWorkspaceFolderBasename": os.path.basename(local),
        "devcontainerId": devcontainer_id(local, os.path.abspath(file)),
    }
    ws = raw.get("workspaceFolder")
    cws = _expand(ws, v) if isinstance(ws, str) and ws else "/workspaces/" + os.path.basename(local)
    v.update(containerWorkspaceFolder=cws, containerWorkspaceFolderBasename=posixpath.basename(cws))
    dc = _expand_tree(raw, v)
    _check_policy(file, "", dc)
    if not dc.get("image") and not dc.get("build"):
        raise DevcontainerError(f'{file}: no "image" and no "build": name an image or a Dockerfile')
    return Loaded(file, local, dc)


def _check_policy(file: str, prefix: str, c: Mapping[str, Any]) -> None:
    refused = []
    if c.get("privileged") is True:
        refused.append((prefix + "privileged", "a privileged container controls the runner's host"))
    if c.get("capAdd"):
        refused.append((prefix + "capAdd", f"extra capabilities ({', '.join(c['capAdd'])}) weaken the sandbox"))
    if c.get("securityOpt"):
        refused.append((prefix + "securityOpt", "security options can turn off seccomp and AppArmor"))
    if c.get("runArgs"):
        refused.append((prefix + "runArgs", "raw docker run arguments bypass every other check"))
    for i, m in enumerate(c.get("mounts") or []):
        kind = m.get("type") if isinstance(m, dict) else dict(
            p.split("=", 1) for p in str(m).split(",") if "=" in p).get("type")
        if kind == "bind":
            refused.append((f"{prefix}mounts[{i}]", "a bind mount of the host; use a named volume (type=volume)"))
        elif prefix:
            refused.append((f"{prefix}mounts[{i}]", "a feature's volume mounts are not applied yet; mount the volume in devcontainer.json's \"mounts\" instead"))
    if "initializeCommand" in c and not prefix:
        refused.append(("initializeCommand", "it would run on your machine, not in the sandbox"))
    if prefix and c.get("init") is True:
        refused.append((prefix + "init", "the sandbox's agent is its init (PID 1)"))
    if refused:
        parts = "; ".join(f'"{p}" is refused: {why}' for p, why in refused)
        raise DevcontainerError(f"{file}: devcontainer.json: {parts}; remove it (or ask the admin to allow it)")


# --- packing ---------------------------------------------------------------


def _ignore_matcher(patterns: list[str]) -> Any:
    """A .dockerignore-style matcher: the last matching pattern decides, a
    ! pattern keeps; a pattern matching a parent matches what is below it."""
    rules = []
    for p in patterns:
        p = p.strip()
        if not p or p.startswith("#"):
            continue
        neg = p.startswith("!")
        p = posixpath.normpath(p.lstrip("!").strip().lstrip("/"))
        rules.append((neg, p))

    def match(rel: str) -> bool:
        parts = rel.split("/")
        excluded = False
        for neg, p in rules:
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if fnmatch.fnmatchcase(sub, p) or (p.startswith("**/") and fnmatch.fnmatchcase(sub, p[3:])) or (
                    p.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], p[3:])
                ):
                    excluded = not neg
                    break
        return excluded

    return match


@dataclass
class _Archive:
    data: bytes
    digest: str


def _pack(entries: list[tuple[str, str]], skip: Any = None, deterministic: bool = True) -> _Archive:
    """Tars (dir, prefix) trees, sorted, leaving out what skip(rel) says."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for root, prefix in entries:
            if prefix:
                _add(tf, root, prefix, deterministic)
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
                keep_dirs = []
                for d in dirnames:
                    rel = d if rel_dir == "." else rel_dir + "/" + d
                    if skip and skip(rel):
                        continue
                    keep_dirs.append(d)
                    _add(tf, os.path.join(dirpath, d), posixpath.join(prefix, rel) if prefix else rel, deterministic)
                dirnames[:] = keep_dirs
                for fname in sorted(filenames):
                    rel = fname if rel_dir == "." else rel_dir + "/" + fname
                    if skip and skip(rel):
                        continue
                    _add(tf, os.path.join(dirpath, fname), posixpath.join(prefix, rel) if prefix else rel, deterministic)
    data = buf.getvalue()
    return _Archive(data, "sha256:" + hashlib.sha256(data).hexdigest())


def _add(tf: tarfile.TarFile, path: str, name: str, deterministic: bool) -> None:
    ti = tf.gettarinfo(path, arcname=name)
    if not (ti.isfile() or ti.isdir() or ti.issym()):
        return
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if deterministic:
        ti.mtime = 0
    if ti.isfile():
        with open(path, "rb") as f:
            tf.addfile(ti, f)
    else:
        tf.addfile(ti)


def _option_env(name: str) -> str:
    return re.sub(r"^[\d_]+", "_", re.sub(r"[^\w_]", "_", name)).upper()


def _features(loaded: Loaded) -> list[dict[str, Any]]:
    feats = loaded.config.get("features") or {}
    base = os.path.dirname(loaded.file)
    out: list[dict[str, Any]] = []

    def listed(dep: str) -> bool:
        return any(dep == g["ref"] or _oci.is_oci(dep) and g.get("repo") == _oci.repo_of(dep) for g in out) or any(
            dep == r or _oci.is_oci(dep) and _oci.is_oci(r) and _oci.repo_of(r) == _oci.repo_of(dep) for r in feats)

    lock_path = _oci.lockfile_path(loaded.file)
    lock: dict[str, Any] | None = None
    if os.path.isfile(lock_path):
        with open(lock_path, encoding="utf-8") as f:
            lock = parse_jsonc(f.read())
        if not isinstance(lock, dict):
            raise DevcontainerError(f"{lock_path}: not an object")
        lock.setdefault("features", {})
    lock_changed = False
    queue: list[tuple[str, Any, str]] = [(ref, feats[ref], "") for ref in sorted(feats)]
    while queue:
        ref, opts, by = queue.pop(0)
        if by and any(ref == g["ref"] or _oci.is_oci(ref) and g.get("repo") == _oci.repo_of(ref) for g in out):
            continue
        short = ref.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
        repo = None
        if ref.startswith("./") or ref.startswith("../"):
            if by:
                raise DevcontainerError(f'feature "{by}" dependsOn "{ref}", which the config does not list: add it to "features"')
            folder = os.path.join(base, ref)
        elif _oci.is_oci(ref):
            pin = (lock or {}).get("features", {}).get(ref)
            try:
                folder, resolved, integrity = _oci.fetch(ref, short, pin)
            except ValueError as e:
                raise DevcontainerError(str(e)) from None
            repo = _oci.repo_of(ref)
            if lock is not None and pin is None:
                lock_entry = {"resolved": resolved, "integrity": integrity}
                lock["features"][ref] = lock_entry
                lock_changed = True
        else:
            raise DevcontainerError(
                f'feature "{ref}": neither a local folder ("./{short}") nor a registry reference ("ghcr.io/owner/features/{short}:1"); '
                "the short names of the retired devcontainers/features repository and tarball URLs are not supported"
            )
        try:
            with open(os.path.join(folder, "devcontainer-feature.json"), encoding="utf-8") as f:
                meta = parse_jsonc(f.read())
        except OSError as e:
            raise DevcontainerError(f'feature "{ref}": {e} (a feature is a folder with devcontainer-feature.json and install.sh)') from None
        if not os.path.isfile(os.path.join(folder, "install.sh")):
            raise DevcontainerError(f'feature "{ref}": a feature needs an install.sh')
        _check_policy(loaded.file, f'features["{ref}"].', meta)
        if isinstance(opts, str):
            opts = {"version": opts}
        env = {_option_env(k): _opt_str(o["default"]) for k, o in (meta.get("options") or {}).items() if "default" in o}
        for k, val in (opts or {}).items():
            env[_option_env(k)] = _opt_str(val)
        depends = meta.get("dependsOn") or {}
        if repo and lock is not None and pin is None:
            if meta.get("version"):
                lock_entry["version"] = meta["version"]
            if depends:
                lock_entry["dependsOn"] = sorted(depends)
        out.append({"ref": ref, "repo": repo, "id": meta.get("id") or (short if repo else os.path.basename(folder)), "folder": folder,
                    "env": env, "container_env": meta.get("containerEnv") or {},
                    "after": list(meta.get("installsAfter") or []) + sorted(depends)})
        for dep in sorted(depends):
            if not listed(dep):
                queue.append((dep, depends[dep], ref))
    if lock_changed and lock is not None:
        order_keys = ("version", "resolved", "integrity", "dependsOn")
        lock["features"] = {k: {f: v[f] for f in order_keys if f in v} for k, v in sorted(lock["features"].items())}
        with open(lock_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(lock, indent=2) + "\n")
    # A dependsOn naming a feature by another tag of its repository waits for it.
    for f in out:
        f["after"] = [next((g["ref"] for g in out if g.get("repo") and _oci.is_oci(a) and g["repo"] == _oci.repo_of(a)), a)
                      for a in f["after"]]
    # Kahn's order: a feature after those it installsAfter/dependsOn.
    order, done = [], set()
    while len(order) < len(out):
        ready = [f for f in out if f["ref"] not in done and all(
            a in done or not any(a in (g["ref"], g["id"]) for g in out)
            or any(a in (g["ref"], g["id"]) and g["ref"] in done for g in out) for a in f["after"])]
        if not ready:
            raise DevcontainerError("features depend on each other in a cycle (dependsOn/installsAfter)")
        order.append(ready[0])
        done.add(ready[0]["ref"])
    return order


def _opt_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def plan_build(loaded: Loaded) -> tuple[dict[str, Any] | None, _Archive | None]:
    """The create request's "build" and its context archive (None, None for
    a plain image without features)."""
    dc, base = loaded.config, os.path.dirname(loaded.file)
    feats = _features(loaded)
    b = dc.get("build") or None
    if b is None and not feats:
        return None, None
    req: dict[str, Any] = {}
    entries: list[tuple[str, str]] = []
    skip = None
    if b and b.get("dockerfile"):
        ctx = os.path.normpath(os.path.join(base, b.get("context") or "."))
        dockerfile = os.path.normpath(os.path.join(base, b["dockerfile"]))
        if not os.path.isfile(dockerfile):
            raise DevcontainerError(f'build.dockerfile "{b["dockerfile"]}": no such file at {dockerfile} (it is relative to the folder of devcontainer.json)')
        rel = os.path.relpath(dockerfile, ctx).replace(os.sep, "/")
        if rel.startswith(".."):
            raise DevcontainerError(f'build.dockerfile "{b["dockerfile"]}" is outside build.context: the Python SDK sends Dockerfiles inside the context only')
        req["dockerfile"] = rel
        for k in ("args", "target"):
            if b.get(k):
                req[k] = b[k]
        if b.get("cacheFrom"):
            req["cache_from"] = b["cacheFrom"] if isinstance(b["cacheFrom"], list) else [b["cacheFrom"]]
        entries.append((ctx, ""))
        ignore = os.path.join(ctx, ".dockerignore")
        if os.path.isfile(ignore):
            with open(ignore, encoding="utf-8") as f:
                m = _ignore_matcher(f.read().splitlines())
            skip = lambda rel: rel not in (".dockerignore", req["dockerfile"]) and m(rel)  # noqa: E731
    elif dc.get("image"):
        req["image"] = dc["image"]
    else:
        raise DevcontainerError('"build" needs a "dockerfile"')
    features = []
    for i, f in enumerate(feats):
        d = f".codepod-features/{i}"
        entries.append((f["folder"], d))
        features.append({"id": f["ref"], "dir": d, "env": f["env"] or None, "container_env": f["container_env"] or None})
    if features:
        req["features"] = [{k: v for k, v in f.items() if v is not None} for f in features]
    # The features' folders are not below the context: skip applies to the
    # context's own entries only.
    archive = _pack_entries(entries, skip)
    req["context"] = archive.digest
    return req, archive


def _pack_entries(entries: list[tuple[str, str]], skip: Any) -> _Archive:
    if not entries:
        return _pack([])
    first, rest = entries[0], entries[1:]
    if first[1] == "":
        # One tar: the context (with skip) then the features (without).
        buf_entries = [first] + rest
        return _pack_with(buf_entries, skip)
    return _pack(entries)


def _pack_with(entries: list[tuple[str, str]], skip: Any) -> _Archive:
    # skip only for the entry with an empty prefix (the context).
    def skip_for(prefix: str) -> Any:
        return skip if prefix == "" else None

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for root, prefix in entries:
            sub = _pack([(root, prefix)], skip_for(prefix))
            with tarfile.open(fileobj=io.BytesIO(sub.data)) as src:
                for ti in src.getmembers():
                    tf.addfile(ti, src.extractfile(ti) if ti.isfile() else None)
    data = buf.getvalue()
    return _Archive(data, "sha256:" + hashlib.sha256(data).hexdigest())


def pack_workspace(folder: str, skip_gitignored: bool = False) -> _Archive:
    """The project folder as a tar, .git included; with skip_gitignored the
    top-level .gitignore's patterns are left out."""
    skip = None
    gi = os.path.join(folder, ".gitignore")
    if skip_gitignored and os.path.isfile(gi):
        pats = []
        with open(gi, encoding="utf-8") as f:
            for line in f.read().splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                neg, p = line.startswith("!"), line.lstrip("!").rstrip("/")
                p = p[1:] if p.startswith("/") else (p if "/" in p else "**/" + p)
                pats.append(("!" if neg else "") + p)
        m = _ignore_matcher(pats)
        skip = lambda rel: not (rel == ".git" or rel.startswith(".git/")) and m(rel)  # noqa: E731
    return _pack([(folder, "")], skip, deterministic=False)


def upload(client: Any, archive: _Archive) -> None:
    """Uploads archive unless the server has it (HEAD)."""
    path = "/api/v1/blobs/" + archive.digest
    try:
        client.transport.open("HEAD", path).close()
        return
    except NotFoundError:
        pass
    client.transport.open("PUT", path, body=archive.data, content_type="application/x-tar").close()
