/** One failed validation of a 422 answer. */
export interface FieldError {
  /** Where, e.g. `body.network`. */
  location: string;
  message: string;
  value?: unknown;
}

/** What a CodePodError carries besides its message: the RFC 9457 problem document. */
export interface ProblemFields {
  /** The HTTP status; undefined when the SDK raised the error itself. */
  status?: number;
  type?: string;
  title?: string;
  instance?: string;
  errors?: FieldError[];
  /** The answer's X-Request-Id: quote it when you report a problem. */
  requestId?: string;
  cause?: unknown;
}

/** Base class of every error the SDK throws. */
export class CodePodError extends Error {
  override name = "CodePodError";
  readonly status?: number;
  /** What was wrong and how to fix it. */
  readonly detail: string;
  readonly type: string;
  readonly title: string;
  readonly instance: string;
  readonly errors: FieldError[];
  readonly requestId: string;

  constructor(detail: string, fields: ProblemFields = {}) {
    super(message(detail, fields), fields.cause === undefined ? undefined : { cause: fields.cause });
    this.detail = detail;
    this.status = fields.status;
    this.type = fields.type ?? "about:blank";
    this.title = fields.title ?? "";
    this.instance = fields.instance ?? "";
    this.errors = fields.errors ?? [];
    this.requestId = fields.requestId ?? "";
  }
}

function message(detail: string, f: ProblemFields): string {
  let msg = detail || f.title || "request failed";
  for (const e of f.errors ?? []) msg += `; ${e.location.replace(/^body\./, "")}: ${e.message}`;
  return f.status === undefined ? msg : `${msg} (HTTP ${f.status})`;
}

/** 400: the request is malformed. */
export class BadRequestError extends CodePodError { override name = "BadRequestError"; }
/** 401: no API key, or a wrong, expired or revoked one. */
export class UnauthorizedError extends CodePodError { override name = "UnauthorizedError"; }
/** 403: allowed to admins only, or permission denied. */
export class ForbiddenError extends CodePodError { override name = "ForbiddenError"; }
/** 404: no such sandbox, file or thing (or it is another user's). */
export class NotFoundError extends CodePodError { override name = "NotFoundError"; }
/** 409: clashes with the current state, e.g. the sandbox is not running. */
export class ConflictError extends CodePodError { override name = "ConflictError"; }
/** 413: a body or value over its limit. */
export class TooLargeError extends CodePodError { override name = "TooLargeError"; }
/** 422: a value fails validation; `errors` names the fields. */
export class InvalidError extends CodePodError { override name = "InvalidError"; }
/** 500: a server bug; the server's log has details under `requestId`. */
export class InternalServerError extends CodePodError { override name = "InternalServerError"; }
/** 502/503: a runner or a sandbox's agent cannot be reached right now. */
export class UnavailableError extends CodePodError { override name = "UnavailableError"; }
/** 504, or a wait (for a sandbox, for an answer) that ran out of time. */
export class TimeoutError extends CodePodError { override name = "TimeoutError"; }
/** The server could not be reached at all. */
export class ConnectionError extends CodePodError { override name = "ConnectionError"; }
/** A sandbox ended in error, lost or deleted instead of running. */
export class SandboxFailedError extends CodePodError { override name = "SandboxFailedError"; }

const byStatus: Record<number, typeof CodePodError> = {
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
};

/** The typed error of an HTTP status. */
export function errorForStatus(status: number, detail: string, fields: ProblemFields = {}): CodePodError {
  const Cls = byStatus[status] ?? CodePodError;
  return new Cls(detail, { ...fields, status });
}

/** Reads a refused answer's problem document (already parsed, or raw text) into its typed error. */
export function problemError(status: number, body: unknown, requestId = ""): CodePodError {
  let p: Record<string, unknown> | undefined;
  if (typeof body === "string") {
    try {
      p = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return errorForStatus(status, body.trim().split("\n")[0] ?? "", { requestId });
    }
  } else if (body && typeof body === "object") {
    p = body as Record<string, unknown>;
  }
  if (!p || typeof p !== "object") return errorForStatus(status, "", { requestId });
  const errors = Array.isArray(p.errors)
    ? (p.errors as Record<string, unknown>[]).map((e) => ({
        location: String(e.location ?? ""),
        message: String(e.message ?? ""),
        value: e.value,
      }))
    : [];
  return errorForStatus(status, String(p.detail ?? ""), {
    type: String(p.type ?? "about:blank"),
    title: String(p.title ?? ""),
    instance: String(p.instance ?? ""),
    errors,
    requestId,
  });
}

/** Wraps a failed fetch (no answer at all). */
export function transportError(serverUrl: string, err: unknown): CodePodError {
  if (err instanceof CodePodError) return err;
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return new TimeoutError(`no answer from ${serverUrl} in time`, { cause: err });
  }
  const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new ConnectionError(`cannot reach the CodePod server at ${serverUrl}: ${reason}`, { cause: err });
}
