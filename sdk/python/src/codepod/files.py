"""A sandbox's files: read, write, list, mkdir, remove, and directories as
tar streams. Paths are resolved inside the sandbox; a relative path is
relative to the user's home."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import tarfile
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ._generated import OPERATIONS, ArchiveExtracted, FileEntry, FileList, FileWritten, MkdirRequest
from .client import Client

_CHUNK = 64 << 10


FileInfo = FileEntry
"""One entry of a directory listing (the API's FileEntry model): name,
path, size, mode (permission bits), mode_string, mtime, type ("file",
"dir", "symlink" or "other")."""


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


class Files:
    """The files of one sandbox (``sandbox.files``)."""

    def __init__(self, client: Client, sandbox_id: str) -> None:
        self._client = client
        self._id = sandbox_id

    def _path(self, operation_id: str) -> str:
        return OPERATIONS[operation_id].path.replace("{id}", urllib.parse.quote(self._id, safe=""))

    def read(self, path: str) -> bytes:
        """Returns the file's content, byte for byte."""
        with self.open(path) as resp:
            return resp.read()

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """Returns the file's content decoded as text."""
        return self.read(path).decode(encoding)

    def open(self, path: str) -> IO[bytes]:
        """Returns the file's content as a stream to read from; close it."""
        return self._client.transport.open("GET", self._path("download-file"), query={"path": path})

    def write(self, path: str, data: bytes | str | IO[bytes] | Iterable[bytes], mode: int | None = None) -> int:
        """Makes the file hold ``data`` (bytes, text as UTF-8, a binary file
        or an iterable of bytes, streamed), creating parent directories.
        ``mode`` sets the permission bits (default: 0o644 for a new file,
        unchanged for an existing one). Returns the size written."""
        body: bytes | Iterable[bytes]
        if isinstance(data, str):
            body = data.encode("utf-8")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif hasattr(data, "read"):
            body = _chunks(data)  # type: ignore[arg-type]
        else:
            body = data
        query = {"path": path, "mode": None if mode is None else f"0{mode:o}"}
        with self._client.transport.open(
            "PUT", self._path("upload-file"), query=query, body=body, content_type="application/octet-stream"
        ) as resp:
            return FileWritten.from_dict(json.loads(resp.read())).size

    def list(self, path: str = ".") -> builtins.list[FileInfo]:
        """Returns the entries of a directory, sorted by name, following
        the server's pages to the end."""
        entries: builtins.list[FileInfo] = []
        query: dict[str, Any] = {"path": path, "limit": 10000}
        while True:
            page = FileList.from_dict(self._client.call("list-files", path={"id": self._id}, query=query))
            entries.extend(page.entries)
            if not page.next_cursor:
                return entries
            query["cursor"] = page.next_cursor

    def mkdir(self, path: str) -> None:
        """Makes a directory and its missing parents; an existing one is fine."""
        self._client.call("make-directory", path={"id": self._id}, body=MkdirRequest(path=path, parents=True).to_dict())

    def remove(self, path: str, recursive: bool = False) -> None:
        """Removes a file or an empty directory; with ``recursive``, a
        directory and everything under it."""
        query = {"path": path, "recursive": "true" if recursive else None}
        self._client.call("delete-file", path={"id": self._id}, query=query)

    def upload_dir(self, local_dir: str | os.PathLike[str], remote_dir: str) -> int:
        """Copies a local directory's contents into ``remote_dir`` (created
        if missing) as one tar stream; returns the number of files."""
        with tempfile.TemporaryFile() as tmp:
            with tarfile.open(fileobj=tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for entry in sorted(os.listdir(local_dir)):
                    tar.add(os.path.join(local_dir, entry), arcname=entry, filter=_plain)
            tmp.seek(0)
            with self._client.transport.open(
                "PUT", self._path("upload-archive"), query={"path": remote_dir}, body=_chunks(tmp),
                content_type="application/x-tar",
            ) as resp:
                return ArchiveExtracted.from_dict(json.loads(resp.read())).files

    def download_dir(self, remote_dir: str, local_dir: str | os.PathLike[str]) -> None:
        """Copies the contents of ``remote_dir`` into a local directory
        (created if missing). Entries that would land outside it are refused."""
        os.makedirs(local_dir, exist_ok=True)
        with self._client.transport.open("GET", self._path("download-archive"), query={"path": remote_dir}) as resp:
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
