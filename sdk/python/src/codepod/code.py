"""Code contexts: persistent python, javascript and bash interpreters in a
sandbox (``Sandbox.run_code``); see docs/code.md."""

from __future__ import annotations

from typing import Any

from ._generated import CodeContext, CodeError, CodeRunResult
from .client import Client

__all__ = ["CodeContext", "CodeError", "CodeRunResult", "run_code"]


def run_code(
    client: Client,
    sandbox_id: str,
    code: str,
    *,
    language: str | None,
    context: str | CodeContext | None,
    timeout: float | None,
    max_output_bytes: int | None,
) -> CodeRunResult:
    body: dict[str, Any] = {"code": code}
    if isinstance(context, CodeContext):
        context = context.id
    if context:
        body["context"] = context
    if language or not context:
        body["language"] = language or "python"
    if timeout is not None:
        body["timeout_seconds"] = max(1, int(-(-timeout // 1)))
    if max_output_bytes is not None:
        body["max_output_bytes"] = max_output_bytes
    http_timeout = client.transport.timeout + (timeout if timeout is not None else 60) + 5
    return CodeRunResult.from_dict(client.call("run-code", path={"id": sandbox_id}, body=body, timeout=http_timeout))


def text(result: CodeRunResult) -> str | None:
    """The ``text/plain`` form of the cell's last result, or None."""
    if not result.results:
        return None
    return result.results[-1].get("text/plain")
