"""A sandbox's files: read, write, list, mkdir, remove, and directories as
tar streams. Paths are resolved inside the sandbox; a relative path is
relative to the user's home."""

from __future__ import annotations

import builtins
import datetime
import json
import os
import shutil
import tarfile
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from ._generated import _parse_time
from .client import Client

_CHUNK = 64 << 10


@dataclass
class FileInfo:
    """One entry of a directory listing."""

    name: str
    path: str
    size: int
    mode: int
    """Permission bits, e.g. 0o644."""
    mode_string: str
    """As ``ls -l`` shows it, e.g. ``-rw-r--r--``."""
    mtime: datetime.datetime
    type: str
    """"file", "dir", "symlink" or "other"."""

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileInfo:
        return cls(
            name=d["name"],
            path=d["path"],
            size=int(d["size"]),
            mode=int(d["mode"]),
            mode_string=d.get("mode_string", ""),
            mtime=_parse_time(d["mtime"]),
            type=d["type"],
        )


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


class Files:
    """The files of one sandbox (``sandbox.files``)."""

    def __init__(self, client: Client, sandbox_id: str) -> None:
        self._client = client
        self._base = f"/api/v1/sandboxes/{urllib.parse.quote(sandbox_id, safe='')}/files"

    def read(self, path: str) -> bytes:
        """Returns the file's content, byte for byte."""
        with self.open(path) as resp:
            return resp.read()

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """Returns the file's content decoded as text."""
        return self.read(path).decode(encoding)

    def open(self, path: str) -> IO[bytes]:
        """Returns the file's content as a stream to read from; close it."""
        return self._client.transport.open("GET", self._base, query={"path": path})

    def write(self, path: str, data: bytes | str | IO[bytes] | Iterable[bytes], mode: int = 0o644) -> int:
        """Makes the file hold ``data`` (bytes, text as UTF-8, a binary file
        or an iterable of bytes, streamed), creating parent directories.
        Returns the size written."""
        body: bytes | Iterable[bytes]
        if isinstance(data, str):
            body = data.encode("utf-8")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif hasattr(data, "read"):
            body = _chunks(data)  # type: ignore[arg-type]
        else:
            body = data
        query = {"path": path, "mode": f"0{mode:o}"}
        with self._client.transport.open(
            "PUT", self._base, query=query, body=body, content_type="application/octet-stream"
        ) as resp:
            return int(json.loads(resp.read())["size"])

    def list(self, path: str = ".") -> builtins.list[FileInfo]:
        """Returns the entries of a directory."""
        r = self._client.transport.json("GET", self._base + "/list", query={"path": path})
        return [FileInfo.from_dict(e) for e in r.get("entries") or []]

    def mkdir(self, path: str) -> None:
        """Makes a directory and its missing parents; an existing one is fine."""
        self._client.transport.json("POST", self._base + "/mkdir", {"path": path, "parents": True})

    def remove(self, path: str, recursive: bool = False) -> None:
        """Removes a file or an empty directory; with ``recursive``, a
        directory and everything under it."""
        query = {"path": path, "recursive": "true" if recursive else None}
        self._client.transport.json("DELETE", self._base, query=query)

    def upload_dir(self, local_dir: str | os.PathLike[str], remote_dir: str) -> int:
        """Copies a local directory's contents into ``remote_dir`` (created
        if missing) as one tar stream; returns the number of files."""
        with tempfile.TemporaryFile() as tmp:
            with tarfile.open(fileobj=tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for entry in sorted(os.listdir(local_dir)):
                    tar.add(os.path.join(local_dir, entry), arcname=entry, filter=_plain)
            tmp.seek(0)
            with self._client.transport.open(
                "PUT", self._base + "/archive", query={"path": remote_dir}, body=_chunks(tmp),
                content_type="application/x-tar",
            ) as resp:
                return int(json.loads(resp.read())["files"])

    def download_dir(self, remote_dir: str, local_dir: str | os.PathLike[str]) -> None:
        """Copies the contents of ``remote_dir`` into a local directory
        (created if missing). Entries that would land outside it are refused."""
        os.makedirs(local_dir, exist_ok=True)
        with self._client.transport.open("GET", self._base + "/archive", query={"path": remote_dir}) as resp:
            with tempfile.TemporaryFile() as tmp:
                shutil.copyfileobj(resp, tmp)
                tmp.seek(0)
                with tarfile.open(fileobj=tmp, mode="r:") as tar:
                    _extract(tar, os.fspath(local_dir))


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Keeps files, directories and symlinks, without local owners."""
    if not (info.isfile() or info.isdir() or info.issym()):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info



def _extract(tar: tarfile.TarFile, dest: str) -> None:
    """Extracts with tarfile's "data" filter (no absolute paths, no escape
    through .. or links, no devices) where Python has it (3.10.12+)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    root = os.path.realpath(dest)
    for m in tar.getmembers():
        target = os.path.realpath(os.path.join(root, m.name))
        if os.path.commonpath([root, target]) != root or not (m.isfile() or m.isdir() or m.issym()):
            raise ValueError(f"refusing archive entry {m.name!r}")
    tar.extractall(dest)
