"""A small WebSocket client (RFC 6455) on the standard library, enough for
the exec stream: text and binary messages, fragmentation, ping/pong, close.
Proxies are used through CONNECT, as urllib would for HTTPS."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import ssl
import struct
import threading
import urllib.parse

from ._http import proxy_for
from .errors import ConnectionError, problem_error

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _BINARY, _CLOSE, _PING, _PONG, _CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class WebSocket:
    """One client WebSocket. ``send`` may be called from several threads;
    ``recv`` from one."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self._sock = sock
        self._buf = leftover
        self._lock = threading.Lock()
        self.closed = False

    def send(self, text: str) -> None:
        self._frame(_TEXT, text.encode("utf-8"))

    def _frame(self, opcode: int, payload: bytes) -> None:
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        with self._lock:
            self._sock.sendall(head + mask + _mask(payload, mask))

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self._sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise ConnectionError("the WebSocket connection ended")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def _next_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read(8))
        mask = self._read(4) if b1 & 0x80 else b""
        payload = self._read(n)
        if mask:
            payload = _mask(payload, mask)
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self) -> str | bytes | None:
        """Returns the next message (str for text, bytes for binary), or
        None once the server closed the connection."""
        parts: list[bytes] = []
        opcode = None
        while not self.closed:
            fin, op, payload = self._next_frame()
            if op == _PING:
                self._frame(_PONG, payload)
            elif op == _CLOSE:
                self._reply_close(payload)
                return None
            elif op in (_TEXT, _BINARY, _CONT):
                opcode = opcode if op == _CONT else op
                parts.append(payload)
                if fin:
                    data = b"".join(parts)
                    return data.decode("utf-8") if opcode == _TEXT else data
        return None

    def _reply_close(self, payload: bytes) -> None:
        try:
            self._frame(_CLOSE, payload[:2])
        except OSError:
            pass
        self._shutdown()

    def close(self, code: int = 1000) -> None:
        if self.closed:
            return
        try:
            self._frame(_CLOSE, struct.pack("!H", code))
        except OSError:
            pass
        self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        try:
            self._sock.close()
        except OSError:
            pass


def _mask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def _open_socket(url: urllib.parse.SplitResult, timeout: float, ctx: ssl.SSLContext | None) -> socket.socket:
    """Connects to the server, through a proxy's CONNECT when the
    environment names one for this host, and speaks TLS for https/wss."""
    secure = url.scheme in ("https", "wss")
    host, port = url.hostname or "", url.port or (443 if secure else 80)
    proxy = proxy_for(host, "https" if secure else "http")
    dial_host, dial_port = host, port
    if proxy:
        p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        dial_host, dial_port = p.hostname or "", p.port or 80
    conn: http.client.HTTPConnection
    if secure:
        conn = http.client.HTTPSConnection(dial_host, dial_port, timeout=timeout,
                                           context=ctx or ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(dial_host, dial_port, timeout=timeout)
    if proxy:
        conn.set_tunnel(host, port)
    conn.connect()
    assert conn.sock is not None
    return conn.sock


def connect(url: str, headers: dict[str, str], *, timeout: float, ssl_context: ssl.SSLContext | None) -> WebSocket:
    """Opens a WebSocket to an http(s) or ws(s) URL. A refused upgrade
    raises the typed error of the server's problem document."""
    u = urllib.parse.urlsplit(url)
    try:
        sock = _open_socket(u, timeout, ssl_context)
    except OSError as e:
        raise ConnectionError(f"cannot reach the CodePod server at {u.scheme}://{u.netloc}: {e}") from e
    key = base64.b64encode(os.urandom(16)).decode()
    target = u.path + ("?" + u.query if u.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {u.netloc}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    status, resp_headers, rest = _read_response(sock)
    if status != 101:
        raise problem_error(status, _body(sock, resp_headers, rest), resp_headers.get("x-request-id", ""))
    want = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
    if resp_headers.get("sec-websocket-accept") != want:
        sock.close()
        raise ConnectionError("the server's WebSocket handshake is not valid")
    sock.settimeout(None)
    return WebSocket(sock, rest)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed the connection during the WebSocket handshake")
        data += chunk
        if len(data) > 1 << 16:
            raise ConnectionError("the server's WebSocket handshake answer is too long")
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def _body(sock: socket.socket, headers: dict[str, str], rest: bytes) -> bytes:
    """Reads a refused upgrade's body (by Content-Length, at most 64 KiB)."""
    want = min(int(headers.get("content-length", "0") or 0), 1 << 16)
    try:
        while len(rest) < want:
            chunk = sock.recv(want - len(rest))
            if not chunk:
                break
            rest += chunk
    finally:
        sock.close()
    return rest
