"""Typed errors of the CodePod SDK.

Every refusal from the server raises a subclass of :class:`CodePodError` that
carries the RFC 9457 problem document (``status``, ``type``, ``title``,
``detail``, ``instance``, ``errors``) and the ``X-Request-Id`` of the answer.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    """One failed validation of a 422 answer."""

    location: str
    """Where, e.g. ``body.network``."""
    message: str
    value: Any = None


class CodePodError(Exception):
    """Base class of every error the SDK raises."""

    status: int | None
    """The HTTP status, or None when the SDK raised the error itself."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        type: str = "about:blank",
        title: str = "",
        instance: str = "",
        errors: list[FieldError] | None = None,
        request_id: str = "",
    ) -> None:
        self.detail = detail
        self.status = status
        self.type = type
        self.title = title
        self.instance = instance
        self.errors = errors or []
        self.request_id = request_id
        super().__init__(self._message())

    def _message(self) -> str:
        msg = self.detail or self.title
        for e in self.errors:
            msg += f"; {e.location.removeprefix('body.')}: {e.message}"
        if self.status is not None:
            msg += f" (HTTP {self.status})"
        return msg


class BadRequestError(CodePodError):
    """400: the request is malformed."""


class UnauthorizedError(CodePodError):
    """401: no API key, or a wrong, expired or revoked one."""


class ForbiddenError(CodePodError):
    """403: allowed to admins only, or permission denied."""


class NotFoundError(CodePodError):
    """404: no such sandbox, file or thing (or it is another user's)."""


class ConflictError(CodePodError):
    """409: clashes with the current state, e.g. the sandbox is not running."""


class TooLargeError(CodePodError):
    """413: a body or value over its limit."""


class InvalidError(CodePodError):
    """422: a value fails validation; ``errors`` names the fields."""


class InternalServerError(CodePodError):
    """500: a server bug; the server's log has details under ``request_id``."""


class UnavailableError(CodePodError):
    """502/503: a runner or a sandbox's agent cannot be reached right now."""


class TimeoutError(CodePodError, builtins.TimeoutError):
    """504, or a wait (for a sandbox, for an answer) that ran out of time."""


class ConnectionError(CodePodError, builtins.ConnectionError):
    """The server could not be reached at all."""


class SandboxFailedError(CodePodError):
    """A sandbox ended in ``error``, ``lost`` or ``deleted`` instead of running."""


_BY_STATUS: dict[int, type[CodePodError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    422: InvalidError,
    500: InternalServerError,
    502: UnavailableError,
    503: UnavailableError,
    504: TimeoutError,
}


def error_for_status(status: int, detail: str, **kw: Any) -> CodePodError:
    """Returns the typed error of an HTTP status."""
    return _BY_STATUS.get(status, CodePodError)(detail, status=status, **kw)


def problem_error(status: int, body: bytes, request_id: str = "") -> CodePodError:
    """Reads an RFC 9457 problem document into its typed error."""
    try:
        p = json.loads(body)
        if not isinstance(p, dict):
            raise ValueError
    except ValueError:
        text = body.decode("utf-8", "replace").strip().split("\n")[0]
        return error_for_status(status, text, request_id=request_id)
    errors = [
        FieldError(str(e.get("location", "")), str(e.get("message", "")), e.get("value"))
        for e in p.get("errors") or []
        if isinstance(e, dict)
    ]
    return error_for_status(
        status,
        str(p.get("detail") or ""),
        type=str(p.get("type") or "about:blank"),
        title=str(p.get("title") or ""),
        instance=str(p.get("instance") or ""),
        errors=errors,
        request_id=request_id,
    )
