"""The SDK's HTTP transport: urllib with the CodePod credential, proxies from
the environment, an optional CA bundle, and typed errors."""

from __future__ import annotations

import builtins
import ipaddress
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from http.client import HTTPResponse
from typing import Any

from .errors import ConnectionError, TimeoutError, problem_error

USER_AGENT = "codepod-sdk-python"

Body = bytes | Iterable[bytes] | None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(host: str, scheme: str) -> str | None:
    """The proxy the environment names for host (HTTPS_PROXY, HTTP_PROXY,
    NO_PROXY), never for a loopback host, as Go's clients decide."""
    if _is_loopback(host) or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


class _ProxyHandler(urllib.request.ProxyHandler):
    """urllib's proxy handler, minus loopback hosts."""

    def proxy_open(self, req: urllib.request.Request, proxy: str, type: str) -> Any:
        if _is_loopback(urllib.parse.urlsplit(req.full_url).hostname or ""):
            return None
        return super().proxy_open(req, proxy, type)


class Transport:
    """Sends API requests to one server with one API key."""

    def __init__(
        self, server_url: str, api_key: str, ca_file: str | None, timeout: float, workspace: str | None = None
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.api_key = api_key
        self.workspace = workspace
        self.timeout = timeout
        self.ssl_context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        handlers: list[urllib.request.BaseHandler] = [_ProxyHandler()]
        if self.ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        url = self.server_url + path
        if query:
            pairs = [(k, v) for k, v in query.items() if v is not None]
            url += "?" + urllib.parse.urlencode(pairs, doseq=True)
        return url

    def headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.api_key}", "User-Agent": USER_AGENT}
        if self.workspace:
            # The workspace requests act in (docs/workspaces.md).
            h["Codepod-Workspace"] = self.workspace
        return h

    def open(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Body = None,
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> HTTPResponse:
        """Sends a request and returns the open answer, or raises the typed
        error of a refusal. The caller closes the answer."""
        headers = self.headers()
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url(path, query), data=body, headers=headers, method=method)
        try:
            return self._opener.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            with e:
                raise problem_error(e.code, e.read(), e.headers.get("X-Request-Id", "")) from None
        except builtins.TimeoutError as e:
            raise TimeoutError(f"{method} {path}: no answer from {self.server_url} in time") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, builtins.TimeoutError):
                raise TimeoutError(f"{method} {path}: no answer from {self.server_url} in time") from e
            raise ConnectionError(f"cannot reach the CodePod server at {self.server_url}: {e.reason}") from e

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """Sends a JSON request and returns the decoded JSON answer (None
        for an empty one)."""
        data = json.dumps(body).encode() if body is not None else None
        with self.open(method, path, body=data, content_type="application/json" if data else None, **kw) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None
