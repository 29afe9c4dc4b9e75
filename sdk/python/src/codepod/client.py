"""The client: which server, which API key, and generic access to every
operation of the API by its operationId."""

from __future__ import annotations

import json
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
    ``CODEPOD_CA_FILE`` (an extra CA bundle); when a variable is unset, the
    CLI's config file (``codepod config set``: ``SERVER_URL``, ``API_KEY`` in
    ``$XDG_CONFIG_HOME/codepod/config.json``, else
    ``~/.config/codepod/config.json``) is read. ``HTTPS_PROXY``, ``HTTP_PROXY``
    and ``NO_PROXY`` are honoured. ``timeout`` bounds each request in
    seconds (exec adds the command's own timeout to it). ``workspace`` (id or
    name; else ``CODEPOD_WORKSPACE``, else ``WORKSPACE`` in the config file,
    which ``codepod workspace use`` writes) is the workspace every request
    acts in, sent as the ``Codepod-Workspace`` header; none: the personal one.
    """

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        ca_file: str | None = None,
        timeout: float = 60.0,
        workspace: str | None = None,
    ) -> None:
        server_url = server_url or os.environ.get("CODEPOD_SERVER_URL")
        api_key = api_key or os.environ.get("CODEPOD_API_KEY")
        workspace = workspace or os.environ.get("CODEPOD_WORKSPACE")
        if not server_url or not api_key:
            cfg = cli_config()
            server_url = server_url or cfg.get("SERVER_URL")
            api_key = api_key or cfg.get("API_KEY")
            workspace = workspace or cfg.get("WORKSPACE")
        elif not workspace:
            try:  # explicit settings need no file: a broken one only loses WORKSPACE
                workspace = cli_config().get("WORKSPACE")
            except ValueError:
                workspace = None
        server_url = server_url or DEFAULT_SERVER_URL
        if not api_key:
            raise ValueError(
                "no API key: pass api_key=, set CODEPOD_API_KEY, or run `codepod config set API_KEY <key>`"
                f" (which writes {config_path()})"
            )
        ca_file = ca_file or os.environ.get("CODEPOD_CA_FILE") or None
        self.transport = Transport(server_url, api_key, ca_file, timeout, workspace or None)

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


def config_path() -> str:
    """The CLI's config file: ``$XDG_CONFIG_HOME/codepod/config.json``, else
    ``~/.config/codepod/config.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "codepod", "config.json")


def cli_config() -> dict[str, str]:
    """The settings ``codepod config set`` stored (SERVER_URL, API_KEY); empty
    when there is no file."""
    path = config_path()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ValueError(f"read the CodePod CLI's config file {path}: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"the CodePod CLI's config file {path} is not a JSON object")
    return {k: v for k, v in data.items() if isinstance(v, str) and v}


def default_client() -> Client:
    """A client made from the environment (and the CLI's config file)."""
    return Client()
