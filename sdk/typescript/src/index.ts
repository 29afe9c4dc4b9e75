/**
 * CodePod's TypeScript SDK: disposable Linux sandboxes for programs and AI agents.
 *
 * ```ts
 * import { Sandbox } from "@codepod/sdk";
 * await using sb = await Sandbox.create({ image: "codepod/tiny:latest" });
 * console.log((await sb.exec(["echo", "hello"])).stdout);
 * ```
 *
 * @module
 */
export { Client, DEFAULT_SERVER_URL, type ApiClient, type ClientOptions } from "./client.js";
export { configPath } from "./config.js";
export {
  BadRequestError,
  CodePodError,
  ConflictError,
  ConnectionError,
  ForbiddenError,
  InternalServerError,
  InvalidError,
  NotFoundError,
  SandboxFailedError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  type FieldError,
} from "./errors.js";
export type { CodeContext, CodeError, CodeLanguage, CodeRunResult, RunCodeOptions } from "./code.js";
export { ExecStream, type Command, type ExecOptions, type ExecResult, type ExitStatus, type OutputChunk, type StreamOptions } from "./exec.js";
export {
  ProcessHandle,
  Processes,
  type OutputCallback,
  type ProcessConnectOptions,
  type ProcessInfo,
  type ProcessOutput,
  type ProcessStartOptions,
} from "./process.js";
export { Files, type FileInfo, type TransferOptions } from "./files.js";
export { DEFAULT_WAIT_TIMEOUT_MS, Sandbox, type CreateOptions, type ListOptions, type Port, type PreviewURL, type SandboxInfo, type SandboxStatus } from "./sandbox.js";
export type { components, operations, paths } from "./generated/openapi.js";
