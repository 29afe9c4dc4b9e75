"""The client: which server, which API key, and generic access to every
operation of the API by its operationId."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from ._generated import OPERATIONS
from ._http import Transport

DEFAULT_SERVER_URL = "http://localhost:3000"


class Client:
    """A connection to one CodePod server.

    Arguments left out come from the environment: ``CODEPOD_SERVER_URL``
    (default ``http://localhost:3000``), ``CODEPOD_API_KEY`` and
    ``CODEPOD_CA_FILE`` (an extra CA bundle). ``HTTPS_PROXY``, ``HTTP_PROXY``
    and ``NO_PROXY`` are honoured. ``timeout`` bounds each request in
    seconds (exec adds the command's own timeout to it).
    """

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        ca_file: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        server_url = server_url or os.environ.get("CODEPOD_SERVER_URL") or DEFAULT_SERVER_URL
        api_key = api_key or os.environ.get("CODEPOD_API_KEY")
        if not api_key:
            raise ValueError("no API key: pass api_key= or set CODEPOD_API_KEY")
        ca_file = ca_file or os.environ.get("CODEPOD_CA_FILE") or None
        self.transport = Transport(server_url, api_key, ca_file, timeout)

    @property
    def server_url(self) -> str:
        """The server's URL, without a trailing slash."""
        return self.transport.server_url

    def call(
        self,
        operation_id: str,
        *,
        path: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Calls any JSON operation of the API by its operationId, e.g.
        ``client.call("get-me")``, and returns the decoded answer."""
        op = OPERATIONS[operation_id]
        url_path = op.path
        for name, value in (path or {}).items():
            url_path = url_path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
        return self.transport.json(op.method, url_path, body, query=query, timeout=timeout)

    def __repr__(self) -> str:
        return f"Client({self.server_url!r})"


def default_client() -> Client:
    """A client made from the environment."""
    return Client()
