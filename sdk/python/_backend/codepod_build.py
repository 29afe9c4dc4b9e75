"""A PEP 517 build backend for the codepod package, standard library only.

`pip install ./sdk/python` builds the package in an isolated environment
into which pip would install the backend's requirements from PyPI. This
backend needs none (``requires = []`` in pyproject.toml), so the install
works offline, from nothing but Python and pip.

It builds what setuptools would for this pure-Python project: a
``py3-none-any`` wheel of ``src/codepod`` with a ``.dist-info`` (METADATA
from pyproject.toml's ``[project]`` table and README.md, WHEEL, RECORD), an
sdist (``codepod-<version>.tar.gz`` with PKG-INFO, from which the same
wheel builds again), and an editable wheel (PEP 660: a ``.pth`` file naming
``src``). Entries are sorted and dated 1980-01-01 (or $SOURCE_DATE_EPOCH)
so a build is reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "codepod"
SRC = os.path.join(ROOT, "src")
# The files of the sdist, besides PKG-INFO and the package's own.
SDIST_FILES = ["pyproject.toml", "README.md", "_backend/codepod_build.py"]
TAG = "py3-none-any"


# --- pyproject.toml -------------------------------------------------------


def load_pyproject(path: str | None = None) -> dict[str, Any]:
    """pyproject.toml, parsed by tomllib (Python 3.11+) or, on 3.10, by
    parse_toml_subset."""
    with open(path or os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        data = f.read()
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return parse_toml_subset(data.decode("utf-8"))
    return tomllib.loads(data.decode("utf-8"))


def parse_toml_subset(text: str) -> dict[str, Any]:
    """Parses the TOML this project's pyproject.toml uses: [tables],
    key = "basic string", [arrays] (over several lines) of strings and
    { inline tables }, and comments. Anything else is an error."""
    root: dict[str, Any] = {}
    table = root
    pos = 0
    token = re.compile(
        r'(?:\s|#[^\n]*)*'  # space, newlines and comments
        r'(?:(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<punct>[\[\]{},=])|(?P<bare>[A-Za-z0-9_.-]+)|(?P<end>\Z))'
    )

    def next_token(_: bool = True) -> tuple[str, str]:
        nonlocal pos
        m = token.match(text, pos)
        if not m:
            raise ValueError(f"pyproject.toml: cannot parse at {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup or "end"
        return kind, m.group(kind) if kind != "end" else ""

    def string(tok: str) -> str:
        return tok[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")

    def value() -> Any:
        kind, tok = next_token(True)
        if kind == "str":
            return string(tok)
        if kind == "bare" and tok in ("true", "false"):
            return tok == "true"
        if tok == "[":
            items: list[Any] = []
            while True:
                save = pos
                kind, tok = next_token(True)
                if tok == "]":
                    return items
                if tok == ",":
                    continue
                rewind(save)
                items.append(value())
        if tok == "{":
            out: dict[str, Any] = {}
            while True:
                kind, tok = next_token(False)
                if tok == "}":
                    return out
                if tok == ",":
                    continue
                key = string(tok) if kind == "str" else tok
                if next_token(False)[1] != "=":
                    raise ValueError(f"pyproject.toml: expected = after {key}")
                out[key] = value()
        raise ValueError(f"pyproject.toml: unsupported value {tok!r}")

    def rewind(to: int) -> None:
        nonlocal pos
        pos = to

    while True:
        kind, tok = next_token(True)
        if kind == "end":
            return root
        if tok == "[":
            _, name = next_token(False)
            if next_token(False)[1] != "]":
                raise ValueError("pyproject.toml: arrays of tables are not supported")
            table = root
            for part in name.split("."):
                table = table.setdefault(part.strip('"'), {})
            continue
        key = string(tok) if kind == "str" else tok
        if next_token(False)[1] != "=":
            raise ValueError(f"pyproject.toml: expected = after {key}")
        table[key] = value()


def project() -> dict[str, Any]:
    return load_pyproject()["project"]


def dist_name(p: dict[str, Any]) -> str:
    return re.sub(r"[-_.]+", "_", p["name"]).lower()


def metadata(p: dict[str, Any]) -> str:
    """The core metadata (version 2.1) of the project, README as the body."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {p['name']}",
        f"Version: {p['version']}",
    ]
    if p.get("description"):
        lines.append(f"Summary: {p['description']}")
    for author in p.get("authors", []):
        if author.get("name") and author.get("email"):
            lines.append(f"Author-email: {author['name']} <{author['email']}>")
        elif author.get("name"):
            lines.append(f"Author: {author['name']}")
        elif author.get("email"):
            lines.append(f"Author-email: {author['email']}")
    if p.get("license", {}).get("text"):
        lines.append(f"License: {p['license']['text']}")
    if p.get("keywords"):
        lines.append("Keywords: " + ",".join(p["keywords"]))
    for c in p.get("classifiers", []):
        lines.append(f"Classifier: {c}")
    for label, url in p.get("urls", {}).items():
        lines.append(f"Project-URL: {label}, {url}")
    if p.get("requires-python"):
        lines.append(f"Requires-Python: {p['requires-python']}")
    for dep in p.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    readme = p.get("readme")
    body = ""
    if readme:
        path = readme if isinstance(readme, str) else readme["file"]
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            body = f.read()
        ctype = "text/markdown" if path.endswith(".md") else "text/x-rst" if path.endswith(".rst") else "text/plain"
        lines.append(f"Description-Content-Type: {ctype}")
    return "\n".join(lines) + "\n\n" + body


# --- archives -------------------------------------------------------------


def _epoch() -> int:
    return max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)


def package_files() -> list[tuple[str, str]]:
    """(path in the wheel, path on disk) of src/codepod, sorted, without
    caches."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(SRC, PACKAGE)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, name)
            out.append((os.path.relpath(full, SRC).replace(os.sep, "/"), full))
    return sorted(out)


class _Wheel:
    def __init__(self, path: str) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.record: list[str] = []

    def add(self, arcname: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(arcname, date_time=time.gmtime(_epoch())[:6])
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.record.append(f"{arcname},sha256={digest},{len(data)}")

    def close(self, dist_info: str) -> None:
        record = f"{dist_info}/RECORD"
        self.record.append(f"{record},,")
        info = zipfile.ZipInfo(record, date_time=time.gmtime(_epoch())[:6])
        info.external_attr = 0o100644 << 16
        self.zip.writestr(info, "\n".join(self.record) + "\n")
        self.zip.close()


def _dist_info_files(p: dict[str, Any]) -> dict[str, str]:
    return {
        "METADATA": metadata(p),
        "WHEEL": f"Wheel-Version: 1.0\nGenerator: codepod_build\nRoot-Is-Purelib: true\nTag: {TAG}\n",
        "top_level.txt": PACKAGE + "\n",
    }


def _build(wheel_directory: str, editable: bool) -> str:
    p = project()
    name = dist_name(p)
    dist_info = f"{name}-{p['version']}.dist-info"
    filename = f"{name}-{p['version']}-{TAG}.whl"
    w = _Wheel(os.path.join(wheel_directory, filename))
    try:
        if editable:
            w.add(f"__editable__.{name}.pth", (SRC + "\n").encode())
        else:
            for arcname, full in package_files():
                with open(full, "rb") as f:
                    w.add(arcname, f.read())
        for fname, text in _dist_info_files(p).items():
            w.add(f"{dist_info}/{fname}", text.encode("utf-8"))
    finally:
        w.close(dist_info)
    return filename


def _prepare_metadata(metadata_directory: str) -> str:
    p = project()
    dist_info = f"{dist_name(p)}-{p['version']}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for fname, text in _dist_info_files(p).items():
        with open(os.path.join(metadata_directory, dist_info, fname), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return dist_info


# --- the PEP 517 and PEP 660 hooks ----------------------------------------


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: Any = None) -> list[str]:
    return []


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Any = None) -> str:
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Any = None) -> str:
    return _prepare_metadata(metadata_directory)


def build_wheel(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory: str, config_settings: Any = None) -> str:
    p = project()
    base = f"{dist_name(p)}-{p['version']}"
    filename = base + ".tar.gz"
    files = [(f, os.path.join(ROOT, f)) for f in SDIST_FILES]
    files += [("src/" + arc, full) for arc, full in package_files()]
    # gzip's header carries a time too: fix it for a reproducible archive.
    import gzip

    with open(os.path.join(sdist_directory, filename), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=_epoch(), filename="") as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:

                def add(arcname: str, data: bytes) -> None:
                    info = tarfile.TarInfo(f"{base}/{arcname}")
                    info.size, info.mtime, info.mode = len(data), _epoch(), 0o644
                    tar.addfile(info, io.BytesIO(data))

                add("PKG-INFO", metadata(p).encode("utf-8"))
                for arcname, full in sorted(files):
                    with open(full, "rb") as f:
                        add(arcname, f.read())
    return filename
