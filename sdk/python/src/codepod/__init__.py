"""CodePod's Python SDK: disposable Linux sandboxes for programs and AI agents.

::

    from codepod import Sandbox

    with Sandbox.create(image="codepod/tiny:latest") as sb:
        print(sb.exec(["echo", "hello"]).stdout)

:class:`AsyncSandbox` is the same for asyncio (``await AsyncSandbox.create(...)``).

The client reads ``CODEPOD_SERVER_URL`` and ``CODEPOD_API_KEY`` unless given
a :class:`Client`. Errors are subclasses of :class:`CodePodError` carrying
the server's problem document. Only the standard library is used.
"""

from ._generated import Sandbox as SandboxInfo
from .client import Client
from .errors import (
    BadRequestError,
    CodePodError,
    ConflictError,
    ConnectionError,
    FieldError,
    ForbiddenError,
    InternalServerError,
    InvalidError,
    NotFoundError,
    SandboxFailedError,
    TimeoutError,
    TooLargeError,
    UnauthorizedError,
    UnavailableError,
)
from .exec import PIPE, ExecResult, ExecStream, ExitStatus, OutputChunk
from ._generated import FileEntry
from .files import FileInfo, Files
from .process import ProcessHandle, ProcessOutput, Processes
from ._generated import Process as ProcessInfo
from .sandbox import Sandbox
from .aio import AsyncExecStream, AsyncFiles, AsyncSandbox
from .code import CodeContext, CodeError, CodeRunResult
from .devcontainer import DevcontainerError

create_from_devcontainer = Sandbox.create_from_devcontainer

__version__ = "0.1.0"

__all__ = [
    "AsyncExecStream",
    "AsyncFiles",
    "AsyncSandbox",
    "CodeContext",
    "CodeError",
    "CodeRunResult",
    "BadRequestError",
    "Client",
    "CodePodError",
    "ConflictError",
    "ConnectionError",
    "DevcontainerError",
    "ExecResult",
    "ExecStream",
    "ExitStatus",
    "FieldError",
    "FileEntry",
    "FileInfo",
    "Files",
    "ForbiddenError",
    "create_from_devcontainer",
    "InternalServerError",
    "InvalidError",
    "NotFoundError",
    "OutputChunk",
    "PIPE",
    "ProcessHandle",
    "ProcessInfo",
    "ProcessOutput",
    "Processes",
    "Sandbox",
    "SandboxFailedError",
    "SandboxInfo",
    "TimeoutError",
    "TooLargeError",
    "UnauthorizedError",
    "UnavailableError",
]
